"""Fixtures shared by the federated tests that call fairgov's Flower apps in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flwr.supercore.task_identity import TaskIdentity


@pytest.fixture
def task_identity() -> Iterator[None]:
    """The identity Flower gives an app process; messages cannot be built without it."""
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 1, 1
    yield
    TaskIdentity._run_id = TaskIdentity._node_id = TaskIdentity._task_id = None  # type: ignore[assignment]
