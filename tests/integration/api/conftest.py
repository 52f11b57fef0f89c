"""An API app over the session chain and a fresh database, and a client for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web3 import Web3

from api.main import create_app
from core.settings import Settings
from governance.chain import deploy
from tests.helpers import Governance
from tests.integration.audit.audit_support import AUDITOR_KEY

MakeApp = Callable[..., FastAPI]


def api_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for tests: generous limits unless a test sets its own."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "api_domain": "testserver",
        "api_uri": "http://testserver",
        "api_ip_rate": 10_000.0,
        "api_ip_burst": 10_000,
        "api_voter_rate": 1_000.0,
        "api_voter_burst": 1_000,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


@pytest.fixture
def make_app(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, tmp_path: Path
) -> MakeApp:
    """Build an app; keyword arguments override settings or create_app's parameters."""

    def build(**overrides: Any) -> FastAPI:
        passed = ("rpc_url", "clock", "w3", "heartbeat", "job_history")
        app_args = {k: overrides.pop(k) for k in passed if k in overrides}
        return create_app(
            settings=api_settings(tmp_path, **overrides),
            engine=engine,
            w3=app_args.pop("w3", gov.w3),
            deployment=deployment,
            auditor_key=AUDITOR_KEY,
            **app_args,
        )

    return build


@pytest.fixture
def client(make_app: MakeApp) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client
