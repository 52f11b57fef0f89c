"""The database: engine, sessions and migrations.

SQLite in the data directory is the embedded default (WAL, foreign keys on). Setting
``FAIRGOV_DATABASE_URL`` selects another database, PostgreSQL through psycopg 3 in
practice. The schema is owned by Alembic migrations in ``core/migrations``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

MIGRATIONS = Path(__file__).with_name("migrations")
_POOL_SIZE = 20
_POOL_OVERFLOW = 30


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # The API serves requests from a thread pool (40 threads); each may hold a connection.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=_POOL_SIZE,
            max_overflow=_POOL_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=_POOL_SIZE, max_overflow=_POOL_OVERFLOW)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def advisory_key(name: str) -> int:
    """A signed 64-bit key for PostgreSQL's advisory lock functions, derived from ``name``."""
    digest = hashlib.sha256(f"fairgov:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def exclusive_transaction(session: Session, name: str) -> Iterator[None]:
    """Run the block in a transaction that holds ``name`` against every other session, in
    any process on the same database; commit when the block succeeds, roll back when it
    raises. Whatever the session held before is committed first.

    PostgreSQL takes a transaction-scoped advisory lock on ``name``
    (``pg_advisory_xact_lock``), so other names go on at the same time. SQLite begins with
    ``BEGIN IMMEDIATE``, which takes the database's one write lock whatever the name: every
    other writer waits for the block, up to the busy timeout. Either lock ends with the
    transaction, so a commit inside the block ends it too.

    Examples
    --------
    >>> with exclusive_transaction(session, "withdrawal:0x5d…"):  # doctest: +SKIP
    ...     check_then_insert(session)
    """
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})
    else:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
