"""Consent on TrainingPolicy: the DAO allows only what a provider offered (EIP-712, EOA or
EIP-1271), and the provider withdraws without a vote. The policy is owned by a plain account
here; test_consent_dao.py goes through the governor and the timelock.
"""

import pytest
from brownie import AnySignatureWallet, TrainingPolicy, chain
from consent import Provider, digest, next_block_at
from dao import ZERO_HASH, latest_time, offer, text_id
from eth_utils import keccak
from reverts import assert_custom_error
from signing import DATASET_OFFER, POLICY_NAME, Signer, domain, flip_byte, typed_message

DAY = 24 * 3600


@pytest.fixture
def policy(standalone_policy):
    """Here the policy is owned by a plain account, so each rule is one transaction away."""
    return standalone_policy


@pytest.fixture
def allow(allow_as):
    return allow_as


def test_the_domain_and_types_are_what_wallets_sign(policy, eoa_provider):
    fields, *domain_, salt, extensions = policy.eip712Domain()
    assert (fields, *domain_) == ("0x0f", POLICY_NAME, "1", chain.id, policy.address)
    assert (salt, list(extensions)) == (ZERO_HASH, [])
    encoded = ",".join(f"{f['type']} {f['name']}" for f in DATASET_OFFER)
    assert policy.OFFER_TYPEHASH() == "0x" + keccak(text=f"DatasetOffer({encoded})").hex()
    assert (
        policy.WITHDRAWAL_TYPEHASH()
        == "0x"
        + keccak(text="DatasetWithdrawal(bytes32 datasetId,address provider,uint64 issuedAt)").hex()
    )
    made = offer("loans", eoa_provider.address)
    message = typed_message(
        domain(policy, name=POLICY_NAME), "DatasetOffer", DATASET_OFFER, made.message()
    )
    assert policy.hashOffer(made.args()) == digest(message)


def test_a_providers_offer_allows_the_dataset(policy, allow, provider):
    made = offer("loans", provider.address)

    tx = allow(provider, made)

    event = tx.events["DatasetAllowed"]
    assert (event["datasetId"], event["provider"]) == (made.dataset_id, provider.address)
    assert (tuple(event["offer"]), event["policyVersion"]) == (made.args(), 1)
    assert policy.getDataset(made.dataset_id).dict() == made.record()
    assert policy.allowedDatasetIds() == [made.dataset_id]


@pytest.mark.parametrize("signer", ["operator", "other wallet owner"])
def test_the_operator_cannot_allow_data_its_provider_never_offered(policy, allow, provider, signer):
    made = offer("loans", provider.address)
    # The operator signs with its own key, or the key of another provider, in the provider's name.
    key = Signer.named(signer)

    assert_custom_error(
        lambda: allow(provider, made, Provider(key, None).sign(policy, made)),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        made.dataset_id,
        provider.address,
    )
    assert policy.datasetIds() == []
    assert policy.policyVersion() == 0


TAMPERED = {
    "other dataset": {"dataset_id": text_id("credit")},
    "other content": {"content_hash": "0x" + "11" * 32},
    "other manifest": {"manifest_hash": "0x" + "11" * 32},
    "other records root": {"records_root": "0x" + "11" * 32},
    "other uri": {"uri": "ipfs://elsewhere"},
    "other licence": {"licence": "proprietary"},
    "other terms": {"terms_hash": "0x" + "11" * 32},
    "earlier issue": {"issued_at": -1},  # one second earlier than signed
    "later deadline": {"deadline": 1},  # one second more than signed
}


@pytest.mark.parametrize("field", TAMPERED)
def test_a_signed_offer_binds_every_field(policy, allow, eoa_provider, field):
    """The signature over an offer of dataset A is no good for B, nor for A on other terms."""
    signed = offer("loans", eoa_provider.address, issued_at=latest_time() - 1)
    signature = eoa_provider.sign(policy, signed)
    changes = {
        name: (getattr(signed, name) + value if isinstance(value, int) else value)
        for name, value in TAMPERED[field].items()
    }
    tampered = signed.replace(**changes)

    assert_custom_error(
        lambda: allow(eoa_provider, tampered, signature),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        tampered.dataset_id,
        eoa_provider.address,
    )
    assert policy.datasetIds() == []


@pytest.mark.parametrize("index", [3, 40, 64])
def test_a_flipped_signature_byte_is_refused(policy, allow, eoa_provider, index):
    made = offer("loans", eoa_provider.address)

    assert_custom_error(
        lambda: allow(eoa_provider, made, flip_byte(eoa_provider.sign(policy, made), index)),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        made.dataset_id,
        eoa_provider.address,
    )


