"""Migration 0006: an outbox accepted before it keeps every row, none of them final."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import Session, select

from core import db
from governance.relay.outbox import RelayItem, RelayStatus


def test_rows_accepted_before_the_migration_are_kept_and_checked_again(tmp_path: Path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'fairgov.db'}")
    db.upgrade(engine, "0005")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO relay_item (kind, dedupe_key, chain_id, contract, signer, payload,"
                " status, attempts, block_number, created_at, updated_at) VALUES ('ballot',"
                " 'ballot:old', 31337, '0xc', '0xs', '{}', 'confirmed', 1, 7,"
                " '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
            )
        )
    db.upgrade(engine)
    with Session(engine) as session:
        (item,) = session.exec(select(RelayItem)).all()
    assert (item.dedupe_key, item.status, item.block_number) == ("ballot:old", "confirmed", 7)
    assert item.status == RelayStatus.CONFIRMED
    assert item.final is False  # the relayer checks it against the chain once more
    assert item.block_hash is None
    indexes = {i["name"] for i in inspect(engine).get_indexes("relay_item")}
    assert "ix_relay_item_status_final" in indexes
