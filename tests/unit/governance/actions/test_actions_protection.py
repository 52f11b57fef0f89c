"""Actions on the protection of loosening: refused with the governor's codes, encoded exactly."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from pydantic import TypeAdapter
from web3 import Web3

from governance import actions as act
from governance.chain.deploy import Addresses
from governance.errors import InvalidLooseningPeriod, InvalidSupermajority

ADDRESSES = Addresses(
    token="0x" + "11" * 20,
    timelock="0x" + "22" * 20,
    governor="0x" + "33" * 20,
    training_policy="0x" + "44" * 20,
    audit_registry="0x" + "55" * 20,
    classifier="0x" + "66" * 20,
    rewards="0x" + "77" * 20,
)
GOVERNOR = Web3.to_checksum_address(ADDRESSES.governor)
GUARDIAN = Web3.to_checksum_address("0x" + "ab" * 20)
ACTIONS = TypeAdapter(list[act.Action])


def selector(signature: str) -> bytes:
    return Web3.keccak(text=signature)[:4]


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [(1, 2), (2, 4), (0, 1), (5, 4), (3, 0), (0, 0), (-1, 1), (2**64, 2**64), ("x", 3), (True, 1),
     (2.5, 3), (None, 3)],
)  # fmt: skip
def test_a_supermajority_outside_half_to_one_is_refused_with_its_code(
    numerator: Any, denominator: Any
) -> None:
    with pytest.raises(InvalidSupermajority) as caught:
        act.SetSupermajority(numerator=numerator, denominator=denominator)
    assert caught.value.code == "invalid_supermajority"
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("numerator", "denominator"), [(2, 3), (1, 1), (51, 100), (2**64 - 1, 2**64 - 1), ("3", 4)]
)
def test_fractions_above_one_half_up_to_one_are_accepted(numerator: Any, denominator: int) -> None:
    action = act.SetSupermajority(numerator=numerator, denominator=denominator)
    assert (action.numerator, action.denominator) == (int(numerator), denominator)
    assert act.is_supermajority(action.numerator, action.denominator)


@pytest.mark.parametrize("blocks", [0, -1, 2**32, "a", 1.5, True, None])
def test_a_loosening_period_outside_uint32_is_refused_with_its_code(blocks: Any) -> None:
    with pytest.raises(InvalidLooseningPeriod) as caught:
        act.SetLooseningVotingPeriod(blocks=blocks)
    assert caught.value.code == "invalid_loosening_period"


def test_json_with_a_bad_fraction_is_refused_with_the_code_not_a_validation_error() -> None:
    with pytest.raises(InvalidSupermajority):
        ACTIONS.validate_python([{"kind": "set_supermajority", "numerator": 1, "denominator": 2}])
    with pytest.raises(InvalidLooseningPeriod):
        ACTIONS.validate_python([{"kind": "set_loosening_voting_period", "blocks": 0}])


def test_each_calls_the_governor_with_its_own_selector_and_arguments() -> None:
    targets, values, calldatas = act.encode(
        [
            act.SetSupermajority(numerator=3, denominator=4),
            act.SetLooseningVotingPeriod(blocks=60),
            act.SetGuardian(guardian=GUARDIAN),
            act.SetGuardian(guardian=None),
        ],
        ADDRESSES,
    )
    assert targets == [GOVERNOR] * 4
    assert values == [0] * 4
    assert calldatas == [
        selector("setSupermajority(uint64,uint64)") + abi_encode(["uint64", "uint64"], [3, 4]),
        selector("setLooseningVotingPeriod(uint32)") + abi_encode(["uint32"], [60]),
        selector("setProposalGuardian(address)") + abi_encode(["address"], [GUARDIAN]),
        selector("setProposalGuardian(address)") + abi_encode(["address"], ["0x" + "00" * 20]),
    ]


def test_the_zero_address_means_no_guardian() -> None:
    assert act.SetGuardian(guardian="0x" + "00" * 20) == act.SetGuardian(guardian=None)


def test_a_guardian_call_to_another_contract_decodes_as_a_raw_call() -> None:
    data = selector("setProposalGuardian(address)") + abi_encode(["address"], [GUARDIAN])
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_calldata_with_a_fraction_the_governor_refuses_decodes_as_a_raw_call() -> None:
    data = selector("setSupermajority(uint64,uint64)") + abi_encode(["uint64", "uint64"], [1, 2])
    (decoded,) = act.decode([GOVERNOR], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (
            act.SetSupermajority(numerator=3, denominator=4),
            "Set the supermajority of loosening proposals to 3/4 of the FOR and AGAINST votes",
        ),
        (
            act.SetLooseningVotingPeriod(blocks=60),
            "Set minimum voting period of loosening proposals to 60 blocks",
        ),
        (act.SetGuardian(guardian=GUARDIAN), f"Set the fairness guardian to {GUARDIAN}"),
        (
            act.SetGuardian(guardian=None),
            "Remove the fairness guardian (nobody may cancel loosening proposals)",
        ),
    ],
)
def test_describe(action: act.Action, summary: str) -> None:
    assert act.describe(action) == summary
