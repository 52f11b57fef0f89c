"""Intake: every bad ballot or delegation is refused with its code before any gas is spent."""

from __future__ import annotations

import threading

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, func, select
from web3 import Web3
from web3.logs import DISCARD

from core.errors import FairgovError
from governance.actions import SetMitigation
from governance.chain import deploy
from governance.chain.node import Sender, call_data
from governance.chain.view import RpcChainView
from governance.errors import BallotConflict, CallAlreadyHeld
from governance.intake.service import (
    governor_domain,
    next_transaction_nonce,
    submit_ballot,
    submit_ballots,
    submit_delegation,
    submit_raw_proposal,
    token_domain,
)
from governance.messages.ballots import Ballot, Delegation
from governance.messages.proposals import prepare_proposal
from governance.relay.outbox import RelayItem, RelayStatus
from tests.helpers import HOLDER_KEYS, Governance, address_of, advance_time, mine
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal, relayer_for
from tests.voters import signed_ballot, signed_delegation


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


@pytest.fixture
def chain_view(gov: Governance, deployment: deploy.Deployment) -> RpcChainView:
    return RpcChainView.for_deployment(gov.w3, deployment)


def _rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RelayItem)).one())


def _relayer_tx_count(w3: Web3) -> int:
    return w3.eth.get_transaction_count(address_of(RELAYER_KEY))


