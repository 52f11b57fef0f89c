"""The heartbeat: this process's live run rows are refreshed, one UPDATE for all of them, by a
thread that starts when such a row is written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from audit import run_heartbeat
from audit.db_models import AuditRunRecord, RunStatus, utcnow
from audit.run_heartbeat import HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT, LIVE, keep_alive, stale
from audit.run_owner import process_owner
from core.db import session_scope
from tests.unit.audit.test_run_recovery import REMOTE, _get, _row

AN_HOUR_AGO = timedelta(hours=1)


@pytest.fixture
def fast(engine: Engine) -> Iterator[run_heartbeat.Heartbeat]:
    """This process's heartbeat on ``engine``, beating every 50 ms instead of every 30 s."""
    heartbeat = keep_alive(engine, interval=0.05)
    yield heartbeat
    heartbeat.stop()


def _beat_after(engine: Engine, row_id: int, then: datetime, seconds: float = 10) -> datetime:
    """The row's heartbeat once it is later than ``then`` (fails after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat = _get(engine, row_id).heartbeat_at
        if beat > then:
            return beat
        time.sleep(0.02)
    pytest.fail(f"the heartbeat did not advance past {then} in {seconds} s")


def test_the_constants_say_what_the_docs_say() -> None:
    assert set(LIVE) == {RunStatus.QUEUED, RunStatus.RUNNING}
    assert HEARTBEAT_INTERVAL == 30
    assert timedelta(minutes=5) == HEARTBEAT_TIMEOUT
    assert HEARTBEAT_TIMEOUT.total_seconds() >= 5 * HEARTBEAT_INTERVAL  # several beats


def test_the_live_rows_of_this_process_beat_and_no_other_row(
    engine: Engine, fast: run_heartbeat.Heartbeat
) -> None:
    old = utcnow() - AN_HOUR_AGO
    running = _row(engine, RunStatus.RUNNING, process_owner(), heartbeat_at=old)
    queued = _row(engine, RunStatus.QUEUED, process_owner(), heartbeat_at=old)
    done = _row(engine, RunStatus.COMPLETED, process_owner(), heartbeat_at=old)
    remote = _row(engine, RunStatus.RUNNING, REMOTE, heartbeat_at=old)
    first = _beat_after(engine, running, old)
    assert _beat_after(engine, queued, old) > old
    assert _beat_after(engine, running, first) > first  # it keeps beating
    assert not stale(_get(engine, running).heartbeat_at)
    assert _get(engine, done).heartbeat_at == old
    assert _get(engine, remote).heartbeat_at == old


def test_writing_a_live_row_starts_the_heartbeat_and_it_stops_with_it(engine: Engine) -> None:
    assert engine not in run_heartbeat._HEARTBEATS
    _row(engine, RunStatus.COMPLETED, process_owner())
    assert engine not in run_heartbeat._HEARTBEATS  # nothing live: nothing to keep alive
    _row(engine, RunStatus.RUNNING, REMOTE)
    assert engine not in run_heartbeat._HEARTBEATS  # another process's row
    _row(engine, RunStatus.QUEUED, process_owner())
    heartbeat = run_heartbeat._HEARTBEATS[engine]
    assert (heartbeat.alive, heartbeat.interval) == (True, HEARTBEAT_INTERVAL)
    assert keep_alive(engine) is heartbeat  # one per database, whatever writes
    heartbeat.stop()
    assert not heartbeat.alive
    assert engine not in run_heartbeat._HEARTBEATS
    assert keep_alive(engine, interval=0.05) is not heartbeat  # started again when needed
    keep_alive(engine).stop()


def test_a_row_updated_to_running_by_this_process_beats(
    engine: Engine, fast: run_heartbeat.Heartbeat
) -> None:
    old = utcnow() - AN_HOUR_AGO
    row_id = _row(engine, RunStatus.QUEUED, REMOTE, heartbeat_at=old)
    with session_scope(engine) as session:
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        row.status, row.owner = RunStatus.RUNNING, process_owner()
        session.add(row)
    assert _beat_after(engine, row_id, old) > old


class _Failing(run_heartbeat.Heartbeat):
    """A heartbeat whose database answers nothing (every beat fails), or finds no row."""

    def __init__(self, engine: Engine, result: int | None) -> None:
        super().__init__(engine, interval=0.02)
        self.result = result

    def beat(self) -> int | None:
        return self.result


def test_a_database_outage_does_not_stop_the_heartbeat(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review (session 25): failed beats aged the quiet period like beats that found no live
    row, so an outage of HEARTBEAT_TIMEOUT stopped the heartbeat of a process still running
    its audits, and nothing started it again."""
    monkeypatch.setattr(run_heartbeat, "HEARTBEAT_TIMEOUT", timedelta(seconds=0.2))
    failing, idle = _Failing(engine, None), _Failing(engine, 0)
    for heartbeat in (failing, idle):
        heartbeat.wanted = False
        heartbeat.start()
    time.sleep(0.6)
    try:
        assert failing.alive  # the outage proves nothing about live rows
        assert not idle.alive  # found none for the whole timeout: it rests
    finally:
        failing.stop()
        idle.stop()


def test_disposing_the_engine_stops_its_heartbeat(engine: Engine) -> None:
    """A heartbeat beating on after its engine was disposed opened a pooled connection that
    nobody closed (a ResourceWarning in the CI run, session 25)."""
    heartbeat = keep_alive(engine, interval=0.02)
    assert heartbeat.alive
    engine.dispose()
    assert not heartbeat.alive
    assert keep_alive(engine, interval=0.02) is not heartbeat  # a live row starts another
    engine.dispose()
