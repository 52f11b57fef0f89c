"""Gasless claims: the typed data a wallet signs, and every refusal before any gas."""

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from pydantic import ValidationError

from governance.errors import (
    ChallengeWindowOpen,
    ClaimDeadlineTooSoon,
    ClaimExpired,
    InvalidRewardProof,
    RewardAlreadyClaimed,
    RewardEpochCancelled,
    SignerMismatch,
    WalletRefusedClaim,
)
from governance.rewards import reward_proof, reward_root
from governance.rewards._claims import (
    MAX_SIGNATURE_BYTES,
    SignedClaim,
    check_claim,
    claim_typed_data,
    rewards_domain,
)
from governance.rewards._statement import EpochState

KEY = "0x" + "42" * 32
PROVIDER = Account.from_key(KEY).address
OTHER = "0x" + "77" * 20
DOMAIN = rewards_domain(31337, "0x" + "12" * 20)
PAIRS = [(PROVIDER, 700), (OTHER, 300)]
EPOCH = EpochState(
    number=3,
    root=reward_root(PAIRS),
    statement_hash="0x" + "aa" * 32,
    run_id="0x" + "bb" * 32,
    total=1000,
    claimed=0,
    posted_at=100,
    challenge_ends=160,
    cancelled=False,
)


def signed(key: str = KEY, *, account: str = PROVIDER, amount: int = 700, deadline: int = 999):
    typed = claim_typed_data(DOMAIN, epoch=3, account=account, amount=amount, deadline=deadline)
    signature = Account.sign_message(encode_typed_data(full_message=typed), key).signature
    return SignedClaim(
        epoch=3,
        account=account,
        amount=amount,
        deadline=deadline,
        proof=reward_proof(PAIRS, account) or (),
        signature="0x" + signature.hex(),
    )


def test_a_wallet_signature_over_the_typed_data_passes():
    claim = signed()
    assert claim.signer(DOMAIN) == PROVIDER
    check_claim(claim, domain=DOMAIN, epoch=EPOCH, now=200, claimed=False)
    assert claim.calldata().startswith("0x")


def test_a_claim_for_another_address_is_a_signer_mismatch():
    with pytest.raises(SignerMismatch) as info:
        check_claim(
            signed(account=OTHER, amount=300), domain=DOMAIN, epoch=EPOCH, now=200, claimed=False
        )
    assert info.value.details["recovered"] == PROVIDER


@pytest.mark.parametrize(
    ("change", "now", "claimed", "error", "code"),
    [
        ({"cancelled": True}, 200, False, RewardEpochCancelled, "reward_epoch_cancelled"),
        ({}, 159, False, ChallengeWindowOpen, "reward_window_open"),
        ({}, 200, True, RewardAlreadyClaimed, "reward_already_claimed"),
        ({}, 1000, False, ClaimExpired, "reward_claim_expired"),
        ({}, 880, False, ClaimDeadlineTooSoon, "reward_claim_deadline_too_soon"),
    ],
)
def test_each_state_the_contract_refuses_is_refused_first(change, now, claimed, error, code):
    with pytest.raises(error) as info:
        check_claim(
            signed(),
            domain=DOMAIN,
            epoch=EPOCH.__class__(**{**EPOCH.__dict__, **change}),
            now=now,
            claimed=claimed,
        )
    assert info.value.code == code


def test_a_wrong_amount_is_a_wrong_proof():
    with pytest.raises(InvalidRewardProof) as info:
        check_claim(signed(amount=701), domain=DOMAIN, epoch=EPOCH, now=200, claimed=False)
    assert info.value.code == "reward_invalid_proof"


def test_a_claim_in_another_domain_does_not_recover_the_provider():
    other = rewards_domain(1, "0x" + "12" * 20)
    assert signed().signer(other) != PROVIDER


@pytest.mark.parametrize(
    ("size", "accepted"), [(64, False), (65, True), (MAX_SIGNATURE_BYTES, True), (1025, False)]
)
def test_a_wallet_signature_may_be_longer_than_a_keys_but_bounded(size, accepted):
    fields = signed().model_dump() | {"signature": "0x" + "ab" * size}
    if accepted:
        assert SignedClaim(**fields).signature == fields["signature"]
    else:
        with pytest.raises(ValidationError):
            SignedClaim(**fields)


def test_a_claim_a_contract_wallet_refuses_is_refused_whoever_signed():
    with pytest.raises(WalletRefusedClaim) as info:
        check_claim(
            signed(), domain=DOMAIN, epoch=EPOCH, now=200, claimed=False, wallet_accepts=False
        )
    assert info.value.code == "reward_wallet_refused_signature"
    # what the wallet accepts needs no key's signature: Bob's passes for the wallet
    check_claim(
        signed("0x" + "43" * 32),
        domain=DOMAIN,
        epoch=EPOCH,
        now=200,
        claimed=False,
        wallet_accepts=True,
    )
