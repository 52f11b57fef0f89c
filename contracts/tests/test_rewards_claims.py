"""ProviderRewards claims: after the challenge window only, once per provider and epoch, with the
sender's own leaf, directly or through a relayer with the provider's EIP-712 signature (an EOA
or an EIP-1271 contract wallet); the provider is always the one paid."""

from brownie import chain
from dao import TOKEN
from eth_utils import keccak
from reverts import assert_custom_error
from rewards_support import (
    ALICE,
    BOB,
    CHALLENGE_WINDOW,
    FUNDING,
    WALLET_OWNER,
    after_window,
    amount_of,
    claim,
    claim_by_sig,
    claim_message,
    post,
)

# ---------------------------------------------------------------- claims


def test_a_claim_in_the_window_is_refused(rewards, auditor, tree, providers):
    ends = post(rewards, auditor, tree).timestamp + CHALLENGE_WINDOW
    assert_custom_error(
        lambda: claim(rewards, tree, providers[0]),
        "RewardsChallengeWindowOpen(uint256,uint64)",
        1,
        ends,
    )


def test_a_provider_claims_their_amount_after_the_window(rewards, auditor, tree, providers, token):
    post(rewards, auditor, tree)
    after_window()
    provider = providers[0]
    amount = amount_of(tree, provider)
    tx = claim(rewards, tree, provider)

    assert dict(tx.events["Claimed"][0]) == {"epoch": 1, "account": provider, "amount": amount}
    assert token.balanceOf(provider) == amount
    assert rewards.claimed(1, provider)
    assert not rewards.claimed(1, providers[1])
    assert rewards.epoch(1).dict()["claimed"] == amount
    assert rewards.reserved() == tree.total - amount
    assert rewards.available() == FUNDING - tree.total


def test_nobody_claims_twice(rewards, auditor, tree, providers):
    post(rewards, auditor, tree)
    after_window()
    claim(rewards, tree, providers[0])
    assert_custom_error(
        lambda: claim(rewards, tree, providers[0]),
        "RewardsAlreadyClaimed(uint256,address)",
        1,
        providers[0].address,
    )


def test_every_provider_claims_and_the_reserve_ends_at_zero(
    rewards, auditor, tree, providers, token, outsider
):
    post(rewards, auditor, tree)
    after_window()
    for provider in providers[:2]:
        claim(rewards, tree, provider)
    claim_by_sig(rewards, tree, providers[2], outsider, signer=ALICE)
    claim_by_sig(rewards, tree, providers[3], outsider, signer=BOB)
    claim_by_sig(rewards, tree, providers[4], outsider, signer=WALLET_OWNER)

    assert rewards.epoch(1).dict()["claimed"] == tree.total
    assert rewards.reserved() == 0
    assert token.balanceOf(rewards) == FUNDING - tree.total == rewards.available()


def test_a_wrong_proof_or_amount_is_refused(rewards, auditor, tree, providers):
    post(rewards, auditor, tree)
    after_window()
    provider = providers[0]
    amount = amount_of(tree, provider)
    proof = tree.proof(provider.address, amount)
    error = "RewardsInvalidProof(uint256,address,uint256)"
    assert_custom_error(
        lambda: rewards.claim(1, amount + 1, proof, {"from": provider}),
        error,
        1,
        provider.address,
        amount + 1,
    )
    wrong = tree.proof(providers[1].address, amount_of(tree, providers[1]))
    assert_custom_error(
        lambda: rewards.claim(1, amount, wrong, {"from": provider}),
        error,
        1,
        provider.address,
        amount,
    )
    assert_custom_error(
        lambda: rewards.claim(1, amount, [], {"from": provider}), error, 1, provider.address, amount
    )
    assert not rewards.claimed(1, provider)


def test_another_providers_leaf_is_an_invalid_proof_for_the_sender(
    rewards, auditor, tree, providers, outsider, token
):
    post(rewards, auditor, tree)
    after_window()
    victim = providers[1]
    amount = amount_of(tree, victim)
    for thief in (providers[0], outsider):
        assert_custom_error(
            lambda thief=thief: rewards.claim(
                1, amount, tree.proof(victim.address, amount), {"from": thief}
            ),
            "RewardsInvalidProof(uint256,address,uint256)",
            1,
            thief.address,
            amount,
        )
    assert not rewards.claimed(1, victim)
    assert token.balanceOf(outsider) == 0


