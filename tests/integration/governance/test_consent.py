"""An offer is refused before any gas is spent when no vote could execute it in time."""

from __future__ import annotations

import secrets

import pytest
from web3 import Web3

from governance.actions import AllowDataset, ClearThreshold, DatasetOffer
from governance.chain import deploy
from governance.consent import check_offers, earliest_execution, sign_offer
from governance.errors import ContentRegistered, OfferExpired, OfferExpiresBeforeExecution
from tests.helpers import PROVIDER_KEY, address_of, issue_time

pytestmark = [pytest.mark.chain]


def _offer(w3: Web3, deployment: deploy.Deployment, *, deadline: int) -> AllowDataset:
    issued_at, name = issue_time(w3), f"loans-{secrets.token_hex(4)}"
    offer = DatasetOffer.for_name(
        name,
        content_hash="0x" + "12" * 32,
        manifest_hash="0x" + "34" * 32,
        records_root="0x" + "ab" * 32,
        uri="file:loans.csv",
        provider=address_of(PROVIDER_KEY),
        issued_at=issued_at,
        deadline=deadline,
    )
    return sign_offer(offer, PROVIDER_KEY, deployment, name=name)


def test_an_offer_that_expires_before_any_vote_could_execute_it_is_refused(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    """The policy would accept this offer now, but no proposal can execute before its
    voting delay, voting period and timelock delay: every holder's propose, vote and queue
    transaction would be spent on an execution that must revert TrainingPolicyOfferExpired."""
    action = _offer(isolated_chain, deployment, deadline=issue_time(isolated_chain) + 60)
    with pytest.raises(OfferExpiresBeforeExecution) as refused:
        check_offers(isolated_chain, deployment, [action])
    assert isinstance(refused.value, OfferExpired)  # callers that catch expiry still do
    assert refused.value.code == "offer_expires_before_execution"


def test_an_offer_valid_until_the_earliest_execution_passes_unless_the_proposal_loosens(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    w3 = isolated_chain
    earliest = earliest_execution(w3, deployment)
    assert earliest > issue_time(w3) + 60  # so the offer of the test above cannot be executed
    action = _offer(w3, deployment, deadline=earliest + 60)

    check_offers(w3, deployment, [action])
    # Clearing a bound loosens the policy: the proposal votes for the longer period.
    with pytest.raises(OfferExpiresBeforeExecution):
        check_offers(w3, deployment, [action, ClearThreshold(metric="accuracy_difference")])


def test_two_offers_of_one_file_under_two_ids_are_refused_together(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    """Review (session 23): each offer passed alone, the proposal won its vote, and its
    execution reverted TrainingPolicyContentRegistered forever (the keeper skipped it)."""
    w3 = isolated_chain
    deadline = earliest_execution(w3, deployment) + 3600
    first, second = (_offer(w3, deployment, deadline=deadline) for _ in range(2))
    assert first.offer.content_hash == second.offer.content_hash
    check_offers(w3, deployment, [first])
    check_offers(w3, deployment, [second])
    with pytest.raises(ContentRegistered) as refused:
        check_offers(w3, deployment, [first, second])
    assert refused.value.details == {
        "content_hash": first.offer.content_hash,
        "dataset_id": first.offer.dataset_id,
    }
