"""One active scheduler: a lease in the database, or a PostgreSQL advisory lock.

:class:`DbLease` is a row ``(name, holder, expires_at)``. Acquiring and renewing are the
same atomic ``UPDATE … WHERE name = :name AND (expires_at < now OR holder = :me)``; the
first holder ever INSERTs the row, and a racing INSERT loses on the primary key. A holder
that stops renewing loses the lease when it expires.

:class:`AdvisoryLock` holds ``pg_try_advisory_lock`` on a dedicated connection: PostgreSQL
frees it the moment that connection ends, so a killed process hands over at once. It also
writes the lease row, so both kinds show who is active in the same place, and the row is how a
hung holder is found: a process that is stopped (SIGSTOP, a frozen VM) keeps its connection
and so its lock, but stops renewing the row. A standby that finds the row expired for a whole
further lease period ends the holder's database session (``pg_terminate_backend``), which frees
the lock; the holder, if it ever resumes, finds its lock gone at its next renewal and stands by.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, case, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from core.db import advisory_key, session_scope
from scheduler.db_models import SchedulerLease, utcnow

_RELEASED = datetime(1970, 1, 1, tzinfo=UTC)
_log = logging.getLogger(__name__)


class Lease(Protocol):
    """The right to be the one active scheduler."""

    holder: str
    seconds: float

    def acquire(self) -> bool:
        """Take or renew the lease; True while this holder has it."""

    def release(self) -> None:
        """Give the lease up so that a standby can take over at once."""


def _claim(session: Session, name: str, holder: str, seconds: float, *, force: bool) -> bool:
    now = utcnow()
    statement = update(SchedulerLease).where(col(SchedulerLease.name) == name)
    if not force:
        statement = statement.where(
            (col(SchedulerLease.expires_at) < now) | (col(SchedulerLease.holder) == holder)
        )
    taken_at = case(
        (col(SchedulerLease.holder) == holder, col(SchedulerLease.acquired_at)), else_=now
    )
    result = session.execute(
        statement.values(
            holder=holder, expires_at=now + timedelta(seconds=seconds), acquired_at=taken_at
        )
    )
    return bool(getattr(result, "rowcount", 0))


class DbLease:
    """A lease row, renewed by its holder more often than it expires.

    Examples
    --------
    >>> lease = DbLease(engine, holder="host:123", seconds=30)  # doctest: +SKIP
    >>> lease.acquire()  # doctest: +SKIP
    True
    """

    def __init__(self, engine: Engine, *, holder: str, seconds: float, name: str = "scheduler"):
        self.engine = engine
        self.holder = holder
        self.seconds = seconds
        self.name = name

    def acquire(self) -> bool:
        with session_scope(self.engine) as session:
            if _claim(session, self.name, self.holder, self.seconds, force=False):
                return True
            if session.get(SchedulerLease, self.name) is not None:
                return False
        try:
            with session_scope(self.engine) as session:
                expires = utcnow() + timedelta(seconds=self.seconds)
                session.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=expires))
        except IntegrityError:
            return False  # another scheduler inserted it first
        return True

    def release(self) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(SchedulerLease)
                .where(col(SchedulerLease.name) == self.name)
                .where(col(SchedulerLease.holder) == self.holder)
                .values(expires_at=_RELEASED)
            )


def _application_name(holder: str) -> str:
    """The ``application_name`` of ``holder``'s lock session: a digest, since PostgreSQL
    keeps 63 bytes and two holders on one long hostname differ only at the end."""
    return "fairgov-lease-" + hashlib.sha256(holder.encode()).hexdigest()[:32]


class AdvisoryLock:
    """``pg_try_advisory_lock`` on a connection of its own (PostgreSQL only)."""

    def __init__(self, engine: Engine, *, holder: str, seconds: float, name: str = "scheduler"):
        if engine.dialect.name != "postgresql":
            raise ValueError("advisory locks need PostgreSQL")
        self.engine = engine
        self.holder = holder
        self.seconds = seconds
        self.name = name
        self.key = advisory_key(name)
        self._connection: Connection | None = None
        self._held = False

    def acquire(self) -> bool:
        try:
            if self._held:
                self._check_alive()
            else:
                self._held = self._try_lock() or (self._end_hung_holder() and self._try_lock())
                if not self._held:
                    self._drop_connection()  # holds nothing: back to the pool until next poll
        except SQLAlchemyError:
            self._drop_connection()
            return False
        if self._held:
            self._show_holder()
        return self._held

    def release(self) -> None:
        if self._held and self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._connection.execute(text("RESET application_name"))
                self._held = False
                with session_scope(self.engine) as session:
                    session.execute(
                        update(SchedulerLease)
                        .where(col(SchedulerLease.name) == self.name)
                        .where(col(SchedulerLease.holder) == self.holder)
                        .values(expires_at=_RELEASED)
                    )
            except SQLAlchemyError:
                pass  # closing the connection below frees the lock anyway
        self._drop_connection()

    def _connect(self) -> Connection:
        if self._connection is None:
            connection = self.engine.connect()
            self._connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        return self._connection

    def _try_lock(self) -> bool:
        connection = self._connect()
        if not connection.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
        ).scalar():
            return False
        # Names the session that holds the lock, so a standby can tell it is this holder's.
        connection.execute(
            text("SELECT set_config('application_name', :name, false)"),
            {"name": _application_name(self.holder)},
        )
        return True

    def _end_hung_holder(self) -> bool:
        """End the session of a holder that stopped renewing the lease row a whole lease
        period past its expiry (a hung process keeps its connection, so its lock). True when
        such a session was ended and its lock is gone."""
        with session_scope(self.engine) as session:
            row = session.get(SchedulerLease, self.name)
            if row is None or row.holder == self.holder:
                return False
            expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or UTC)
            if expires > utcnow() - timedelta(seconds=self.seconds):
                return False
        connection = self._connect()
        pids = (
            connection.execute(
                text(
                    "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
                    "AND l.pid <> pg_backend_pid() AND a.application_name = :holder "
                    "AND l.classid::bigint = ((:k >> 32) & 4294967295) "
                    "AND l.objid::bigint = (:k & 4294967295)"
                ),
                # Only the session of the holder the row names: a process that has just taken
                # the lock and not yet written the row carries another name and is left alone.
                {"k": self.key, "holder": _application_name(row.holder)},
            )
            .scalars()
            .all()
        )
        ended = False
        for pid in pids:
            # Waits (up to 5 s) until that session has ended, so the lock is free after it.
            statement = text("SELECT pg_terminate_backend(:pid, 5000)")
            ended = bool(connection.execute(statement, {"pid": pid}).scalar()) or ended
            if ended:
                _log.warning(
                    "ended the database session of scheduler %s: it held the lock but has not "
                    "renewed its lease since %s",
                    row.holder,
                    expires.isoformat(timespec="seconds"),
                )
        return ended

    def _check_alive(self) -> None:
        statement = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid() AND objsubid = 1 "
            "AND classid::bigint = ((:k >> 32) & 4294967295) "
            "AND objid::bigint = (:k & 4294967295)"
        )
        if not self._connect().execute(statement, {"k": self.key}).scalar():
            raise SQLAlchemyError("the advisory lock is gone")

    def _show_holder(self) -> None:
        try:
            with session_scope(self.engine) as session:
                _claim(session, self.name, self.holder, self.seconds, force=True)
                if session.get(SchedulerLease, self.name) is None:
                    expires = utcnow() + timedelta(seconds=self.seconds)
                    session.add(
                        SchedulerLease(name=self.name, holder=self.holder, expires_at=expires)
                    )
        except SQLAlchemyError:
            pass  # the row only shows who holds the lock; the lock decides

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        held, self._held = self._held, False
        if connection is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            if held:
                connection.invalidate()  # really close it: the pool must not keep our lock
            connection.close()


def make_lease(engine: Engine, *, holder: str, seconds: float, name: str = "scheduler") -> Lease:
    """An advisory lock on PostgreSQL, a lease row anywhere else."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, holder=holder, seconds=seconds, name=name)
    return DbLease(engine, holder=holder, seconds=seconds, name=name)
