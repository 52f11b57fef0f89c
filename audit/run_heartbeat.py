"""The heartbeat of this process's audit runs: a proof of life that any host can read.

A process on another host cannot look into this host's ``/proc``
(:mod:`audit.run_owner`), so a run row owned by a container that was replaced, and came back
with another hostname, used to stay ``queued`` or ``running`` for ever. Now every process
that owns ``queued`` or ``running`` rows refreshes their ``heartbeat_at`` every
:data:`HEARTBEAT_INTERVAL` seconds, with one UPDATE for all of them, from a daemon thread of
its own: it needs no scheduler lease, so an API process holding accepted runs and a
``fairgov audit run`` in a terminal beat as well as the active scheduler. A row whose
heartbeat is older than :data:`HEARTBEAT_TIMEOUT` is gone whatever its host
(:func:`stale`; :mod:`audit.run_recovery` recovers it).

The thread starts by itself when this process writes a live row it owns (a mapper event on
:class:`~audit.db_models.AuditRunRecord`, so every path that stores a run, central, external
or federated, is covered), and ends when its engine is gone, or once it found no live row of
this process for a whole :data:`HEARTBEAT_TIMEOUT` (the next live row starts it again).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import Engine, column, event, table, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel.sql.sqltypes import UTCDateTime

from audit.run_owner import process_owner

#: Seconds between two refreshes of this process's live rows: one UPDATE for all of them.
HEARTBEAT_INTERVAL: Final = 30.0
#: How old a row's heartbeat must be for its process to count as gone, whatever its host:
#: ten intervals, so that a slow database (SQLite waits up to 10 s for its write lock), a
#: process starved of CPU by training, or the clocks of two hosts some seconds apart (the
#: writer's clock stamps, the reader's judges, as with the scheduler lease) never make a live
#: process look dead. A replaced host's runs are recovered this long after its last beat.
HEARTBEAT_TIMEOUT: Final = timedelta(seconds=10 * HEARTBEAT_INTERVAL)
#: The statuses of a run row whose process must keep beating (``RunStatus`` values).
LIVE: Final = ("queued", "running")

log = logging.getLogger("fairgov.audit.heartbeat")

_RUNS = table(
    "audit_run",
    column("owner"),
    column("status"),
    column("heartbeat_at", UTCDateTime()),
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def stale(heartbeat_at: datetime, now: datetime | None = None) -> bool:
    """Whether a row last beating at ``heartbeat_at`` has been silent for longer than
    :data:`HEARTBEAT_TIMEOUT` at ``now`` (default: this moment).

    Examples
    --------
    >>> stale(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 6, tzinfo=UTC))
    True
    """
    return heartbeat_at < stale_before(now)


def stale_before(now: datetime | None = None) -> datetime:
    """The moment a heartbeat must be older than to be stale at ``now``."""
    return (now or _utcnow()) - HEARTBEAT_TIMEOUT


class Heartbeat:
    """The thread refreshing the live rows this process owns in one database.

    It holds its engine weakly: a heartbeat ends with the engine it beats on.
    """

    def __init__(self, engine: Engine, interval: float) -> None:
        self.interval = interval
        self.wanted = True
        self._engine = weakref.ref(engine)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fairgov-heartbeat", daemon=True)

    @property
    def alive(self) -> bool:
        """Whether the thread runs and has not been told to stop."""
        return self._thread.is_alive() and not self._stopping.is_set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """End the thread (after the beat in progress, if any) and wait for it."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join()

    def beat(self) -> int | None:
        """Refresh every live row this process owns now; how many, None when the database
        failed (logged: the next beat tries again) or the engine is gone."""
        engine = self._engine()
        if engine is None:
            return None
        statement = (
            update(_RUNS)
            .where(_RUNS.c.owner == process_owner(), _RUNS.c.status.in_(LIVE))
            .values(heartbeat_at=_utcnow())
        )
        try:
            with engine.begin() as connection:
                return int(connection.execute(statement).rowcount or 0)
        except SQLAlchemyError as exc:
            log.warning("could not refresh the heartbeat of this process's audit runs: %s", exc)
            return None

    def _run(self) -> None:
        quiet_since = time.monotonic()
        while not self._stopping.wait(self.interval):
            if self._engine() is None:
                break
            beaten = self.beat()
            with _LOCK:
                # A failed beat (None) proves nothing about live rows: only beats that found
                # none age the quiet period, so a database outage never stops the heartbeat
                # of a process whose runs are still live (review, session 25).
                if beaten is None or beaten or self.wanted:
                    self.wanted, quiet_since = False, time.monotonic()
                elif time.monotonic() - quiet_since >= HEARTBEAT_TIMEOUT.total_seconds():
                    self._stopping.set()  # keep_alive starts another one when needed
                    break
        with _LOCK:
            engine = self._engine()
            if engine is not None and _HEARTBEATS.get(engine) is self:
                del _HEARTBEATS[engine]


_LOCK = threading.Lock()
_HEARTBEATS: weakref.WeakKeyDictionary[Engine, Heartbeat] = weakref.WeakKeyDictionary()


def keep_alive(engine: Engine, *, interval: float = HEARTBEAT_INTERVAL) -> Heartbeat:
    """Make sure this process's live rows in ``engine``'s database keep beating; the
    heartbeat (started here with ``interval`` when none runs for ``engine``).

    Called for every live row this process writes, so it is cheap when the heartbeat runs.

    Examples
    --------
    >>> keep_alive(engine).alive  # doctest: +SKIP
    True
    """
    with _LOCK:
        heartbeat = _HEARTBEATS.get(engine)
        if heartbeat is not None and heartbeat.alive:
            heartbeat.wanted = True
            return heartbeat
        heartbeat = Heartbeat(engine, interval)
        _HEARTBEATS[engine] = heartbeat
        if not event.contains(engine, "engine_disposed", _stop_on_dispose):
            event.listen(engine, "engine_disposed", _stop_on_dispose)
        heartbeat.start()
        return heartbeat


def _stop_on_dispose(engine: Engine) -> None:
    """A disposed engine is being shut down: its heartbeat ends with it. (Beating on, it
    opened a pooled connection nobody would close; review of the CI run, session 25.)"""
    with _LOCK:
        heartbeat = _HEARTBEATS.pop(engine, None)
    if heartbeat is not None:
        heartbeat.stop()
        engine.pool.dispose()  # a beat that was in flight returned its connection there


def _forget_after_fork() -> None:
    """A forked child has none of its parent's threads (and another owner name)."""
    global _LOCK, _HEARTBEATS  # noqa: PLW0603
    _LOCK = threading.Lock()
    _HEARTBEATS = weakref.WeakKeyDictionary()


os.register_at_fork(after_in_child=_forget_after_fork)
