"""Withdrawal of consent on TrainingPolicy: the recorded provider, alone and without a vote,
revokes its dataset and cancels every offer it issued until then; nobody else can."""

import pytest
from brownie import web3
from consent import Provider, digest, next_block_at
from dao import latest_time, offer, text_id
from reverts import assert_custom_error
from signing import DATASET_WITHDRAWAL, POLICY_NAME, Signer, domain, typed_message


@pytest.fixture
def policy(standalone_policy):
    """Here the policy is owned by a plain account, so each rule is one transaction away."""
    return standalone_policy


@pytest.fixture
def allowed(allow_as, provider):
    """The provider's dataset "loans", allowed under an offer issued a minute ago."""
    made = offer("loans", provider.address, issued_at=latest_time() - 60)
    allow_as(provider, made)
    return made


def test_the_provider_withdraws_without_a_vote(policy, provider, allowed):
    tx = provider.withdraw(policy, allowed.dataset_id)

    event = tx.events["DatasetWithdrawn"]
    assert list(event.values()) == [allowed.dataset_id, provider.address, tx.timestamp, True, 2]
    assert policy.getDataset(allowed.dataset_id).dict() == allowed.record(allowed=False)
    assert policy.allowedDatasetIds() == []
    assert policy.withdrawnAt(allowed.dataset_id, provider.address) == tx.timestamp


def test_the_provider_withdraws_by_signature_through_a_relayer(policy, provider, allowed, outsider):
    issued_at = latest_time()
    signature = provider.sign_withdrawal(policy, allowed.dataset_id, issued_at)

    tx = policy.withdrawDatasetBySig(
        allowed.dataset_id, provider.address, issued_at, signature, {"from": outsider}
    )

    event = tx.events["DatasetWithdrawn"]
    assert list(event.values()) == [allowed.dataset_id, provider.address, issued_at, True, 2]
    assert not policy.isAllowed(allowed.dataset_id)
    assert policy.withdrawnAt(allowed.dataset_id, provider.address) == issued_at


def test_the_withdrawal_digest_is_what_wallets_sign(policy, eoa_provider):
    message = {"datasetId": text_id("loans"), "provider": eoa_provider.address, "issuedAt": 7}
    encoded = typed_message(
        domain(policy, name=POLICY_NAME), "DatasetWithdrawal", DATASET_WITHDRAWAL, message
    )

    assert policy.hashWithdrawal(*message.values()) == digest(encoded)


def test_nobody_else_withdraws_a_providers_dataset(policy, eoa_provider, allowed, outsider):
    impostor = Signer.named("impostor")
    now = latest_time()
    dataset_id = allowed.dataset_id

    assert_custom_error(
        lambda: policy.withdrawDataset(dataset_id, {"from": outsider}),
        "TrainingPolicyNotProvider(bytes32,address)",
        dataset_id,
        outsider.address,
    )
    own = Provider(impostor, outsider).sign_withdrawal(policy, dataset_id, now)
    assert_custom_error(
        lambda: policy.withdrawDatasetBySig(
            dataset_id, impostor.address, now, own, {"from": outsider}
        ),
        "TrainingPolicyNotProvider(bytes32,address)",
        dataset_id,
        impostor.address,
    )
    forged = Provider(impostor, outsider, None).sign_withdrawal(policy, dataset_id, now)
    assert_custom_error(
        lambda: policy.withdrawDatasetBySig(
            dataset_id, eoa_provider.address, now, forged, {"from": outsider}
        ),
        "TrainingPolicyInvalidWithdrawalSignature(bytes32,address)",
        dataset_id,
        eoa_provider.address,
    )
    assert policy.isAllowed(dataset_id)
    assert policy.policyVersion() == 1


@pytest.mark.parametrize("place", ["other dataset", "other chain", "other time"])
def test_a_signed_withdrawal_is_bound_to_its_dataset_chain_and_time(
    policy, eoa_provider, allowed, outsider, place
):
    now = latest_time()
    signed = {
        "other dataset": lambda: eoa_provider.sign_withdrawal(policy, text_id("credit"), now),
        "other chain": lambda: eoa_provider.sign_withdrawal(
            policy, allowed.dataset_id, now, chain_id=1
        ),
        "other time": lambda: eoa_provider.sign_withdrawal(policy, allowed.dataset_id, now - 1),
    }[place]()

    assert_custom_error(
        lambda: policy.withdrawDatasetBySig(
            allowed.dataset_id, eoa_provider.address, now, signed, {"from": outsider}
        ),
        "TrainingPolicyInvalidWithdrawalSignature(bytes32,address)",
        allowed.dataset_id,
        eoa_provider.address,
    )
    assert policy.isAllowed(allowed.dataset_id)


def test_a_replayed_or_older_withdrawal_is_refused(policy, provider, allowed, outsider):
    dataset_id = allowed.dataset_id
    now = latest_time()

    def relay(issued_at):
        signature = provider.sign_withdrawal(policy, dataset_id, issued_at)
        return policy.withdrawDatasetBySig(
            dataset_id, provider.address, issued_at, signature, {"from": outsider}
        )

    relay(now)
    for stale in (now, now - 1):
        assert_custom_error(
            lambda stale=stale: relay(stale),
            "TrainingPolicyStaleWithdrawal(bytes32,uint64,uint64)",
            dataset_id,
            stale,
            now,
        )
    assert policy.policyVersion() == 2


