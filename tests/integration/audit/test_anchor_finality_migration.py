"""Migration 0012: runs anchored before it keep their anchor, none of them final, so the next
``post_rewards`` passes check each against the registry once more."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from audit.db_models import AuditRunRecord
from core import db


def test_runs_anchored_before_the_migration_are_checked_again(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fairgov.db'}")
    db.upgrade(engine, "0011_audit_run_owner")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_run (run_id, kind, model_name, dataset_name, dataset_id,"
                " status, spec_json, chain_id, policy_version, policy_block,"
                " policy_snapshot_hash, anchor_tx, anchor_block, created_at) VALUES ('0xr',"
                " 'training_run', 'm', 'loans', '0xd', 'completed', '{}', 31337, 3, 40, '0xs',"
                " '0xt', 41, '2026-12-01 00:00:00')"
            )
        )
    db.upgrade(engine)
    with Session(engine) as session:
        (run,) = session.exec(select(AuditRunRecord)).all()
    assert (run.run_id, run.anchor_tx, run.anchor_block) == ("0xr", "0xt", 41)
    assert run.anchor_final is False
    assert (run.anchor_block_hash, run.anchor_seen_at) == (None, None)
    indexes = {i["name"] for i in inspect(engine).get_indexes("audit_run")}
    assert "ix_audit_run_anchor_final" in indexes
