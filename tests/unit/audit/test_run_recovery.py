"""Audit runs a killed process left: running ones closed as interrupted, queued ones taken over.

A process on this host is judged by ``/proc``; one on another host by its rows' heartbeat.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col

from audit.db_models import AuditRunRecord, RunKind, RunStatus, utcnow
from audit.errors import RunTakenOver
from audit.run_heartbeat import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, stale_before
from audit.run_owner import owner_alive, owner_gone, process_owner
from audit.run_recovery import _Orphan, _take, claim_queued, close_interrupted, start_queued
from core.db import session_scope

RUN_ID = "0x" + "ab" * 32
#: A process on a host that was replaced (a container with a new hostname).
REMOTE = "old-container/boot/1/1"
#: A heartbeat the timeout has passed, and one the timeout has not.
SILENT = HEARTBEAT_TIMEOUT + timedelta(seconds=1)
BEATING = timedelta(seconds=HEARTBEAT_INTERVAL)


def dead_owner() -> str:
    """This process's name with another start time: a dead process whose pid is reused."""
    host, boot, pid, _started = process_owner().rsplit("/", 3)
    return f"{host}/{boot}/{pid}/1"


def _row(engine: Engine, status: RunStatus, owner: str | None, **fields: object) -> int:
    fields = {"spec_json": '{"name": "loans-lr"}'} | fields
    with session_scope(engine) as session:
        row = AuditRunRecord(
            run_id=RUN_ID,
            kind=RunKind.TRAINING_RUN,
            model_name="loans-lr",
            dataset_name="loans",
            dataset_id="0x" + "01" * 32,
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
    assert owner_alive(process_owner())
    assert not owner_alive(dead_owner())
    assert not owner_alive("elsewhere/boot/1/1")  # nor seen alive: its heartbeat decides


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


def test_an_interrupted_federated_run_is_not_promised_the_same_run_id(engine: Engine) -> None:
    # Review of session 25 (c): a federated run id also covers who took part and what
    # they sent, so starting it again makes the same id only if they answer alike.
    central = _row(engine, RunStatus.RUNNING, dead_owner())
    federated = _row(
        engine, RunStatus.RUNNING, dead_owner(), spec_json='{"federated": true, "name": "f"}'
    )
    close_interrupted(engine)
    central_error, federated_error = _get(engine, central).error, _get(engine, federated).error
    assert central_error is not None
    assert federated_error is not None
    assert "the same spec gives the same run id" in central_error
    assert "the same spec gives the same run id" not in federated_error
    assert "gets its own id unless they answer exactly as before" in federated_error


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


def _silent_for(age: timedelta) -> dict[str, object]:
    return {"heartbeat_at": utcnow() - age}


def test_a_run_on_a_host_that_never_came_back_is_closed_once_its_heartbeat_is_stale(
    engine: Engine,
) -> None:
    silent = _row(engine, RunStatus.RUNNING, REMOTE, **_silent_for(SILENT))
    beating = _row(engine, RunStatus.RUNNING, "elsewhere/boot/1/1", **_silent_for(BEATING))
    assert close_interrupted(engine) == [RUN_ID]
    row = _get(engine, silent)
    assert (row.status, row.error_code) == ("failed", "interrupted")
    assert row.error is not None
    assert len(row.error.splitlines()) == 1
    assert row.error.startswith("interrupted: process 1 on old-container (silent since 20")
    assert _get(engine, beating).status == "running"
    assert close_interrupted(engine) == []


def test_runs_queued_on_a_host_that_never_came_back_are_taken_over(engine: Engine) -> None:
    silent = _row(engine, RunStatus.QUEUED, REMOTE, **_silent_for(SILENT))
    beating = _row(engine, RunStatus.QUEUED, "elsewhere/boot/1/1", **_silent_for(BEATING))
    (claimed,) = claim_queued(engine)
    assert claimed.row_id == silent
    row = _get(engine, silent)
    assert (row.status, row.owner) == ("queued", process_owner())
    assert not row.heartbeat_at < stale_before()  # now this process's, beating
    assert _get(engine, beating).owner == "elsewhere/boot/1/1"
    assert claim_queued(engine) == []


def test_a_process_this_host_sees_alive_is_not_judged_by_its_heartbeat(engine: Engine) -> None:
    """A live process whose heartbeat lags (a process started before the upgrade that added
    heartbeats, a database that was slow) keeps its runs: ``/proc`` knows better."""
    mine = _row(engine, RunStatus.RUNNING, process_owner(), **_silent_for(SILENT))
    assert close_interrupted(engine) == []
    assert _get(engine, mine).status == "running"


def test_a_row_whose_owner_beats_after_the_judgement_is_not_taken(engine: Engine) -> None:
    row_id = _row(engine, RunStatus.RUNNING, REMOTE, **_silent_for(SILENT))
    judged = _Orphan(_get(engine, row_id), stale_before())
    with session_scope(engine) as session:  # the owner was only slow: it beats now
        session.execute(
            update(AuditRunRecord)
            .where(col(AuditRunRecord.id) == row_id)
            .values(heartbeat_at=utcnow())
        )
    with session_scope(engine) as session:
        assert not _take(session, judged, status=RunStatus.FAILED)
    assert _get(engine, row_id).status == "running"


def test_a_queued_run_recovery_handed_to_another_process_is_not_started_here(
    engine: Engine,
) -> None:
    """Review (session 25): start_queued moved the row to running whoever owned it, so a run
    recovery had handed to another process (this one looked gone) ran in both."""
    taken = _row(engine, RunStatus.QUEUED, "other-host/boot/1/1")
    with pytest.raises(RunTakenOver) as refused:
        start_queued(engine, taken, RUN_ID)
    assert refused.value.code == "run_taken_over"
    row = _get(engine, taken)
    assert (row.status, row.owner) == ("queued", "other-host/boot/1/1")
    mine = _row(engine, RunStatus.QUEUED, process_owner())
    start_queued(engine, mine, RUN_ID)
    assert _get(engine, mine).status == "running"
