"""Audit runs a killed process left: running ones closed as interrupted, queued ones taken over."""

from __future__ import annotations

from sqlalchemy import Engine

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.run_owner import owner_gone, process_owner
from audit.run_recovery import claim_queued, close_interrupted
from core.db import session_scope

RUN_ID = "0x" + "ab" * 32


def dead_owner() -> str:
    """This process's name with another start time: a dead process whose pid is reused."""
    host, boot, pid, _started = process_owner().rsplit("/", 3)
    return f"{host}/{boot}/{pid}/1"


def _row(engine: Engine, status: RunStatus, owner: str | None, **fields: object) -> int:
    with session_scope(engine) as session:
        row = AuditRunRecord(
            run_id=RUN_ID,
            kind=RunKind.TRAINING_RUN,
            model_name="loans-lr",
            dataset_name="loans",
            dataset_id="0x" + "01" * 32,
            spec_json='{"name": "loans-lr"}',
            chain_id=31337,
            policy_version=1,
            policy_block=1,
            policy_snapshot_hash="0x" + "02" * 32,
            status=status,
            owner=owner,
            **fields,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _get(engine: Engine, row_id: int) -> AuditRunRecord:
    with session_scope(engine) as session:
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        return row


def test_a_process_is_gone_once_its_pid_belongs_to_another_start() -> None:
    assert not owner_gone(process_owner())
    assert owner_gone(dead_owner())
    assert not owner_gone("elsewhere/boot/1/1")  # another host: not ours to judge


def test_a_run_left_running_by_a_killed_process_is_closed_as_interrupted(engine: Engine) -> None:
    killed = _row(engine, RunStatus.RUNNING, dead_owner())
    alive = _row(engine, RunStatus.RUNNING, process_owner())
    remote = _row(engine, RunStatus.RUNNING, "elsewhere/boot/1/1")
    assert close_interrupted(engine) == [RUN_ID]
    row = _get(engine, killed)
    assert (row.status, row.error_code) == ("failed", "interrupted")
    assert row.error is not None
    assert len(row.error.splitlines()) == 1
    assert row.finished_at is not None
    assert _get(engine, alive).status == "running"
    assert _get(engine, remote).status == "running"
    assert close_interrupted(engine) == []


def test_runs_queued_by_a_killed_process_are_taken_over_once(engine: Engine) -> None:
    orphan = _row(engine, RunStatus.QUEUED, dead_owner())
    mine = _row(engine, RunStatus.QUEUED, process_owner())
    (claimed,) = claim_queued(engine)
    assert (claimed.row_id, claimed.run_id, claimed.kind) == (orphan, RUN_ID, "training_run")
    assert claimed.spec_json == '{"name": "loans-lr"}'
    assert _get(engine, orphan).owner == process_owner()
    assert _get(engine, mine).status == "queued"
    assert claim_queued(engine) == []  # now this process's: not taken twice


def test_a_queued_run_whose_run_id_completed_since_takes_that_outcome(engine: Engine) -> None:
    _row(
        engine,
        RunStatus.COMPLETED,
        process_owner(),
        report_hash="0x" + "03" * 32,
        anchor_tx="0x" + "04" * 32,
        anchor_block=7,
        verdict="PASS",
    )
    orphan = _row(engine, RunStatus.QUEUED, dead_owner())
    assert claim_queued(engine) == []
    row = _get(engine, orphan)
    assert (row.status, row.anchor_tx, row.anchor_block) == ("completed", "0x" + "04" * 32, 7)
