"""A serving API keeps recovering the audit runs of processes that are gone, not only at
start-up: a host that never comes back is found by its runs' stale heartbeat."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from audit.db_models import RunStatus
from tests.integration.api.conftest import MakeApp
from tests.unit.audit.test_run_recovery import REMOTE, SILENT, _get, _row, _silent_for


def test_a_run_of_a_host_that_never_came_back_is_closed_while_the_api_serves(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app()
    app.state.ctx.recovery_seconds = 0.2
    with TestClient(app):
        # Written after start-up's recovery pass: only the periodic one can find it.
        row_id = _row(engine, RunStatus.RUNNING, REMOTE, **_silent_for(SILENT))
        deadline = time.monotonic() + 10
        while (row := _get(engine, row_id)).status == RunStatus.RUNNING:
            assert time.monotonic() < deadline, "the serving API never recovered the run"
            time.sleep(0.1)
    assert (row.status, row.error_code) == (RunStatus.FAILED, "interrupted")
