"""Consent through the DAO: a proposal carries the provider's signed offer, the timelock executes
it, and the provider withdraws without one."""

from brownie import chain
from consent import Provider
from dao import TIMELOCK_DELAY, State, action, latest_time, offer
from reverts import assert_custom_error
from signing import Signer


def allow(policy, made, signature):
    return action(policy.allowDataset, made.args(), signature)


def test_a_proposal_carrying_an_offer_allows_the_dataset(lifecycle, policy, provider):
    made = offer("loans", provider.address)

    _, tx = lifecycle.pass_and_execute([allow(policy, made, provider.sign(policy, made))])

    event = tx.events["DatasetAllowed"]
    assert (event["provider"], tuple(event["offer"]), event["policyVersion"]) == (
        provider.address,
        made.args(),
        1,
    )
    assert policy.getDataset(made.dataset_id).dict() == made.record()

    withdrawn = provider.withdraw(policy, made.dataset_id)  # no proposal, no vote

    assert withdrawn.events["DatasetWithdrawn"]["revoked"] is True
    assert policy.allowedDatasetIds() == []
    assert policy.policyVersion() == 2


def test_a_withdrawal_cancels_an_offer_queued_in_a_proposal(lifecycle, governor, policy, provider):
    made = offer("loans", provider.address)
    proposal = lifecycle.pass_proposal([allow(policy, made, provider.sign(policy, made))])
    lifecycle.queue(proposal)
    withdrawn_at = provider.withdraw(policy, made.dataset_id).timestamp
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        "TrainingPolicyConsentWithdrawn(bytes32,uint64,uint64)",
        made.dataset_id,
        made.issued_at,
        withdrawn_at,
    )
    assert governor.state(proposal.id) == State.QUEUED
    assert policy.datasetIds() == []


def test_a_vote_cannot_allow_data_its_provider_never_offered(
    lifecycle, governor, policy, eoa_provider, holders
):
    """Even a unanimous vote: the proposer signed the offer in the provider's name."""
    made = offer("loans", eoa_provider.address)
    forged = Provider(Signer.named("proposer"), holders[0]).sign(policy, made)
    proposal = lifecycle.pass_proposal([allow(policy, made, forged)])
    lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        made.dataset_id,
        eoa_provider.address,
    )
    assert governor.state(proposal.id) == State.QUEUED


def test_an_offer_must_outlive_the_vote_and_the_timelock(lifecycle, policy, eoa_provider):
    deadline = latest_time() + TIMELOCK_DELAY // 2
    made = offer("loans", eoa_provider.address, deadline=deadline)
    proposal = lifecycle.pass_proposal([allow(policy, made, eoa_provider.sign(policy, made))])
    lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal),
        "TrainingPolicyOfferExpired(bytes32,uint64)",
        made.dataset_id,
        deadline,
    )


def test_two_providers_offering_one_id_the_first_executed_keeps_it(
    lifecycle, governor, policy, eoa_provider, wallet_provider
):
    """Dataset ids are names (keccak256), so an id is squatted by whoever's offer the DAO
    executes first. The contract refuses the second; telling the rightful provider from a
    squatter is the voters' job, with the provider's address in the proposal."""
    proposals = []
    for provider in (wallet_provider, eoa_provider):
        made = offer("loans", provider.address)
        signature = provider.sign(policy, made)
        proposals.append(
            lifecycle.pass_proposal(
                [allow(policy, made, signature)], f"loans by {provider.address}"
            )
        )
    for proposal in proposals:
        lifecycle.queue(proposal)
    chain.sleep(TIMELOCK_DELAY + 1)
    lifecycle.execute(proposals[0])

    assert_custom_error(
        lambda: lifecycle.execute(proposals[1]),
        "TrainingPolicyNotProvider(bytes32,address)",
        made.dataset_id,
        eoa_provider.address,
    )
    assert policy.getDataset(made.dataset_id)["provider"] == wallet_provider.address
    assert governor.state(proposals[1].id) == State.QUEUED