def test_a_withdrawal_cancels_every_offer_issued_until_then(policy, allow_as, provider, allowed):
    pending = offer("loans", provider.address, version=2, issued_at=latest_time())
    tx = provider.withdraw(policy, allowed.dataset_id)
    tied = pending.replace(issued_at=tx.timestamp)

    for cancelled in (pending, tied):
        assert_custom_error(
            lambda cancelled=cancelled: allow_as(provider, cancelled),
            "TrainingPolicyConsentWithdrawn(bytes32,uint64,uint64)",
            cancelled.dataset_id,
            cancelled.issued_at,
            tx.timestamp,
        )
    assert not policy.isAllowed(allowed.dataset_id)


def test_a_newer_offer_after_a_withdrawal_allows_again(policy, allow_as, provider, allowed):
    withdrawn_at = provider.withdraw(policy, allowed.dataset_id).timestamp
    renewed = offer("loans", provider.address, version=2, issued_at=withdrawn_at + 1)
    next_block_at(withdrawn_at + 1)

    tx = allow_as(provider, renewed)

    assert tx.events["DatasetAllowed"]["policyVersion"] == 3
    assert policy.getDataset(renewed.dataset_id).dict() == renewed.record()
    assert policy.withdrawnAt(renewed.dataset_id, provider.address) == withdrawn_at


def test_withdrawing_an_id_not_yet_registered_cancels_the_providers_offers(
    policy, allow_as, provider, eoa_provider
):
    """A provider who signed an offer and changed its mind need not wait for the proposal."""
    pending = offer("loans", provider.address)
    withdrawn_at = provider.withdraw(policy, pending.dataset_id).timestamp

    assert_custom_error(
        lambda: allow_as(provider, pending),
        "TrainingPolicyConsentWithdrawn(bytes32,uint64,uint64)",
        pending.dataset_id,
        pending.issued_at,
        withdrawn_at,
    )
    assert policy.datasetIds() == []


def test_only_a_withdrawal_that_revokes_raises_the_version(
    policy, provider, allowed, policy_owner, outsider
):
    """Regression: anyone may withdraw an id nobody registered to them, and each withdrawal
    raised policyVersion, which makes fairgov re-audit every approved model."""
    spam = [policy.withdrawDataset(text_id(f"spam-{i}"), {"from": outsider}) for i in range(3)]
    policy.revokeDataset(allowed.dataset_id, {"from": policy_owner})
    late = provider.withdraw(policy, allowed.dataset_id)

    events = [tx.events["DatasetWithdrawn"] for tx in [*spam, late]]
    assert [(e["revoked"], e["policyVersion"]) for e in events] == [(False, 1)] * 3 + [(False, 2)]
    assert policy.policyVersion() == 2  # the allow and the DAO's revoke


@pytest.mark.parametrize("first", ["withdrawal", "offer"])
def test_a_withdrawal_wins_a_tie_whichever_lands_first(
    policy, allow_as, eoa_provider, outsider, first
):
    """Regression: a withdrawal dated the second of the consent cancelled the offer when it
    landed first but left it allowed when it landed second."""
    tie = latest_time() - 5
    made = offer("loans", eoa_provider.address, issued_at=tie)
    signature = eoa_provider.sign_withdrawal(policy, made.dataset_id, tie)

    def withdraw():
        return policy.withdrawDatasetBySig(
            made.dataset_id, eoa_provider.address, tie, signature, {"from": outsider}
        )

    if first == "withdrawal":
        withdraw()
        assert_custom_error(
            lambda: allow_as(eoa_provider, made),
            "TrainingPolicyConsentWithdrawn(bytes32,uint64,uint64)",
            made.dataset_id,
            tie,
            tie,
        )
    else:
        allow_as(eoa_provider, made)
        assert withdraw().events["DatasetWithdrawn"]["revoked"] is True
    assert not policy.isAllowed(made.dataset_id)


@pytest.mark.parametrize("first", ["withdrawal", "allow"])
def test_front_running_a_withdrawal_in_its_block_does_not_save_the_consent(
    policy, eoa_provider, policy_owner, first
):
    """The operator sees the provider's withdrawal in the mempool and gets its allow of an offer
    the provider signed this very second into the same block, before or after it."""
    at = latest_time() + 10
    made = offer("loans", eoa_provider.address, issued_at=at)
    transactions = {
        "allow": {
            "from": policy_owner.address,
            "to": policy.address,
            "data": policy.allowDataset.encode_input(made.args(), eoa_provider.sign(policy, made)),
        },
        "withdrawal": {
            "from": eoa_provider.address,
            "to": policy.address,
            "data": policy.withdrawDataset.encode_input(made.dataset_id),
        },
    }
    order = [first, "allow" if first == "withdrawal" else "withdrawal"]
    web3.provider.make_request("evm_setAutomine", [False])
    try:
        hashes = [
            web3.eth.send_transaction({**transactions[name], "gas": 500_000, "gasPrice": 0})
            for name in order
        ]
        next_block_at(at)
        web3.provider.make_request("evm_mine", [])
    finally:
        web3.provider.make_request("evm_setAutomine", [True])
    receipts = dict(zip(order, map(web3.eth.get_transaction_receipt, hashes), strict=True))

    assert {r["blockNumber"] for r in receipts.values()} == {web3.eth.block_number}
    assert [receipts[name]["transactionIndex"] for name in order] == [0, 1]
    assert receipts["withdrawal"]["status"] == 1
    assert receipts["allow"]["status"] == (1 if first == "allow" else 0)
    assert not policy.isAllowed(made.dataset_id)
    assert policy.withdrawnAt(made.dataset_id, eoa_provider.address) == at
