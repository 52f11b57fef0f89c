"""The scheduler lease: one holder at a time, takeover on expiry or release, no race."""

from __future__ import annotations

import threading
import time

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
