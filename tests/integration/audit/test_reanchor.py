"""audit.reanchor: an anchor is read from the registry on every pass until it is final, and
then no more, so a pass costs reads for the recent anchors only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord
from audit.reanchor import reanchor_lost
from governance.chain import deploy
from tests.helpers import mine
from tests.integration.audit.audit_support import AUDITOR_KEY
from tests.integration.audit.rewards.service_support import approved_run, offer_dataset
from tests.integration.governance.rewards.rewards_support import ALICE_KEY
from tests.integration.scheduler.test_jobs import make_context

pytestmark = pytest.mark.chain


def _row(engine: Engine, run_id: str) -> AuditRunRecord:
    with Session(engine) as session:
        return session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run_id)).one()


def test_an_anchor_is_final_once_deep_and_seen_long_enough_and_then_read_no_more(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
) -> None:
    w3 = isolated_chain
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    env = make_context(engine, w3, deployment, tmp_path).audit
    anchor = read_anchor(w3, deployment.addresses.audit_registry, run.run_id)
    assert anchor is not None

    first = reanchor_lost(env, AUDITOR_KEY, depth=12)
    row = _row(engine, run.run_id)
    assert (first.checked, first.restored, first.failed) == (1, (), ())
    assert row.anchor_block == anchor.block_number
    assert row.anchor_block_hash == w3.eth.get_block(anchor.block_number)["hash"].to_0x_hex()
    assert not row.anchor_final  # not deep yet

    mine(w3, 12)
    waiting = reanchor_lost(env, AUDITOR_KEY, depth=12, final_after=timedelta(hours=1))
    assert waiting.checked == 1
    assert not _row(engine, run.run_id).anchor_final  # deep, but seen for less than an hour

    deep = reanchor_lost(env, AUDITOR_KEY, depth=12)
    assert deep.checked == 1
    assert _row(engine, run.run_id).anchor_final
    assert reanchor_lost(env, AUDITOR_KEY, depth=12).checked == 0
