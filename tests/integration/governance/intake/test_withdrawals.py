"""A withdrawal that would change nothing is refused before any gas, unless an open proposal
offers the dataset (withdrawing then voids that offer)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from governance.chain import deploy
from governance.errors import WithdrawalChangesNothing
from governance.index.models import Proposal
from governance.intake.withdrawals import check_withdrawal_target

pytestmark = pytest.mark.chain

DATASET = "0x" + "5d" * 32


def _indexed_offer(engine: Engine, state: str) -> None:
    offer = {"dataset_id": DATASET, "content_hash": "0x" + "12" * 32}
    proposal = Proposal(
        proposal_id="7",
        proposer="0x" + "11" * 20,
        description="allow it",
        description_hash="0x" + "22" * 32,
        calls=json.dumps({"targets": [], "values": [], "calldatas": []}),
        actions=json.dumps([{"kind": "allow_dataset", "offer": offer}]),
        snapshot=1,
        vote_end=2,
        deadline=2,
        state=state,
        created_block=1,
        created_log_index=0,
        tx_hash="0x" + "33" * 32,
    )
    with Session(engine) as session:
        session.merge(proposal)
        session.commit()


@pytest.mark.parametrize("state", ["Pending", "Active", "Succeeded", "Queued"])
def test_a_dataset_an_open_proposal_offers_may_be_withdrawn(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, state: str
):
    with Session(engine) as session, pytest.raises(WithdrawalChangesNothing):
        check_withdrawal_target(session, isolated_chain, deployment, DATASET)
    _indexed_offer(engine, state)
    with Session(engine) as session:
        check_withdrawal_target(session, isolated_chain, deployment, DATASET)


@pytest.mark.parametrize("state", ["Executed", "Defeated", "Canceled", "Expired"])
def test_a_closed_proposal_does_not_make_a_withdrawal_useful(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, state: str
):
    _indexed_offer(engine, state)
    with Session(engine) as session, pytest.raises(WithdrawalChangesNothing) as refused:
        check_withdrawal_target(session, isolated_chain, deployment, DATASET.upper())
    assert refused.value.code == "withdrawal_target_unknown"
