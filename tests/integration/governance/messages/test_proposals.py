"""Preparing, signing and executing proposals against a real anvil chain."""

from __future__ import annotations

from decimal import Decimal

import pytest
from web3 import Web3
from web3.logs import DISCARD

from governance.actions import (
    Action,
    ClearThreshold,
    GrantAuditor,
    RawCall,
    RevokeAuditor,
    RevokeDataset,
    SetLateQuorumVoteExtension,
    SetMitigation,
    SetProposalThreshold,
    SetThreshold,
    SetVotingDelay,
    SetVotingPeriod,
    UpdateQuorumNumerator,
    decode,
    encode,
)
from governance.chain import deploy
from governance.errors import (
    BelowProposalThreshold,
    EmptyProposal,
    ProposalExists,
    RestrictedProposer,
)
from governance.messages.proposals import proposal_id_of
from governance.messages.signed_proposals import inspect_raw_proposal
from tests.helpers import (
    HOLDER_KEYS,
    PENDING,
    SECOND_PROVIDER_KEY,
    Governance,
    address_of,
    allow_raw,
    pass_and_execute_encoded,
)
from tests.integration.governance.messages.proposal_support import (
    AUDITOR,
    DP,
    H1,
    H2,
    H3,
    NEWCOMER,
    PROPOSER,
    policy_actions,
    prepare,
    signed,
)


def test_a_prepared_proposal_signed_by_a_holder_lands_with_the_predicted_id(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    prepared = prepare(w3, deployment)
    assert prepared.description.endswith(f"#proposer={PROPOSER}")
    assert prepared.transaction["to"] == gov.governor.address
    assert prepared.transaction["chainId"] == deployment.chain_id
    raw = signed(prepared.transaction)

    checked = inspect_raw_proposal(w3, deployment, raw)
    assert checked.proposal_id == prepared.proposal_id
    assert checked.proposer == PROPOSER
    assert list(checked.actions) == policy_actions(deployment)

    tx_hash = w3.eth.send_raw_transaction(raw)
    assert tx_hash.to_0x_hex() == checked.tx_hash
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    event = created["args"]
    assert event["proposalId"] == prepared.proposal_id
    assert event["proposer"] == PROPOSER
    assert event["description"] == prepared.description
    assert gov.governor.functions.state(prepared.proposal_id).call() == PENDING
    on_chain_calls = (event["targets"], event["values"], event["calldatas"])
    assert decode(*on_chain_calls, deployment.addresses) == policy_actions(deployment)
    description_hash = Web3.keccak(text=prepared.description)
    assert (
        gov.governor.functions.hashProposal(*on_chain_calls, description_hash).call()
        == proposal_id_of(*on_chain_calls, prepared.description)
        == prepared.proposal_id
    )


def test_an_executed_proposal_changes_what_its_actions_say(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    loans = allow_raw(w3, deployment, "loans-v1", H1, H2, "file://loans.csv")
    old = allow_raw(w3, deployment, "old-v0", H2, H3, "file://old.csv", SECOND_PROVIDER_KEY)
    actions: list[Action] = [
        loans,
        old,
        RevokeDataset(dataset_id=old.dataset_id),
        SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper"),
        SetThreshold(metric="equalized_odds_ratio", value=Decimal("0.8"), direction="lower"),
        ClearThreshold(metric=DP),
        SetMitigation(strategy="threshold_optimizer", constraint="equalized_odds"),
        SetVotingDelay(blocks=3),
        SetVotingPeriod(blocks=25),
        SetProposalThreshold(tokens=1_000),
        UpdateQuorumNumerator(percent=10),
        SetLateQuorumVoteExtension(blocks=4),
        GrantAuditor(account=NEWCOMER),
        RevokeAuditor(account=AUDITOR),
    ]
    targets, values, calldatas = encode(actions, deployment.addresses)
    decoded = decode(targets, values, calldatas, deployment.addresses)
    assert decoded[:2] == [
        loans.model_copy(update={"name": None}),
        old.model_copy(update={"name": None}),
    ]
    assert decoded[2:] == actions[2:]
    pass_and_execute_encoded(gov, targets, values, calldatas, "Everything at once")

    policy = gov.policy.functions
    assert policy.policyVersion().call() == 7  # seven policy actions
    assert policy.isAllowed(bytes.fromhex(loans.dataset_id[2:])).call()
    assert policy.allowedDatasetIds().call() == [bytes.fromhex(loans.dataset_id[2:])]
    assert len(policy.datasetIds().call()) == 2
    assert policy.thresholds().call() == [
        [b"equalized_odds_ratio".ljust(32, b"\0")],
        [800_000],
        [1],
    ]
    assert policy.mitigation().call() == [
        b"threshold_optimizer".ljust(32, b"\0"),
        b"equalized_odds".ljust(32, b"\0"),
    ]
    governor = gov.governor.functions
    assert governor.votingDelay().call() == 3
    assert governor.votingPeriod().call() == 25
    assert governor.proposalThreshold().call() == 1_000 * 10**18
    assert governor.quorumNumerator().call() == 10
    assert governor.lateQuorumVoteExtension().call() == 4
    role = gov.registry.functions.AUDITOR_ROLE().call()
    assert gov.registry.functions.hasRole(role, NEWCOMER).call()
    assert not gov.registry.functions.hasRole(role, AUDITOR).call()


def test_a_proposer_below_the_threshold_is_refused_before_signing(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    raise_threshold = [SetProposalThreshold(tokens=1_000)]
    pass_and_execute_encoded(gov, *encode(raise_threshold, deployment.addresses), "Threshold")

    with pytest.raises(BelowProposalThreshold) as caught:
        prepare(isolated_chain, deployment, proposer=NEWCOMER)
    assert caught.value.code == "below_proposal_threshold"
    assert caught.value.details == {
        "proposer": NEWCOMER,
        "votes": 0,
        "threshold": 1_000 * 10**18,
    }
    # A holder with delegated votes may still propose.
    assert prepare(isolated_chain, deployment).proposal_id > 0


def test_the_same_proposal_twice_is_refused(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    prepared = prepare(w3, deployment)
    raw = signed(prepared.transaction)
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw))

    with pytest.raises(ProposalExists) as caught:
        prepare(w3, deployment)
    assert caught.value.details["proposal_id"] == str(prepared.proposal_id)
    with pytest.raises(ProposalExists):
        inspect_raw_proposal(w3, deployment, raw)
    assert inspect_raw_proposal(w3, deployment, raw, check_state=False).proposal_id == (
        prepared.proposal_id
    )


def test_a_proposal_needs_actions(isolated_chain: Web3, deployment: deploy.Deployment) -> None:
    with pytest.raises(EmptyProposal):
        prepare(isolated_chain, deployment, actions=[])


def test_a_description_reserved_for_someone_else_is_refused(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    other = address_of(HOLDER_KEYS[1])
    with pytest.raises(RestrictedProposer):
        prepare(isolated_chain, deployment, description=f"Mine#proposer={other}")
    # The proposer's own suffix, in any case, is kept as it is, not doubled.
    own = f"Mine#proposer={PROPOSER.lower()}"
    assert prepare(isolated_chain, deployment, description=own).description == own


def test_raw_calls_survive_a_round_trip_through_the_chain(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    ping = RawCall(target=gov.token.address, calldata=gov.token.encode_abi("decimals"))
    prepared = prepare(w3, deployment, actions=[ping, *policy_actions(deployment)])
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(signed(prepared.transaction))
    )
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    args = created["args"]
    decoded = decode(args["targets"], args["values"], args["calldatas"], deployment.addresses)
    assert decoded == [ping, *policy_actions(deployment)]