def test_a_cancelled_root_pays_nothing(rewards, auditor, tree, providers, guardian):
    post(rewards, auditor, tree)
    rewards.cancelRoot(1, {"from": guardian})
    after_window()
    assert_custom_error(
        lambda: claim(rewards, tree, providers[0]), "RewardsEpochCancelled(uint256)", 1
    )


def test_a_root_whose_leaves_exceed_its_total_cannot_pay_other_epochs_reserves(
    rewards, auditor, tree, providers
):
    post(rewards, auditor, tree, total=500 * TOKEN)  # the leaves sum to 1000
    post(rewards, auditor, tree, 2)
    after_window()
    claim(rewards, tree, providers[0])  # 400 of 500
    assert_custom_error(
        lambda: claim(rewards, tree, providers[1]),
        "RewardsInsufficientFunds(uint256,uint256)",
        amount_of(tree, providers[1]),
        100 * TOKEN,
    )
    assert rewards.reserved() == 100 * TOKEN + tree.total


# ---------------------------------------------------------------- claims by signature


def test_a_relayer_claims_for_a_provider_who_signed_and_the_provider_is_paid(
    rewards, auditor, tree, outsider, token
):
    post(rewards, auditor, tree)
    after_window()
    tx = claim_by_sig(rewards, tree, ALICE, outsider, signer=ALICE)

    amount = amount_of(tree, ALICE)
    assert dict(tx.events["Claimed"][0]) == {"epoch": 1, "account": ALICE.address, "amount": amount}
    assert token.balanceOf(ALICE.address) == amount
    assert token.balanceOf(outsider) == 0
    assert rewards.claimed(1, ALICE.address)


def test_the_claim_digest_is_the_one_wallets_sign(rewards):
    deadline = 1_900_000_000
    message = claim_message(rewards, 3, ALICE.address, 5, deadline)
    expected = "0x" + keccak(b"\x19" + message.version + message.header + message.body).hex()
    assert rewards.hashClaim(3, ALICE.address, 5, deadline) == expected
    assert tuple(rewards.eip712Domain())[1:3] == ("fairgov ProviderRewards", "1")


def test_a_contract_wallet_claims_through_eip1271(rewards, auditor, tree, wallet, outsider, token):
    post(rewards, auditor, tree)
    after_window()
    assert_custom_error(
        lambda: claim_by_sig(rewards, tree, wallet, outsider, signer=ALICE),
        "RewardsInvalidClaimSignature(uint256,address)",
        1,
        wallet.address,
    )
    claim_by_sig(rewards, tree, wallet, outsider, signer=WALLET_OWNER)
    assert token.balanceOf(wallet) == amount_of(tree, wallet)


def test_a_signature_for_another_providers_leaf_is_refused(rewards, auditor, tree, outsider):
    post(rewards, auditor, tree)
    after_window()
    assert_custom_error(
        lambda: claim_by_sig(rewards, tree, BOB, outsider, signer=ALICE),
        "RewardsInvalidClaimSignature(uint256,address)",
        1,
        BOB.address,
    )
    assert not rewards.claimed(1, BOB.address)


def test_a_signed_amount_must_be_the_leafs(rewards, auditor, tree, outsider):
    post(rewards, auditor, tree)
    after_window()
    amount = amount_of(tree, ALICE) + 1
    assert_custom_error(
        lambda: claim_by_sig(rewards, tree, ALICE, outsider, signer=ALICE, amount=amount),
        "RewardsInvalidProof(uint256,address,uint256)",
        1,
        ALICE.address,
        amount,
    )


def test_an_expired_signature_is_refused(rewards, auditor, tree, outsider):
    post(rewards, auditor, tree)
    after_window()
    deadline = chain.time() - 10
    assert_custom_error(
        lambda: claim_by_sig(rewards, tree, ALICE, outsider, signer=ALICE, deadline=deadline),
        "RewardsClaimExpired(uint256,uint256)",
        1,
        deadline,
    )


def test_a_replayed_signature_is_an_already_claimed_claim(rewards, auditor, tree, outsider):
    post(rewards, auditor, tree)
    after_window()
    deadline = chain.time() + 3600
    claim_by_sig(rewards, tree, ALICE, outsider, signer=ALICE, deadline=deadline)
    assert_custom_error(
        lambda: claim_by_sig(rewards, tree, ALICE, outsider, signer=ALICE, deadline=deadline),
        "RewardsAlreadyClaimed(uint256,address)",
        1,
        ALICE.address,
    )
