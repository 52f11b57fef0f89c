"""A saturated database pool answers 503 with Retry-After, never a 500."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine

from api.main import create_app
from governance.chain import deploy
from tests.helpers import Governance
from tests.integration.api.api_support import error_code
from tests.integration.api.conftest import api_settings


def test_exhausted_connections_are_503_server_busy(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, tmp_path: Path
):
    tiny = create_engine(engine.url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    app = create_app(settings=api_settings(tmp_path), engine=tiny, w3=gov.w3, deployment=deployment)
    held = tiny.connect()  # the only connection, as under a flood of requests
    try:
        with TestClient(app) as client:
            response = client.get("/v1/proposals")
    finally:
        held.close()
        tiny.dispose()
    assert response.status_code == 503
    assert error_code(response) == "server_busy"
    assert response.headers["Retry-After"] == "1"


def test_a_database_that_does_not_answer_is_503_database_unavailable(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, tmp_path: Path
):
    """Chaos review (session 24): with PostgreSQL stopped, reads answered 500 internal_error
    and logged a traceback each. A database that refuses connections is a 503 to retry."""
    app = create_app(
        settings=api_settings(tmp_path), engine=engine, w3=gov.w3, deployment=deployment
    )
    with TestClient(app) as client:
        gone = create_engine(f"sqlite:///{tmp_path / 'missing' / 'fairgov.db'}")  # cannot open
        app.state.ctx.engine = gone  # the next session opens here, as after an outage
        response = client.get("/v1/proposals")
    assert response.status_code == 503, response.text
    assert error_code(response) == "database_unavailable"
    assert response.headers["Retry-After"] == "5"
