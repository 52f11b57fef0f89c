"""After downtime, the audit runs missed while no scheduler was active run once, not many."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Float, MetaData, Table, Unicode, select
from sqlmodel import Session
from web3 import Web3

from governance.chain import deploy
from scheduler import history
from scheduler.db_models import JOBSTORE_TABLE, JobRun
from scheduler.service import SchedulerConfig, SchedulerService
from tests.integration.scheduler.test_jobs import make_context

pytestmark = [pytest.mark.chain, pytest.mark.slow]

EVERY = 1.0
_STORE = Table(
    JOBSTORE_TABLE,
    MetaData(),
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25)),
)


def _audit_runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(reversed(history.recent(session, job="audit_all")))


def _next_run(engine: Engine, job: str) -> datetime:
    with engine.connect() as connection:
        stamp = connection.execute(
            select(_STORE.c.next_run_time).where(_STORE.c.id == job)
        ).scalar_one()
    return datetime.fromtimestamp(stamp, UTC)


def _wait_for_runs(engine: Engine, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_audit_runs(engine)) < count:
        assert time.monotonic() < deadline, "the audit job did not run"
        time.sleep(0.05)


def test_a_restart_after_downtime_runs_the_missed_audits_once(
    w3: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    # No auditor key: each run records "skipped" at once, which is all this test needs.
    context = make_context(engine, w3, deployment, tmp_path, auditor_key=None)
    config = SchedulerConfig(lease_seconds=3, audit_every_seconds=EVERY, jobs=("audit_all",))
    before = SchedulerService(context, config)
    before.start()
    _wait_for_runs(engine, 1)
    before.stop()
    due = _next_run(engine, "audit_all").timestamp()
    # Down while four runs fall due (due, due+1, due+2, due+3); back half-way to the fifth.
    time.sleep(max(0.0, due + 3.5 * EVERY - time.time()))
    restarted_at = datetime.now(UTC)
    fifth = datetime.fromtimestamp(due + 4 * EVERY, UTC)

    after = SchedulerService(context, config)
    after.start()
    try:
        _wait_for_runs(engine, 2)
        time.sleep(max(0.0, fifth.timestamp() + 0.3 - time.time()))
    finally:
        after.stop()
    catch_up = [r for r in _audit_runs(engine) if restarted_at <= r.started_at < fifth]
    assert len(catch_up) == 1  # the four missed runs, coalesced, at once on restart
    assert catch_up[0].holder == after.holder