@pytest.mark.parametrize("place", ["other chain", "other policy"])
def test_an_offer_is_bound_to_its_chain_and_policy(policy, allow, provider, deployer, place):
    other = TrainingPolicy.deploy(deployer, {"from": deployer})
    made = offer("loans", provider.address)
    where = {"other chain": {"chain_id": 1}, "other policy": {"verifying_contract": other}}[place]

    assert_custom_error(
        lambda: allow(provider, made, provider.sign(policy, made, **where)),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        made.dataset_id,
        provider.address,
    )
    # The signature meant for the other policy is good there, and only there.
    if place == "other policy":
        other.allowDataset(made.args(), provider.sign(other, made), {"from": deployer})
        assert other.isAllowed(made.dataset_id)
    assert not policy.isAllowed(made.dataset_id)


def test_an_offer_counts_until_its_deadline_and_not_after(policy, allow, eoa_provider):
    at = latest_time() + 100
    on_time = offer("loans", eoa_provider.address, deadline=at)
    late = offer("credit", eoa_provider.address, deadline=at - 1)

    next_block_at(at)
    allow(eoa_provider, on_time)
    assert_custom_error(
        lambda: allow(eoa_provider, late),
        "TrainingPolicyOfferExpired(bytes32,uint64)",
        late.dataset_id,
        at - 1,
    )
    assert policy.allowedDatasetIds() == [on_time.dataset_id]


def test_an_offer_dated_after_its_block_is_refused_until_that_date(policy, allow, provider):
    """Regression: a future-dated consent, once allowed, outlived a direct withdrawal (dated
    now) until its date passed, so the provider could not revoke it without a vote."""
    at = latest_time() + DAY
    made = offer("loans", provider.address, issued_at=at)

    next_block_at(at - 1)
    assert_custom_error(
        lambda: allow(provider, made),
        "TrainingPolicyOfferFromTheFuture(bytes32,uint64)",
        made.dataset_id,
        at,
    )
    next_block_at(at)
    allow(provider, made)
    tx = provider.withdraw(policy, made.dataset_id)
    assert tx.events["DatasetWithdrawn"]["revoked"] is True
    assert not policy.isAllowed(made.dataset_id)


def test_an_offer_dated_zero_is_refused_as_not_dated(policy, allow, eoa_provider):
    """Regression: an offer with issuedAt 0 (a wallet that left the field empty) failed as
    ConsentWithdrawn(id, 0, 0), for a dataset never withdrawn."""
    made = offer("loans", eoa_provider.address, issued_at=0).replace(deadline=latest_time() + DAY)
    assert_custom_error(
        lambda: allow(eoa_provider, made), "TrainingPolicyOfferNotDated(bytes32)", made.dataset_id
    )


def test_a_withdrawn_file_cannot_come_back_under_another_id(
    policy, allow, eoa_provider, impersonate
):
    """Regression: a copier offered the withdrawn "loans" (same content, manifest and records
    root) as "loans-mirror" from their own key, and the policy allowed it. A content hash stays
    with the id it was first allowed under; only that id may offer the file again."""
    original = offer("loans", eoa_provider.address, issued_at=latest_time() - 60)
    allow(eoa_provider, original)
    eoa_provider.withdraw(policy, original.dataset_id)
    copier_key = Signer.named("copier")
    copier = Provider(copier_key, impersonate(copier_key.address))
    mirror = offer("loans-mirror", copier.address).replace(
        content_hash=original.content_hash,
        manifest_hash=original.manifest_hash,
        records_root=original.records_root,
    )

    assert_custom_error(
        lambda: allow(copier, mirror),
        "TrainingPolicyContentRegistered(bytes32,bytes32)",
        original.content_hash,
        original.dataset_id,
    )
    assert policy.datasetOfContent(original.content_hash) == original.dataset_id
    assert policy.datasetOfContent(mirror.manifest_hash) == ZERO_HASH
    assert policy.allowedDatasetIds() == []
    chain.sleep(1)
    chain.mine()
    allow(eoa_provider, offer("loans", eoa_provider.address))  # under its own id it may
    assert policy.allowedDatasetIds() == [original.dataset_id]


