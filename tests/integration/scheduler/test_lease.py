"""The scheduler lease: one holder at a time, takeover on expiry or release, no race."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from scheduler.db_models import SchedulerLease
from scheduler.lease import AdvisoryLock, DbLease, make_lease


def _holder(engine: Engine) -> str | None:
    with Session(engine) as session:
        row = session.get(SchedulerLease, "scheduler")
    return None if row is None else row.holder


def test_a_second_holder_stands_by_until_the_first_releases(engine: Engine) -> None:
    first = make_lease(engine, holder="a", seconds=30)
    second = make_lease(engine, holder="b", seconds=30)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # renewing keeps it
    assert not second.acquire()
    assert _holder(engine) == "a"
    first.release()
    assert second.acquire()
    assert not first.acquire()
    assert _holder(engine) == "b"
    second.release()


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_renew(engine: Engine) -> None:
    first = DbLease(engine, holder="a", seconds=0.3)
    second = DbLease(engine, holder="b", seconds=30)
    assert first.acquire()
    assert not second.acquire()
    time.sleep(0.4)
    assert second.acquire()
    assert not first.acquire()
    assert _holder(engine) == "b"


def test_holders_racing_for_a_new_lease_get_it_exactly_once(engine: Engine) -> None:
    leases = [DbLease(engine, holder=f"h{i}", seconds=30) for i in range(6)]
    results: dict[str, bool] = {}
    barrier = threading.Barrier(len(leases))

    def attempt(lease: DbLease) -> None:
        barrier.wait()
        results[lease.holder] = lease.acquire()

    threads = [threading.Thread(target=attempt, args=(lease,)) for lease in leases]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [holder for holder, won in results.items() if won]
    assert len(results) == len(leases)
    assert len(winners) == 1
    assert _holder(engine) == winners[0]


def test_postgresql_uses_an_advisory_lock_freed_with_its_connection(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks exist on PostgreSQL only")
    first = make_lease(engine, holder="a", seconds=30)
    second = make_lease(engine, holder="b", seconds=30)
    assert isinstance(first, AdvisoryLock)
    assert first.acquire()
    assert not second.acquire()
    assert _holder(engine) == "a"
    connection = first._connection
    assert connection is not None
    connection.invalidate()  # as if the holder's process died: the server ends its session
    deadline = time.monotonic() + 5  # far less than the 30 s lease: no waiting for an expiry
    while not second.acquire():
        assert time.monotonic() < deadline, "the lock outlived its connection"
        time.sleep(0.05)
    assert not first.acquire()
    first.release()
    second.release()


_HUNG_HOLDER = """
import sys
from core.db import make_engine
from scheduler.lease import AdvisoryLock
lock = AdvisoryLock(make_engine(sys.argv[1]), holder="hung-holder", seconds=1)
print(lock.acquire(), flush=True)
sys.stdin.readline()  # stands still: SIGSTOP is sent here
print(lock.acquire(), flush=True)
"""


def test_a_hung_postgresql_holder_is_ended_after_a_lease_period_past_its_expiry(
    engine: Engine,
) -> None:
    """A stopped holder keeps its connection, so its advisory lock; the standby ends its
    session once the lease row has been expired a whole lease period, and the holder, woken,
    finds its lock gone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks exist on PostgreSQL only")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HUNG_HOLDER, engine.url.render_as_string(hide_password=False)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdin is not None
        assert holder.stdout.readline().strip() == "True"
        os.kill(holder.pid, signal.SIGSTOP)
        standby = AdvisoryLock(engine, holder="standby", seconds=1)
        started = time.monotonic()
        assert not standby.acquire()  # the lease row is still fresh: the holder is not ended
        while not standby.acquire():
            assert time.monotonic() - started < 15, "the hung holder kept the lock"
            time.sleep(0.2)
        assert time.monotonic() - started >= 1.0  # not before its row expired a period ago
        assert _holder(engine) == "standby"
        os.kill(holder.pid, signal.SIGCONT)
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "False"  # woken, it stands by
        assert standby.acquire()
        standby.release()
    finally:
        os.kill(holder.pid, signal.SIGCONT)
        holder.kill()
        holder.communicate()  # closes the pipes


def test_a_new_holder_that_has_not_written_the_row_yet_is_not_ended(engine: Engine) -> None:
    """The row names an expired holder, but the lock is held by a session of another name
    (one that took the lock a moment ago): the standby leaves it alone."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks exist on PostgreSQL only")
    fresh = AdvisoryLock(engine, holder="fresh", seconds=30)
    assert fresh.acquire()
    with Session(engine) as session:
        row = session.get(SchedulerLease, "scheduler")
        assert row is not None
        row.holder, row.expires_at = "long-gone", datetime(2000, 1, 1, tzinfo=UTC)
        session.add(row)
        session.commit()
    standby = AdvisoryLock(engine, holder="standby", seconds=1)
    assert not standby.acquire()
    assert fresh.acquire()
    fresh.release()
