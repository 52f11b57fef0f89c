"""The scheduler service's start-up: what a killed process left is closed, not left running."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.db_models import AuditRunRecord, RunStatus
from audit.run_owner import process_owner
from core.db import session_scope
from governance.chain import deploy
from scheduler.service import SchedulerConfig, SchedulerService
from tests.integration.scheduler.test_jobs import make_context

pytestmark = pytest.mark.chain


def test_an_audit_run_a_killed_process_left_running_is_closed_when_the_scheduler_starts(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    host, boot, pid, _started = process_owner().rsplit("/", 3)
    with session_scope(engine) as session:
        row = AuditRunRecord(
            run_id="0x" + "ab" * 32,
            model_name="loans-lr",
            dataset_name="loans",
            dataset_id="0x" + "01" * 32,
            spec_json="{}",
            chain_id=31337,
            policy_version=1,
            policy_block=1,
            policy_snapshot_hash="0x" + "02" * 32,
            status=RunStatus.RUNNING,
            owner=f"{host}/{boot}/{pid}/1",  # this pid, another start: a process now gone
        )
        session.add(row)
        session.flush()
        row_id = row.id
    context = make_context(engine, isolated_chain, deployment, tmp_path)
    service = SchedulerService(context, SchedulerConfig(lease_seconds=3, jobs=()))
    service.start()
    try:
        assert service.is_active
    finally:
        service.stop()
    with session_scope(engine) as session:
        closed = session.get(AuditRunRecord, row_id)
    assert closed is not None
    assert (closed.status, closed.error_code) == ("failed", "interrupted")
