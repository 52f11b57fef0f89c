"""Migration 0013: every run row written before it gets a heartbeat, its ``created_at``, so a
run left by a process gone before the upgrade is recovered, and one just accepted is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, bindparam, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from sqlmodel.sql.sqltypes import UTCDateTime

from audit.db_models import AuditRunRecord, RunStatus, utcnow
from audit.run_recovery import claim_queued, close_interrupted
from core import db
from tests.conftest import POSTGRES_URL

BEFORE = "0012_anchor_finality"
REMOTE = "old-container/boot/1/1"


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def unmigrated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database with no table yet: SQLite, and PostgreSQL when the server answers."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'fairgov.db'}"
    else:
        url = request.getfixturevalue("postgres_test_url")
        name = make_url(url).database
        with request.getfixturevalue("postgres_admin").connect() as admin:
            admin.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            admin.execute(text(f"CREATE DATABASE {name}"))
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _insert(engine: Engine, run_id: str, status: str, created_at: datetime) -> None:
    """A row as fairgov 0012 wrote it (the moment stored as the column type stores it)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_run (run_id, kind, model_name, dataset_name, dataset_id,"
                " status, spec_json, chain_id, policy_version, policy_block,"
                " policy_snapshot_hash, anchor_final, created_at, owner) VALUES (:run_id,"
                " 'training_run', 'm', 'loans', '0xd', :status, '{}', 31337, 3, 40, '0xs',"
                " false, :created_at, :owner)"
            ).bindparams(bindparam("created_at", type_=UTCDateTime())),
            {"run_id": run_id, "status": status, "created_at": created_at, "owner": REMOTE},
        )


def test_rows_written_before_the_migration_beat_from_their_creation(unmigrated: Engine) -> None:
    engine = unmigrated
    db.upgrade(engine, BEFORE)
    old = datetime(2026, 12, 1, tzinfo=UTC)
    just_now = utcnow()
    _insert(engine, "0xold", "running", old)
    _insert(engine, "0xqueued", "queued", old)
    _insert(engine, "0xnew", "running", just_now)
    db.upgrade(engine)
    with Session(engine) as session:
        rows = session.exec(select(AuditRunRecord).order_by(col(AuditRunRecord.id))).all()
        assert [(r.run_id, r.heartbeat_at) for r in rows] == [
            ("0xold", old),
            ("0xqueued", old),
            ("0xnew", just_now),
        ]
    column = {c["name"]: c for c in inspect(engine).get_columns("audit_run")}["heartbeat_at"]
    assert column["nullable"] is False

    assert close_interrupted(engine) == ["0xold"]  # its host never came back
    assert [q.run_id for q in claim_queued(engine)] == ["0xqueued"]


def test_the_migration_goes_down_and_up_again(unmigrated: Engine) -> None:
    db.upgrade(unmigrated)
    with Session(unmigrated) as session:
        session.add(
            AuditRunRecord(
                run_id="0xr",
                model_name="m",
                dataset_name="loans",
                dataset_id="0xd",
                status=RunStatus.COMPLETED,
                spec_json="{}",
                chain_id=31337,
                policy_version=3,
                policy_block=40,
                policy_snapshot_hash="0xs",
                heartbeat_at=utcnow(),
            )
        )
        session.commit()
    _downgrade(unmigrated, BEFORE)
    assert "heartbeat_at" not in {c["name"] for c in inspect(unmigrated).get_columns("audit_run")}
    db.upgrade(unmigrated)
    with Session(unmigrated) as session:
        (row,) = session.exec(select(AuditRunRecord)).all()
    assert row.heartbeat_at == row.created_at  # as any row written before the heartbeat
