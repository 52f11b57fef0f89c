"""ProviderRewards: the DAO funds it from its treasury, the auditor posts roots that reserve their
total, the guardian or the DAO cancels them in the challenge window, and only the DAO changes the
settings. Claims are in test_rewards_claims.py."""

from brownie import ProviderRewards
from dao import TOKEN, ZERO_ADDRESS, ZERO_HASH, action
from reverts import assert_custom_error
from rewards_support import (
    APPROVED_RUNS,
    CHALLENGE_WINDOW,
    FUNDING,
    LEAVE_ONE_OUT,
    REWARD_PER_EPOCH,
    ROWS,
    TREASURY,
    after_window,
    post,
    publish_audit,
    run,
    statement,
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


def test_only_a_run_the_registry_holds_as_passed_is_posted(rewards, auditor, registry, tree):
    """A stolen or buggy poster key cannot open epochs for made-up runs, nor for a failed model."""
    never_audited, failed = APPROVED_RUNS + 1, APPROVED_RUNS + 2
    publish_audit(registry, auditor, failed, passed=False)
    for n in (never_audited, failed):
        assert_custom_error(
            lambda n=n: post(rewards, auditor, tree, n), "RewardsRunNotApproved(bytes32)", run(n)
        )
    assert rewards.epochCount() == 0
    assert rewards.reserved() == 0
    assert rewards.registry() == registry


def test_a_cancelled_run_may_post_its_corrected_root(rewards, auditor, tree, guardian):
    post(rewards, auditor, tree)
    rewards.cancelRoot(1, {"from": guardian})
    corrected = rewards.postRoot(run(1), statement(9), statement(10), tree.total, {"from": auditor})
    assert corrected.return_value == 2
    assert rewards.epochOfRun(run(1)) == 2
    assert rewards.epoch(2)["root"] == statement(9)
    assert rewards.reserved() == tree.total
    assert_custom_error(
        lambda: post(rewards, auditor, tree), "RewardsRunAlreadyPosted(bytes32)", run(1)
    )


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
    rewards, impersonate, treasury, deployer, token, registry
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
            treasury, token, registry, ZERO_ADDRESS, [], 0, ROWS, 1, {"from": deployer}
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