def test_a_valid_ballot_is_queued_relayed_and_counted(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    ballot = signed_ballot(governor_domain(deployment), HOLDER_KEYS[1], proposal_id, support=0)
    with Session(engine) as session:
        item, created = submit_ballot(session, ballot, deployment=deployment, chain=chain_view)
    assert created
    assert item.status == RelayStatus.QUEUED
    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert report.confirmed == 1
    voter = address_of(HOLDER_KEYS[1])
    assert gov.governor.functions.hasVoted(proposal_id, voter).call()
    against, _, _ = gov.governor.functions.proposalVotes(proposal_id).call()
    assert against == gov.token.functions.balanceOf(voter).call()
    with Session(engine) as session:
        stored = session.get(RelayItem, item.id)
        assert stored is not None
        assert stored.status == RelayStatus.CONFIRMED
        assert stored.block_number is not None


def test_an_extended_ballot_with_a_reason_is_relayed(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    ballot = signed_ballot(
        governor_domain(deployment), HOLDER_KEYS[2], proposal_id, reason="fair enough"
    )
    with Session(engine) as session:
        submit_ballot(session, ballot, deployment=deployment, chain=chain_view)
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    logs = gov.governor.events.VoteCast().get_logs(from_block=0)
    assert [log["args"]["reason"] for log in logs] == ["fair enough"]


def _expect_refusal(
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
    chain_view: RpcChainView,
    *,
    message: Ballot | Delegation,
    code: str,
) -> FairgovError:
    before = _relayer_tx_count(gov.w3)
    with Session(engine) as session:
        if isinstance(message, Ballot):
            with pytest.raises(FairgovError) as info:
                submit_ballot(session, message, deployment=deployment, chain=chain_view)
        else:
            with pytest.raises(FairgovError) as info:
                submit_delegation(session, message, deployment=deployment, chain=chain_view)
    assert info.value.code == code
    assert _rows(engine) == 0
    assert _relayer_tx_count(gov.w3) == before
    return info.value


def test_bad_ballots_are_refused_with_their_codes(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    domain = governor_domain(deployment)
    proposal_id = open_proposal(gov)
    ok = signed_ballot(domain, HOLDER_KEYS[0], proposal_id)
    cases = {
        "signer_mismatch": ok.model_copy(update={"voter": address_of(HOLDER_KEYS[1])}),
        "wrong_nonce": signed_ballot(domain, HOLDER_KEYS[0], proposal_id, nonce=5),
        "invalid_support": ok.model_copy(update={"support": 7}),
        "unknown_proposal": signed_ballot(domain, HOLDER_KEYS[0], 12345),
        "wrong_chain": ok.model_copy(update={"chain_id": 5}),
        "no_voting_power": signed_ballot(domain, "0x" + "5a" * 32, proposal_id),
    }
    for code, ballot in cases.items():
        _expect_refusal(engine, gov, deployment, chain_view, message=ballot, code=code)


def test_a_ballot_on_a_pending_proposal_is_not_active(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    gov.delegate_all_to_self()
    data = gov.policy.encode_abi("setMitigation", args=[b"none".ljust(32, b"\0"), b"\0" * 32])
    receipt = gov.send(
        HOLDER_KEYS[0], gov.governor, "propose", [gov.policy.address], [0], [data], "pending"
    )
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    ballot = signed_ballot(
        governor_domain(deployment), HOLDER_KEYS[0], created["args"]["proposalId"]
    )
    refused = _expect_refusal(
        engine, gov, deployment, chain_view, message=ballot, code="proposal_not_active"
    )
    # It says when voting opens (a voter right after `propose` was told only "no").
    snapshot = gov.governor.functions.proposalSnapshot(created["args"]["proposalId"]).call()
    assert refused.details["snapshot"] == snapshot
    assert f"voting opens once the chain is past block {snapshot}" in refused.message


def test_a_voter_who_voted_directly_is_already_voted(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    gov.send(HOLDER_KEYS[3], gov.governor, "castVote", proposal_id, 1)
    ballot = signed_ballot(governor_domain(deployment), HOLDER_KEYS[3], proposal_id)
    _expect_refusal(engine, gov, deployment, chain_view, message=ballot, code="already_voted")


def test_tokens_received_after_the_snapshot_give_no_voting_power(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    late = Account.create()
    gov.send(HOLDER_KEYS[0], gov.token, "transfer", late.address, 10**21)
    gov.w3.provider.make_request("anvil_setBalance", [late.address, hex(10**18)])  # type: ignore[arg-type]
    gov.send(late.key.to_0x_hex(), gov.token, "delegate", late.address)
    mine(gov.w3)
    ballot = signed_ballot(governor_domain(deployment), late.key.to_0x_hex(), proposal_id)
    _expect_refusal(engine, gov, deployment, chain_view, message=ballot, code="no_voting_power")


def test_the_same_ballot_twice_gives_one_record_and_one_transaction(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    ballot = signed_ballot(domain, HOLDER_KEYS[0], proposal_id)
    # Same vote, another valid signature: an ExtendedBallot over the same choice.
    equivalent = signed_ballot(domain, HOLDER_KEYS[0], proposal_id, reason="")
    assert equivalent.signature != ballot.signature
    with Session(engine) as session:
        first, created = submit_ballot(session, ballot, deployment=deployment, chain=chain_view)
        again, created_again = submit_ballot(
            session, ballot, deployment=deployment, chain=chain_view
        )
        twin, created_twin = submit_ballot(
            session, equivalent, deployment=deployment, chain=chain_view
        )
    assert created
    assert not created_again
    assert not created_twin
    assert first.id == again.id == twin.id
    before = _relayer_tx_count(gov.w3)
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert _relayer_tx_count(gov.w3) == before + 1


def test_a_different_ballot_from_a_voter_who_already_voted_is_a_conflict(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    first = signed_ballot(domain, HOLDER_KEYS[0], proposal_id, reason="fairness first")
    against = signed_ballot(domain, HOLDER_KEYS[0], proposal_id, support=0, reason="changed")
    other_reason = signed_ballot(domain, HOLDER_KEYS[0], proposal_id, reason="another reason")
    with Session(engine) as session:
        item, _ = submit_ballot(session, first, deployment=deployment, chain=chain_view)
        for changed in (against, other_reason):
            with pytest.raises(BallotConflict) as info:
                submit_ballot(session, changed, deployment=deployment, chain=chain_view)
            assert info.value.code == "ballot_conflict"
            assert info.value.details == {
                "proposal_id": str(proposal_id),
                "voter": first.voter,
                "support": 1,
                "reason": "fairness first",
                "relay_id": item.id,
            }
    assert _rows(engine) == 1


def test_two_different_ballots_in_one_batch_keep_the_first(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    ballots = [
        signed_ballot(domain, HOLDER_KEYS[1], proposal_id, support=1),
        signed_ballot(domain, HOLDER_KEYS[1], proposal_id, support=2),
        signed_ballot(domain, HOLDER_KEYS[1], proposal_id, support=1),
    ]
    with Session(engine) as session:
        kept, conflict, same = submit_ballots(
            session, ballots, deployment=deployment, chain=chain_view
        )
    assert isinstance(kept, RelayItem)
    assert same is kept
    assert isinstance(conflict, BallotConflict)
    assert (conflict.details["support"], conflict.details["relay_id"]) == (1, None)
    assert _rows(engine) == 1


def test_twenty_identical_ballots_at_once_give_one_transaction(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    proposal_id = open_proposal(gov)
    ballot = signed_ballot(governor_domain(deployment), HOLDER_KEYS[1], proposal_id)
    ids: list[int | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(20)

    def submit() -> None:
        view = RpcChainView.for_deployment(gov.w3, deployment)
        try:
            start.wait()
            with Session(engine) as session:
                item, _ = submit_ballot(session, ballot, deployment=deployment, chain=view)
                ids.append(item.id)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ids) == 20
    assert len(set(ids)) == 1
    assert _rows(engine) == 1
    before = _relayer_tx_count(gov.w3)
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert _relayer_tx_count(gov.w3) == before + 1


def test_a_delegation_is_verified_and_relayed(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    delegator = HOLDER_KEYS[2]
    delegatee = address_of(HOLDER_KEYS[0])
    delegation = signed_delegation(token_domain(deployment), delegator, delegatee)
    with Session(engine) as session:
        _, created = submit_delegation(session, delegation, deployment=deployment, chain=chain_view)
    assert created
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert gov.token.functions.delegates(address_of(delegator)).call() == delegatee


def test_a_delegation_that_failed_on_its_way_does_not_lock_the_delegator_out(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    """Review (session 23): a delegation accepted with an expiry that passed before it was
    relayed failed, and kept its nonce's key: the typed data offered that nonce again, every
    delegation with it was a conflict and the next nonce was wrong_nonce, for good."""
    domain = token_domain(deployment)
    delegator, delegatee = HOLDER_KEYS[2], address_of(HOLDER_KEYS[0])
    soon = int(gov.w3.eth.get_block("latest")["timestamp"]) + 5
    with Session(engine) as session:
        late = signed_delegation(domain, delegator, delegatee, expiry=soon)
        submit_delegation(session, late, deployment=deployment, chain=chain_view)
    advance_time(gov.w3, 60)
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    with Session(engine) as session:
        (failed,) = session.exec(select(RelayItem)).all()
        assert (failed.status, failed.error_code) == (RelayStatus.FAILED, "delegation_expired")
        again = signed_delegation(domain, delegator, delegatee)  # the same nonce, 0
        item, created = submit_delegation(session, again, deployment=deployment, chain=chain_view)
        assert created
        assert item.id != failed.id
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert gov.token.functions.delegates(address_of(delegator)).call() == delegatee


def test_a_ballot_that_failed_on_its_way_does_not_lock_the_voter_out(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    """The same for a ballot: its key (voter and proposal) answered every later ballot."""
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    voter = HOLDER_KEYS[1]
    with Session(engine) as session:
        first = signed_ballot(domain, voter, proposal_id)
        submit_ballot(session, first, deployment=deployment, chain=chain_view)
        (item,) = session.exec(select(RelayItem)).all()
        item.status, item.error_code = RelayStatus.FAILED, "reverted"  # failed on its way
        session.add(item)
        session.commit()
        again = signed_ballot(domain, voter, proposal_id, support=0)
        (result,) = submit_ballots(session, [again], deployment=deployment, chain=chain_view)
        assert isinstance(result, RelayItem), result
        assert result.id != item.id
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert gov.governor.functions.hasVoted(proposal_id, address_of(voter)).call()


def test_bad_delegations_are_refused_with_their_codes(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, chain_view: RpcChainView
):
    domain = token_domain(deployment)
    delegator = HOLDER_KEYS[2]
    delegatee = address_of(HOLDER_KEYS[0])
    signed = signed_delegation(domain, delegator, delegatee)
    cases = {
        # ERC20Votes would recover another address and delegate *its* votes: refused here.
        "signer_mismatch": signed.model_copy(update={"delegatee": address_of(HOLDER_KEYS[3])}),
        "wrong_nonce": signed_delegation(domain, delegator, delegatee, nonce=4),
        "delegation_expired": signed_delegation(domain, delegator, delegatee, expiry=1000),
        "wrong_verifying_contract": signed.model_copy(
            update={"verifying_contract": deployment.addresses.governor}
        ),
    }
    for code, delegation in cases.items():
        _expect_refusal(engine, gov, deployment, chain_view, message=delegation, code=code)


def test_a_proposer_signed_proposal_is_checked_queued_and_broadcast(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    prepared = prepare_proposal(
        gov.w3,
        deployment,
        proposer=address_of(HOLDER_KEYS[0]),
        actions=[SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity")],
        description="Mitigate with a threshold optimizer",
    )
    raw = bytes(Account.sign_transaction(prepared.transaction, HOLDER_KEYS[0]).raw_transaction)
    with Session(engine) as session:
        item, proposal = submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
        again, _ = submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
    assert again.id == item.id
    assert proposal.proposal_id == prepared.proposal_id
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    assert gov.governor.functions.proposalProposer(prepared.proposal_id).call() == proposal.proposer


def test_the_same_proposal_signed_twice_is_refused_while_the_first_is_on_its_way(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    """Review (session 23): the same proposal prepared and signed again (its next nonce) was
    accepted beside the first; once the first was mined the second reverted, and its signer
    paid 61,379 gas. The same held for a guardian's cancel sent twice."""
    proposer = HOLDER_KEYS[0]
    signed = []
    with Session(engine) as session:
        for _ in range(2):
            prepared = prepare_proposal(
                gov.w3,
                deployment,
                proposer=address_of(proposer),
                actions=[
                    SetMitigation(strategy="threshold_optimizer", constraint="equalized_odds")
                ],
                description="Mitigate for equalized odds",
                nonce=next_transaction_nonce(session, gov.w3, deployment, address_of(proposer)),
            )
            raw = bytes(Account.sign_transaction(prepared.transaction, proposer).raw_transaction)
            signed.append(raw)
            if len(signed) == 1:
                first, _ = submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
                first_id = first.id
        with pytest.raises(CallAlreadyHeld) as refused:
            submit_raw_proposal(session, signed[1], w3=gov.w3, deployment=deployment)
    assert refused.value.code == "call_already_held"
    assert refused.value.details["relay_id"] == first_id
    assert _rows(engine) == 1
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1


def test_a_raw_transaction_that_is_not_a_proposal_is_refused_before_sending(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    sender = Sender.from_key(gov.w3, HOLDER_KEYS[0])
    transfer = call_data(gov.token, "transfer", [address_of(HOLDER_KEYS[1]), 1]) | {
        "gas": 100_000,
        "nonce": sender.nonce,
        "chainId": deployment.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    raw = bytes(Account.sign_transaction(transfer, HOLDER_KEYS[0]).raw_transaction)
    with Session(engine) as session, pytest.raises(FairgovError) as info:
        submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
    assert info.value.code == "not_our_governor"
    assert _rows(engine) == 0


def test_two_proposals_with_one_nonce_at_once_keep_one(
    engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    key = HOLDER_KEYS[1]
    raws = []
    for text in ("Mitigate, take one", "Mitigate, take two"):
        prepared = prepare_proposal(
            gov.w3,
            deployment,
            proposer=address_of(key),
            actions=[
                SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity")
            ],
            description=text,
        )
        raws.append(bytes(Account.sign_transaction(prepared.transaction, key).raw_transaction))
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def submit(raw: bytes) -> None:
        start.wait()
        try:
            with Session(engine) as session:
                submit_raw_proposal(session, raw, w3=gov.w3, deployment=deployment)
            outcomes.append("accepted")
        except FairgovError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=submit, args=(raw,)) for raw in raws]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["accepted", "wrong_transaction_nonce"]
    assert _rows(engine) == 1
