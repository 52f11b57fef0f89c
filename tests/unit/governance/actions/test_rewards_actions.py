"""Actions on the providers' rewards: funding from the treasury and the ProviderRewards settings."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from pydantic import TypeAdapter, ValidationError
from web3 import Web3

from governance import actions as act
from governance.chain.deploy import Addresses

ADDRESSES = Addresses(
    token="0x" + "11" * 20,
    timelock="0x" + "22" * 20,
    governor="0x" + "33" * 20,
    training_policy="0x" + "44" * 20,
    audit_registry="0x" + "55" * 20,
    classifier="0x" + "66" * 20,
    rewards="0x" + "77" * 20,
)
TOKEN = Web3.to_checksum_address(ADDRESSES.token)
REWARDS = Web3.to_checksum_address(ADDRESSES.rewards)
STRANGER = Web3.to_checksum_address("0x" + "ab" * 20)
UNIT = 10**18
ACTIONS = TypeAdapter(list[act.Action])


def selector(signature: str) -> bytes:
    return Web3.keccak(text=signature)[:4]


def test_funding_is_a_token_transfer_from_the_treasury_to_the_rewards() -> None:
    targets, values, calldatas = act.encode([act.FundRewards.of(ADDRESSES, 2_500)], ADDRESSES)
    assert targets == [TOKEN]
    assert values == [0]
    assert calldatas == [
        selector("transfer(address,uint256)")
        + abi_encode(["address", "uint256"], [REWARDS, 2_500 * UNIT])
    ]


def test_settings_call_the_rewards_contract_with_their_own_selectors() -> None:
    targets, values, calldatas = act.encode(
        [
            act.SetSplitRule(rule="leave_one_out"),
            act.SetSplitRule(rule="rows"),
            act.SetRewardPerEpoch(tokens=1_000),
            act.SetRewardsChallengeWindow(seconds=3_600),
            act.CancelRewardsRoot(epoch=7),
        ],
        ADDRESSES,
    )
    assert targets == [REWARDS] * 5
    assert values == [0] * 5
    assert calldatas == [
        selector("setSplitRule(uint8)") + abi_encode(["uint8"], [1]),
        selector("setSplitRule(uint8)") + abi_encode(["uint8"], [0]),
        selector("setRewardPerEpoch(uint256)") + abi_encode(["uint256"], [1_000 * UNIT]),
        selector("setChallengeWindow(uint64)") + abi_encode(["uint64"], [3_600]),
        selector("cancelRoot(uint256)") + abi_encode(["uint256"], [7]),
    ]


def test_every_rewards_action_decodes_back_to_itself() -> None:
    actions: list[act.Action] = [
        act.FundRewards.of(ADDRESSES, 1),
        act.SetSplitRule(rule="leave_one_out"),
        act.SetRewardPerEpoch(tokens=0),
        act.SetRewardsChallengeWindow(seconds=1),
        act.CancelRewardsRoot(epoch=1),
    ]
    assert act.decode(*act.encode(actions, ADDRESSES), ADDRESSES) == actions
    as_json = ACTIONS.dump_python(actions, mode="json")
    assert ACTIONS.validate_python(as_json) == actions


def test_funding_without_an_address_goes_to_the_deployments_rewards() -> None:
    (action,) = ACTIONS.validate_python([{"kind": "fund_rewards", "tokens": 3}])
    calls = act.encode([action], ADDRESSES)
    assert calls == act.encode([act.FundRewards.of(ADDRESSES, 3)], ADDRESSES)
    assert act.decode(*calls, ADDRESSES) == [act.FundRewards(rewards=REWARDS, tokens=3)]


def test_a_treasury_transfer_to_anyone_else_is_a_raw_call_not_funding() -> None:
    data = selector("transfer(address,uint256)") + abi_encode(
        ["address", "uint256"], [STRANGER, 5 * UNIT]
    )
    (decoded,) = act.decode([TOKEN], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_a_transfer_of_a_fraction_of_a_token_is_a_raw_call() -> None:
    data = selector("transfer(address,uint256)") + abi_encode(
        ["address", "uint256"], [REWARDS, UNIT + 1]
    )
    (decoded,) = act.decode([TOKEN], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_a_rewards_call_to_another_contract_is_a_raw_call() -> None:
    data = selector("cancelRoot(uint256)") + abi_encode(["uint256"], [1])
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_an_unknown_split_rule_index_is_a_raw_call() -> None:
    data = selector("setSplitRule(uint8)") + abi_encode(["uint8"], [2])
    (decoded,) = act.decode([REWARDS], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "fund_rewards", "rewards": REWARDS, "tokens": 0},
        {"kind": "fund_rewards", "rewards": "nope", "tokens": 1},
        {"kind": "set_split_rule", "rule": "shapley"},
        {"kind": "set_reward_per_epoch", "tokens": -1},
        {"kind": "set_rewards_challenge_window", "seconds": 0},
        {"kind": "set_rewards_challenge_window", "seconds": 2**32},
        {"kind": "cancel_rewards_root", "epoch": 0},
    ],
)
def test_bad_values_are_refused_before_anything_is_proposed(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ACTIONS.validate_python([bad])


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (
            act.FundRewards.of(ADDRESSES, 2_500),
            "Fund the providers' rewards with 2500 tokens from the treasury",
        ),
        (act.SetSplitRule(rule="rows"), "Split the providers' rewards by rows"),
        (act.SetSplitRule(rule="leave_one_out"), "Split the providers' rewards by leave-one-out"),
        (act.SetRewardPerEpoch(tokens=1_000), "Set the reward per approved model to 1000 tokens"),
        (
            act.SetRewardsChallengeWindow(seconds=60),
            "Set the challenge window of rewards roots to 60 seconds",
        ),
        (act.CancelRewardsRoot(epoch=3), "Cancel the rewards root of epoch 3"),
    ],
)
def test_each_reads_as_one_line(action: act.Action, summary: str) -> None:
    assert act.describe(action) == summary