def test_a_registered_dataset_stays_with_its_provider(policy, allow, eoa_provider, wallet_provider):
    """First come, first served: once the DAO allowed one provider's offer of an id, nobody
    else's offer of that id counts, even one they signed themselves."""
    allow(eoa_provider, offer("loans", eoa_provider.address, issued_at=latest_time() - 1))
    squat = offer("loans", wallet_provider.address, version=2)

    assert_custom_error(
        lambda: allow(wallet_provider, squat),
        "TrainingPolicyNotProvider(bytes32,address)",
        squat.dataset_id,
        wallet_provider.address,
    )
    assert policy.getDataset(squat.dataset_id)["provider"] == eoa_provider.address


def test_a_newer_offer_updates_the_dataset_and_an_older_one_is_stale(policy, allow, provider):
    first = offer("loans", provider.address, issued_at=latest_time() - 10)
    newer = offer("loans", provider.address, version=2)
    allow(provider, first)

    tx = allow(provider, newer)

    assert tx.events["DatasetAllowed"]["policyVersion"] == 2
    assert policy.getDataset(newer.dataset_id).dict() == newer.record()
    for stale in (first, newer):  # a downgrade, and a replay
        assert_custom_error(
            lambda stale=stale: allow(provider, stale),
            "TrainingPolicyStaleOffer(bytes32,uint64,uint64)",
            stale.dataset_id,
            stale.issued_at,
            newer.issued_at,
        )
    assert policy.policyVersion() == 2


def test_after_the_dao_revokes_only_a_fresh_offer_allows_again(
    policy, allow, policy_owner, eoa_provider
):
    made = offer("loans", eoa_provider.address, issued_at=latest_time() - 1)
    allow(eoa_provider, made)
    policy.revokeDataset(made.dataset_id, {"from": policy_owner})

    assert_custom_error(
        lambda: allow(eoa_provider, made),
        "TrainingPolicyStaleOffer(bytes32,uint64,uint64)",
        made.dataset_id,
        made.issued_at,
        made.issued_at,
    )
    allow(eoa_provider, made.replace(issued_at=latest_time()))
    assert policy.isAllowed(made.dataset_id)


def test_only_the_owner_accepts_an_offer(policy, eoa_provider, outsider):
    made = offer("loans", eoa_provider.address)

    assert_custom_error(
        lambda: policy.allowDataset(
            made.args(), eoa_provider.sign(policy, made), {"from": outsider}
        ),
        "OwnableUnauthorizedAccount(address)",
        outsider.address,
    )


def test_a_contract_wallets_consent_ends_when_it_changes_hands(policy, allow, wallet_provider):
    """EIP-1271 signatures are checked when the offer is accepted, not when it was signed."""
    made = offer("loans", wallet_provider.address)
    signature = wallet_provider.sign(policy, made)
    wallet_provider.wallet.setOwner(
        Signer.named("new owner").address, {"from": wallet_provider.sender}
    )

    assert_custom_error(
        lambda: allow(wallet_provider, made, signature),
        "TrainingPolicyInvalidOfferSignature(bytes32,address)",
        made.dataset_id,
        wallet_provider.address,
    )


def test_a_wallet_that_accepts_anything_consents_to_anything(
    policy, allow, eoa_provider, deployer, outsider
):
    """SignatureChecker trusts the wallet: a wallet whose isValidSignature always says yes makes
    every "signature" its consent, and anyone can withdraw for it. It cannot touch a dataset
    registered to someone else, which is all the contract can promise; the DAO must look at who
    the provider is."""
    careless = AnySignatureWallet.deploy({"from": deployer})
    mine = offer("loans", eoa_provider.address, issued_at=latest_time() - 1)
    allow(eoa_provider, mine)

    allow(None, offer("credit", careless.address), b"")
    assert policy.isAllowed(text_id("credit"))
    tx = policy.withdrawDatasetBySig(
        text_id("credit"), careless, latest_time(), b"", {"from": outsider}
    )
    assert tx.events["DatasetWithdrawn"]["revoked"] is True

    theirs = offer("loans", careless.address, version=2)
    assert_custom_error(
        lambda: allow(None, theirs, b""),
        "TrainingPolicyNotProvider(bytes32,address)",
        mine.dataset_id,
        careless.address,
    )
    assert_custom_error(
        lambda: policy.withdrawDatasetBySig(
            mine.dataset_id, careless, latest_time(), b"", {"from": outsider}
        ),
        "TrainingPolicyNotProvider(bytes32,address)",
        mine.dataset_id,
        careless.address,
    )
    assert policy.getDataset(mine.dataset_id).dict() == mine.record()
