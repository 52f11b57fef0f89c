"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, valid and invalid, sent in-process to the app on
a live chain. No response may be a 5xx, and every response must match the schema: its
status documented, its body and headers valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from web3 import Web3

from api.main import create_app
from core import db
from governance.chain import deploy
from tests.integration.api.conftest import api_settings

pytestmark = [pytest.mark.chain, pytest.mark.slow]

#: Examples per operation and mode. Operations with few possible inputs (no parameters)
#: stop early, so the total is counted and checked.
POSITIVE_EXAMPLES = 30
NEGATIVE_EXAMPLES = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def app(
    w3: Web3, deployment: deploy.Deployment, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    engine = db.make_engine(f"sqlite:///{Path(tmp) / 'fairgov.db'}")
    db.upgrade(engine)
    # Bodies are judged by their content here; the size limit has its own tests
    # (test_limits.py). Generated invalid bodies can pass 64 KiB, and schemathesis counts a
    # 413 for an invalid body as accepting it.
    settings = api_settings(tmp, api_max_body_bytes=16 * 1024 * 1024)
    yield create_app(settings=settings, engine=engine, w3=w3, deployment=deployment)
    engine.dispose()


def _run(operation: Any, mode: GenerationMode, examples: int, sent: list[str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        sent.append(operation.label)
        case.call_and_validate(checks=CHECKS)

    try:
        check()
    except Unsatisfiable:
        # No invalid input exists for an operation without parameters or body.
        assert mode == GenerationMode.NEGATIVE


def test_the_api_honours_its_schema(app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    sent: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:
        _run(operation, GenerationMode.POSITIVE, POSITIVE_EXAMPLES, sent)
        _run(operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, sent)
    print(f"schemathesis: {len(sent)} requests over {len(operations)} operations")
    assert len(sent) >= 1000, f"only {len(sent)} generated requests"
