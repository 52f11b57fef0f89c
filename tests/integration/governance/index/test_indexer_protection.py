"""The index records each proposal's classification and the governor's protection, and keeps
both equal to the chain across reorganisations."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from governance import actions
from governance.chain import deploy
from governance.index.indexer import Indexer, get_proposal, indexed_protection
from governance.protection import read_protection
from tests.helpers import (
    HOLDER_KEYS,
    TEST_CONFIG,
    Governance,
    address_of,
    mine,
    pass_and_execute_encoded,
)
from tests.integration.governance.index.test_indexer import assert_matches_chain, dump
from tests.integration.governance.protection_support import (
    FORTY_AGAINST,
    SIXTY_FOR,
    propose,
)

pytestmark = pytest.mark.chain

DP = "demographic_parity_difference"
BOUND = actions.SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper")


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    return gov


def test_each_proposal_keeps_its_classification_and_the_supermajority_it_needs(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    tightening, _ = propose(gov, [BOUND, actions.SetMitigation(strategy="none")], "Tighten")
    loosening, _ = propose(
        gov, [actions.SetSupermajority(numerator=3, denominator=5)], "Lower the bar"
    )
    report = Indexer(engine, gov.w3, deployment).sync()
    assert report.events_by_name["ProposalClassified"] == 2
    with Session(engine) as session:
        tight, loose = get_proposal(session, tightening), get_proposal(session, loosening)
        assert tight is not None
        assert loose is not None
        assert (tight.loosening, tight.changes_list()) == (False, ["none", "none"])
        assert (loose.loosening, loose.changes_list()) == (True, ["protection_changed"])
        assert (loose.supermajority_numerator, loose.supermajority_denominator) == ("2", "3")
        # The longer vote of a loosening proposal is the one ProposalCreated announced.
        assert loose.vote_end - loose.snapshot == deployment.config.loosening_voting_period
        assert tight.vote_end - tight.snapshot == TEST_CONFIG.voting_period


def test_sixty_percent_passes_a_tightening_but_not_a_loosening_proposal_as_on_chain(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    pass_and_execute_encoded(gov, *actions.encode([BOUND], deployment.addresses), "A bound")
    raised = BOUND.model_copy(update={"value": Decimal("0.3")})
    lowered = BOUND.model_copy(update={"value": Decimal("0.05")})
    loosening, _ = propose(gov, [raised], "Raise the bound")
    tightening, _ = propose(gov, [lowered], "Lower the bound")
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    for proposal_id in (loosening, tightening):
        for key in SIXTY_FOR:
            gov.send(key, gov.governor, "castVote", proposal_id, 1)
        for key in FORTY_AGAINST:
            gov.send(key, gov.governor, "castVote", proposal_id, 0)
    deadline = gov.governor.functions.proposalDeadline(loosening).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    Indexer(engine, gov.w3, deployment).sync()
    assert_matches_chain(engine, gov)
    with Session(engine) as session:
        loose, tight = get_proposal(session, loosening), get_proposal(session, tightening)
        assert loose is not None
        assert tight is not None
        assert (loose.state, tight.state) == ("Defeated", "Succeeded")
        assert loose.for_votes == tight.for_votes
        assert int(loose.for_votes) * 10 == (int(loose.for_votes) + int(loose.against_votes)) * 6


def test_protection_changes_are_indexed_from_the_constructor_on(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    indexer = Indexer(engine, gov.w3, deployment)
    indexer.sync()
    with Session(engine) as session:
        initial = indexed_protection(session)
    assert initial is not None
    assert initial.guardian == deployment.config.guardian
    assert initial.supermajority == Fraction(2, 3)
    assert initial.loosening_voting_period == deployment.config.loosening_voting_period

    changes = [
        actions.SetSupermajority(numerator=3, denominator=4),
        actions.SetLooseningVotingPeriod(blocks=50),
        actions.SetGuardian(guardian=None),
    ]
    pass_and_execute_encoded(gov, *actions.encode(changes, deployment.addresses), "Protect")
    indexer.sync()
    on_chain = read_protection(gov.w3, deployment.addresses)
    with Session(engine) as session:
        now = indexed_protection(session)
    assert now is not None
    assert (
        (now.guardian, now.supermajority, now.loosening_voting_period)
        == (
            on_chain.guardian,
            on_chain.supermajority,
            on_chain.loosening_voting_period,
        )
        == (None, Fraction(3, 4), 50)
    )


def test_a_reorg_keeps_classifications_and_protection_equal_to_a_resync(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    w3 = gov.w3
    kept, _ = propose(gov, [actions.SetGuardian(guardian=address_of(HOLDER_KEYS[3]))], "Kept")
    mine(w3, 2)
    indexer = Indexer(engine, w3, deployment)
    indexer.sync()
    fork = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    doomed, _ = propose(gov, [actions.ClearThreshold(metric=DP)], "Doomed")
    gov.send(HOLDER_KEYS[0], gov.governor, "castVote", kept, 1)
    pass_and_execute_encoded(
        gov,
        *actions.encode(
            [actions.SetSupermajority(numerator=4, denominator=5)], deployment.addresses
        ),
        "Doomed protection change",
    )
    indexer.sync()
    with Session(engine) as session:
        assert indexed_protection(session).supermajority == Fraction(4, 5)  # type: ignore[union-attr]
    w3.provider.make_request("evm_revert", [fork])  # type: ignore[arg-type]
    gov.send(HOLDER_KEYS[1], gov.governor, "castVote", kept, 0)  # touches the kept proposal
    survivor, _ = propose(gov, [BOUND], "Survivor", key=HOLDER_KEYS[1])
    mine(w3, 3)
    report = indexer.sync()
    assert report.reorgs == 1
    after = dump(engine)
    with Session(engine) as session:
        assert get_proposal(session, doomed) is None
        k = get_proposal(session, kept)
        s = get_proposal(session, survivor)
        assert k is not None
        assert s is not None
        assert (k.loosening, k.changes_list()) == (True, ["protection_changed"])
        assert (s.loosening, s.changes_list()) == (False, ["none"])
        assert indexed_protection(session).supermajority == Fraction(2, 3)  # type: ignore[union-attr]
    assert after["protection_event"]
    assert after["proposal"]
    assert_matches_chain(engine, gov)
    indexer.resync()
    assert dump(engine) == after
