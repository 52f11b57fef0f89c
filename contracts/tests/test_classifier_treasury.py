"""The treasury's tokens are votes: handing them, or their votes, to accounts a majority picks
is loosening, and so is loosening the guards of the rewards that pay them out.

An outside review had a 64 % majority make the timelock delegate the treasury's tokens to one
of its members (a call to the token, classified `none`), then pass a loosening proposal with
the treasury's votes. Each case is voted 65/35 by `judge`: a loosening one ends Defeated.
"""

import pytest
from dao import Change, action
from rewards_support import CHALLENGE_WINDOW, REWARD_PER_EPOCH


def _token_calls(token, rewards, member):
    return {
        "delegate-to-a-member": action(token.delegate, member),
        "transfer-to-a-member": action(token.transfer, member, 1),
        "approve-a-member": action(token.approve, member, 1),
        "transferFrom": action(token.transferFrom, member, member, 1),
        "a-view": action(token.totalSupply),
        "transfer-to-rewards-with-the-wrong-length": (
            token.address,
            token.transfer.encode_input(rewards, 1) + "00",
        ),
    }


TOKEN_CASES = [
    "delegate-to-a-member",
    "transfer-to-a-member",
    "approve-a-member",
    "transferFrom",
    "a-view",
    "transfer-to-rewards-with-the-wrong-length",
]


@pytest.mark.parametrize("case", TOKEN_CASES)
def test_a_call_to_the_token_that_could_move_the_treasurys_votes_is_loosening(
    judge, token, rewards_contract, holders, case
):
    calls = _token_calls(token, rewards_contract, holders[0])
    assert list(calls) == TOKEN_CASES

    judge([calls[case]], [Change.TREASURY_MOVED])


def test_funding_the_rewards_is_not_loosening(judge, token, rewards_contract):
    judge([action(token.transfer, rewards_contract, 10**18)], [Change.NONE])


def test_a_transfer_whose_recipient_word_has_high_bits_is_unrecognised(
    classifier, governor, token, rewards_contract
):
    data = token.transfer.encode_input(rewards_contract, 1)
    dirty = data[:10] + "ff" + data[12:]  # the recipient word's first byte

    assert classifier.classifyCall(governor, token, dirty) == Change.UNRECOGNISED


def _rewards_calls(rewards, member):
    poster = rewards.POSTER_ROLE()
    return {
        "grant-poster": (action(rewards.grantRole, poster, member), Change.REWARDS_LOOSENED),
        "revoke-poster": (action(rewards.revokeRole, poster, member), Change.REWARDS_LOOSENED),
        "new-guardian": (action(rewards.setGuardian, member), Change.REWARDS_LOOSENED),
        "shorter-window": (
            action(rewards.setChallengeWindow, CHALLENGE_WINDOW - 1),
            Change.REWARDS_LOOSENED,
        ),
        "larger-reward": (
            action(rewards.setRewardPerEpoch, REWARD_PER_EPOCH + 1),
            Change.REWARDS_LOOSENED,
        ),
        "equal-window": (action(rewards.setChallengeWindow, CHALLENGE_WINDOW), Change.NONE),
        "longer-window": (action(rewards.setChallengeWindow, CHALLENGE_WINDOW + 1), Change.NONE),
        "equal-reward": (action(rewards.setRewardPerEpoch, REWARD_PER_EPOCH), Change.NONE),
        "smaller-reward": (action(rewards.setRewardPerEpoch, REWARD_PER_EPOCH - 1), Change.NONE),
        "split-rule": (action(rewards.setSplitRule, 1), Change.NONE),
        "cancel-root": (action(rewards.cancelRoot, 1), Change.NONE),
        "unknown-selector": ((rewards.address, "0xdeadbeef"), Change.UNRECOGNISED),
        "short": ((rewards.address, "0x12"), Change.UNRECOGNISED),
        "window-over-uint64": (
            (rewards.address, rewards.setChallengeWindow.signature + "ff" * 32),
            Change.UNRECOGNISED,
        ),
        "guardian-wrong-length": (
            (rewards.address, rewards.setGuardian.encode_input(member) + "00" * 32),
            Change.UNRECOGNISED,
        ),
    }


REWARDS_CASES = [
    "grant-poster",
    "revoke-poster",
    "new-guardian",
    "shorter-window",
    "larger-reward",
    "equal-window",
    "longer-window",
    "equal-reward",
    "smaller-reward",
    "split-rule",
    "cancel-root",
    "unknown-selector",
    "short",
    "window-over-uint64",
    "guardian-wrong-length",
]


@pytest.mark.parametrize("case", REWARDS_CASES)
def test_rewards_changes(judge, rewards_contract, holders, case):
    calls = _rewards_calls(rewards_contract, holders[0])
    assert list(calls) == REWARDS_CASES
    call, change = calls[case]

    judge([call], [change])


def test_a_majority_cannot_take_the_treasurys_votes_to_pass_a_loosening_proposal(
    judge, token, treasury, holders
):
    """The review's attack: the delegation it needed is now Defeated at 65/35, so the treasury
    never votes."""
    judge([action(token.delegate, holders[0])], [Change.TREASURY_MOVED])

    assert token.delegates(treasury) == "0x" + "00" * 20
    assert token.getVotes(treasury) == 0
    assert token.balanceOf(treasury) > 0
