"""A serving API keeps recovering the audit runs of processes that are gone, not only at
start-up: a host that never comes back is found by its runs' stale heartbeat."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from audit.db_models import AuditRunRecord, RunKind, RunStatus, utcnow
from audit.run_heartbeat import HEARTBEAT_TIMEOUT
from core.db import session_scope
from tests.integration.api.conftest import MakeApp


def test_a_run_of_a_host_that_never_came_back_is_closed_while_the_api_serves(
    make_app: MakeApp, engine: Engine
) -> None:
    app = make_app()
    app.state.ctx.recovery_seconds = 0.2
    with TestClient(app):
        with session_scope(engine) as session:
            row = AuditRunRecord(
                run_id="0x" + "ab" * 32,
                kind=RunKind.TRAINING_RUN,
                model_name="loans-lr",
                dataset_name="loans",
                dataset_id="0x" + "01" * 32,
                spec_json='{"name": "loans-lr"}',
                chain_id=31337,
                policy_version=1,
                policy_block=1,
                policy_snapshot_hash="0x" + "02" * 32,
                status=RunStatus.RUNNING,
                owner="replaced-container/boot/1/1",
                heartbeat_at=utcnow() - HEARTBEAT_TIMEOUT * 2,
            )
            session.add(row)
            session.flush()
            row_id = row.id
        deadline = time.monotonic() + 10
        while True:
            with session_scope(engine) as session:
                stored = session.get(AuditRunRecord, row_id)
                assert stored is not None
                status, code = stored.status, stored.error_code
            if status != RunStatus.RUNNING:
                break
            assert time.monotonic() < deadline, "the serving API never recovered the run"
            time.sleep(0.1)
        assert (status, code) == (RunStatus.FAILED, "interrupted")
