"""ProviderRewards: the DAO funds it, the auditor posts roots, the guardian or the DAO cancels them
in the challenge window, and after it each provider claims once, directly or by signature."""

import pytest
from brownie import ProviderRewards, RewardsTestWallet, chain
from dao import TOKEN, ZERO_ADDRESS, ZERO_HASH, action, sha256_hex, text_id
from eth_account import Account
from eth_utils import keccak
from reverts import assert_custom_error
from reward_tree import RewardTree
from signing import Signer, typed_message

CHALLENGE_WINDOW = 2 * 3600  # seconds: longer than a proposal's vote and timelock delay
REWARD_PER_EPOCH = 1_000 * TOKEN
TREASURY = 100_000 * TOKEN
FUNDING = 5_000 * TOKEN
ROWS, LEAVE_ONE_OUT = 0, 1
CLAIM = [
    {"name": "epoch", "type": "uint256"},
    {"name": "account", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
ALICE, BOB = Signer.named("rewards alice"), Signer.named("rewards bob")
WALLET_OWNER = Signer.named("rewards wallet owner")


def run(n):
    return text_id(f"audit run {n}")


def statement(n):
    return sha256_hex(f"reward statement {n}".encode())


@pytest.fixture(scope="module")
def treasury(token, holders, timelock):
    """The timelock holds tokens, as a deployment's treasury_tokens give it."""
    token.transfer(timelock, TREASURY, {"from": holders[0]})
    return timelock


@pytest.fixture(scope="module")
def rewards(deployer, token, treasury, governor, guardian, auditor, lifecycle):
    """A ProviderRewards the DAO administers, funded from the treasury by a real proposal."""
    rewards = ProviderRewards.deploy(
        treasury,
        token,
        guardian,
        [auditor],
        CHALLENGE_WINDOW,
        ROWS,
        REWARD_PER_EPOCH,
        {"from": deployer},
    )
    lifecycle.pass_and_execute([action(token.transfer, rewards, FUNDING)], "Fund the rewards")
    return rewards


@pytest.fixture(scope="module")
def wallet(deployer):
    """A provider that is a contract wallet (EIP-1271), owned by an off-chain key."""
    return RewardsTestWallet.deploy(WALLET_OWNER.address, {"from": deployer})


@pytest.fixture(scope="module")
def providers(newcomers, wallet):
    """Two providers that send their own claims, two that only sign, and a contract wallet."""
    return [newcomers[0], newcomers[1], ALICE, BOB, wallet]


@pytest.fixture(scope="module")
def tree(providers):
    amounts = [400, 250, 150, 120, 80]
    return RewardTree(
        [(p.address, amount * TOKEN) for p, amount in zip(providers, amounts, strict=True)]
    )


def amount_of(tree, account):
    return dict(tree.entries)[str(account.address)]


def post(rewards, auditor, tree, n=1, *, total=None):
    total = tree.total if total is None else total
    return rewards.postRoot(run(n), tree.root, statement(n), total, {"from": auditor})


def after_window():
    chain.sleep(CHALLENGE_WINDOW)
    chain.mine()


def claim(rewards, tree, account, epoch=1):
    amount = amount_of(tree, account)
    return rewards.claim(epoch, amount, tree.proof(account.address, amount), {"from": account})


def sign_claim(signer, rewards, epoch, account, amount, deadline):
    domain = {
        "name": "fairgov ProviderRewards",
        "version": "1",
        "chainId": chain.id,
        "verifyingContract": rewards.address,
    }
    message = typed_message(
        domain,
        "Claim",
        CLAIM,
        {"epoch": epoch, "account": str(account), "amount": amount, "deadline": deadline},
    )
    return bytes(Account.sign_message(message, signer.key).signature)


def claim_by_sig(rewards, tree, account, relayer, *, signer, epoch=1, deadline=None, amount=None):
    amount = amount_of(tree, account) if amount is None else amount
    deadline = chain.time() + 3600 if deadline is None else deadline
    signature = sign_claim(signer, rewards, epoch, account.address, amount, deadline)
    proof = tree.proof(account.address, amount_of(tree, account))
    return rewards.claimBySig(
        epoch, account.address, amount, proof, deadline, signature, {"from": relayer}
    )


# ---------------------------------------------------------------- funding and posting


def test_the_dao_funds_the_rewards_from_its_treasury(rewards, token, treasury):
    assert token.balanceOf(rewards) == FUNDING
    assert token.balanceOf(treasury) == TREASURY - FUNDING
    assert rewards.available() == FUNDING
    assert rewards.reserved() == 0
    assert rewards.token() == token


def test_the_constructor_sets_roles_and_settings(rewards, treasury, auditor, guardian, deployer):
    assert rewards.hasRole(rewards.DEFAULT_ADMIN_ROLE(), treasury)
    assert not rewards.hasRole(rewards.DEFAULT_ADMIN_ROLE(), deployer)
    assert rewards.hasRole(rewards.POSTER_ROLE(), auditor)
    assert rewards.guardian() == guardian
    assert rewards.challengeWindow() == CHALLENGE_WINDOW
    assert rewards.splitRule() == ROWS
    assert rewards.rewardPerEpoch() == REWARD_PER_EPOCH
    assert rewards.epochCount() == 0


def test_posting_a_root_reserves_its_total(rewards, auditor, tree):
    tx = post(rewards, auditor, tree)

    ends = tx.timestamp + CHALLENGE_WINDOW
    assert dict(tx.events["RootPosted"][0]) == {
        "epoch": 1,
        "runId": run(1),
        "root": tree.root,
        "statementHash": statement(1),
        "total": tree.total,
        "challengeEnds": ends,
    }
    assert tx.return_value == 1
    assert rewards.epoch(1).dict() == {
        "root": tree.root,
        "statementHash": statement(1),
        "runId": run(1),
        "total": tree.total,
        "claimed": 0,
        "postedAt": tx.timestamp,
        "challengeEnds": ends,
        "cancelled": False,
    }
    assert rewards.epochCount() == 1
    assert rewards.epochOfRun(run(1)) == 1
    assert rewards.epochOfRun(run(2)) == 0
    assert rewards.reserved() == tree.total
    assert rewards.available() == FUNDING - tree.total


def test_only_posters_post(rewards, tree, guardian, impersonate, treasury, holders):
    role = rewards.POSTER_ROLE()
    for account in (guardian, impersonate(treasury), holders[0]):
        assert_custom_error(
            lambda account=account: post(rewards, account, tree),
            "AccessControlUnauthorizedAccount(address,bytes32)",
            account.address,
            role,
        )
    assert rewards.epochCount() == 0


def test_a_root_with_a_zero_hash_is_refused(rewards, auditor, tree):
    for args in (
        (ZERO_HASH, tree.root, statement(1)),
        (run(1), ZERO_HASH, statement(1)),
        (run(1), tree.root, ZERO_HASH),
    ):
        assert_custom_error(
            lambda args=args: rewards.postRoot(*args, tree.total, {"from": auditor}),
            "RewardsZeroHash()",
        )


def test_a_run_posts_one_epoch(rewards, auditor, tree):
    post(rewards, auditor, tree)
    assert_custom_error(
        lambda: post(rewards, auditor, tree), "RewardsRunAlreadyPosted(bytes32)", run(1)
    )
    assert rewards.epochCount() == 1


def test_a_total_above_the_reward_per_epoch_is_refused(rewards, auditor, tree):
    total = REWARD_PER_EPOCH + 1
    assert_custom_error(
        lambda: post(rewards, auditor, tree, total=total),
        "RewardsTotalAboveRewardPerEpoch(uint256,uint256)",
        total,
        REWARD_PER_EPOCH,
    )


def test_a_total_above_the_unreserved_balance_is_refused(rewards, auditor, tree):
    for n in range(1, 6):  # 5 x 1000 reserves all of FUNDING
        post(rewards, auditor, tree, n)
    assert rewards.available() == 0
    assert_custom_error(
        lambda: post(rewards, auditor, tree, 6),
        "RewardsInsufficientFunds(uint256,uint256)",
        tree.total,
        0,
    )
    assert rewards.epochCount() == 5


def test_tokens_sent_without_a_root_stay_available(rewards, auditor, tree, token, holders):
    post(rewards, auditor, tree)
    token.transfer(rewards, 7 * TOKEN, {"from": holders[1]})
    assert rewards.available() == FUNDING - tree.total + 7 * TOKEN
    assert rewards.reserved() == tree.total


# ---------------------------------------------------------------- the challenge window


def test_the_guardian_cancels_a_root_in_its_window_and_frees_its_reserve(
    rewards, auditor, tree, guardian
):
    post(rewards, auditor, tree)
    tx = rewards.cancelRoot(1, {"from": guardian})

    assert dict(tx.events["RootCancelled"][0]) == {"epoch": 1, "by": guardian}
    assert rewards.epoch(1).dict()["cancelled"]
    assert rewards.reserved() == 0
    assert rewards.available() == FUNDING


def test_the_dao_cancels_a_root_by_proposal(rewards, auditor, tree, lifecycle, treasury):
    post(rewards, auditor, tree)
    _, tx = lifecycle.pass_and_execute([action(rewards.cancelRoot, 1)], "Cancel epoch 1")

    assert dict(tx.events["RootCancelled"][0]) == {"epoch": 1, "by": treasury}
    assert rewards.available() == FUNDING


def test_a_root_cannot_be_cancelled_after_its_window(rewards, auditor, tree, guardian):
    ends = post(rewards, auditor, tree).timestamp + CHALLENGE_WINDOW
    after_window()
    assert_custom_error(
        lambda: rewards.cancelRoot(1, {"from": guardian}),
        "RewardsChallengeWindowOver(uint256,uint64)",
        1,
        ends,
    )
    assert rewards.reserved() == tree.total


def test_only_the_guardian_or_the_dao_cancels(rewards, auditor, tree, holders, outsider):
    post(rewards, auditor, tree)
    for account in (auditor, holders[0], outsider):
        assert_custom_error(
            lambda account=account: rewards.cancelRoot(1, {"from": account}),
            "RewardsNotCanceller(address)",
            account.address,
        )
    assert not rewards.epoch(1).dict()["cancelled"]


def test_a_root_is_cancelled_once_and_an_unknown_epoch_is_refused(rewards, auditor, tree, guardian):
    post(rewards, auditor, tree)
    rewards.cancelRoot(1, {"from": guardian})
    assert_custom_error(
        lambda: rewards.cancelRoot(1, {"from": guardian}), "RewardsEpochCancelled(uint256)", 1
    )
    for epoch in (0, 2):
        assert_custom_error(
            lambda epoch=epoch: rewards.cancelRoot(epoch, {"from": guardian}),
            "RewardsUnknownEpoch(uint256)",
            epoch,
        )
    assert_custom_error(lambda: rewards.epoch(2), "RewardsUnknownEpoch(uint256)", 2)


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
    message = typed_message(
        {
            "name": "fairgov ProviderRewards",
            "version": "1",
            "chainId": chain.id,
            "verifyingContract": rewards.address,
        },
        "Claim",
        CLAIM,
        {"epoch": 3, "account": ALICE.address, "amount": 5, "deadline": deadline},
    )
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


# ---------------------------------------------------------------- settings


def test_the_dao_changes_the_settings(rewards, impersonate, treasury, outsider):
    dao = {"from": impersonate(treasury)}
    assert rewards.setSplitRule(LEAVE_ONE_OUT, dao).events["SplitRuleSet"][0]["rule"] == 1
    assert rewards.setRewardPerEpoch(5 * TOKEN, dao).events["RewardPerEpochSet"][0]["amount"] == (
        5 * TOKEN
    )
    assert rewards.setChallengeWindow(60, dao).events["ChallengeWindowSet"][0]["window"] == 60
    assert rewards.setGuardian(outsider, dao).events["GuardianSet"][0]["guardian"] == outsider
    assert rewards.splitRule() == LEAVE_ONE_OUT
    assert rewards.rewardPerEpoch() == 5 * TOKEN
    assert rewards.challengeWindow() == 60
    assert rewards.guardian() == outsider


def test_a_new_window_applies_to_roots_posted_later(rewards, auditor, tree, impersonate, treasury):
    first = post(rewards, auditor, tree).timestamp + CHALLENGE_WINDOW
    rewards.setChallengeWindow(60, {"from": impersonate(treasury)})
    second = post(rewards, auditor, tree, 2)
    assert rewards.epoch(1).dict()["challengeEnds"] == first
    assert rewards.epoch(2).dict()["challengeEnds"] == second.timestamp + 60


def test_only_the_dao_changes_the_settings(rewards, guardian, auditor, holders):
    admin = rewards.DEFAULT_ADMIN_ROLE()
    setters = (
        lambda sender: rewards.setSplitRule(LEAVE_ONE_OUT, {"from": sender}),
        lambda sender: rewards.setRewardPerEpoch(1, {"from": sender}),
        lambda sender: rewards.setChallengeWindow(60, {"from": sender}),
        lambda sender: rewards.setGuardian(sender, {"from": sender}),
        lambda sender: rewards.grantRole(rewards.POSTER_ROLE(), sender, {"from": sender}),
    )
    for account in (guardian, auditor, holders[0]):
        for setter in setters:
            assert_custom_error(
                lambda setter=setter, account=account: setter(account),
                "AccessControlUnauthorizedAccount(address,bytes32)",
                account.address,
                admin,
            )


def test_a_zero_or_overflowing_challenge_window_is_refused(
    rewards, impersonate, treasury, deployer, token
):
    dao = {"from": impersonate(treasury)}
    for window in (0, 2**32, 2**64 - 1):
        assert_custom_error(
            lambda window=window: rewards.setChallengeWindow(window, dao),
            "RewardsInvalidChallengeWindow(uint64)",
            window,
        )
    rewards.setChallengeWindow(2**32 - 1, dao)
    assert_custom_error(
        lambda: ProviderRewards.deploy(
            treasury, token, ZERO_ADDRESS, [], 0, ROWS, 1, {"from": deployer}
        ),
        "RewardsInvalidChallengeWindow(uint64)",
        0,
    )


def test_without_a_guardian_only_the_dao_cancels(
    rewards, auditor, tree, guardian, impersonate, treasury
):
    dao = impersonate(treasury)
    rewards.setGuardian(ZERO_ADDRESS, {"from": dao})
    post(rewards, auditor, tree)
    assert_custom_error(
        lambda: rewards.cancelRoot(1, {"from": guardian}),
        "RewardsNotCanceller(address)",
        guardian.address,
    )
    rewards.cancelRoot(1, {"from": dao})
    assert rewards.epoch(1).dict()["cancelled"]
