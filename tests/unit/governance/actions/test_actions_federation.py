"""The federation policy action: validation with stable codes, calldata, decoding, summaries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from pydantic import TypeAdapter

from governance import actions as act
from governance.chain.deploy import Addresses
from governance.errors import (
    GovernanceError,
    InvalidAggregation,
    InvalidEpsilon,
    InvalidKrumF,
    InvalidMinNodes,
    InvalidTrimBeta,
)
from governance.policy.models import FederationPolicy

ADDRESSES = Addresses(
    token="0x" + "11" * 20,
    timelock="0x" + "22" * 20,
    governor="0x" + "33" * 20,
    training_policy="0x" + "44" * 20,
    audit_registry="0x" + "55" * 20,
    classifier="0x" + "66" * 20,
    rewards="0x" + "77" * 20,
)
STRUCT = "(uint8,uint64,uint32,uint64,uint32)"
ADAPTER = TypeAdapter(list[act.Action])


def _parse(**fields: Any) -> act.Action:
    (action,) = ADAPTER.validate_python([{"kind": "set_federation_policy", **fields}])
    return action


def test_the_policy_goes_to_the_training_policy_as_one_struct() -> None:
    action = act.SetFederationPolicy(
        aggregation="krum", krum_f=1, epsilon=Decimal("2.5"), min_nodes=5
    )
    (target,), (value,), (data,) = act.encode([action], ADDRESSES)

    assert target.lower() == ADDRESSES.training_policy.lower()
    assert value == 0
    assert data == act.SetFederationPolicy.selector() + abi_encode(
        [STRUCT], [(3, 200_000, 1, 2_500_000, 5)]
    )
    assert act.SetFederationPolicy.signature == f"setFederationPolicy({STRUCT})"
    assert act.decode(*act.encode([action], ADDRESSES), ADDRESSES) == [action]


def test_the_defaults_are_the_contracts_and_the_snapshots() -> None:
    action = act.SetFederationPolicy(aggregation="fedavg")
    default = FederationPolicy()

    assert action.args() == ((0, 200_000, 0, 0, 2),)
    assert (action.aggregation, action.krum_f, action.min_nodes) == (
        default.aggregation,
        default.krum_f,
        default.min_nodes,
    )
    assert str(action.trim_beta) == default.trim_beta
    assert action.epsilon is default.epsilon is None


@pytest.mark.parametrize("none", [None, 0, "0", "0.0", "none", "off"])
def test_no_noise_is_none_and_zero_on_chain(none: object) -> None:
    action = _parse(aggregation="fedmedian", epsilon=none, min_nodes=3)
    assert isinstance(action, act.SetFederationPolicy)
    assert action.epsilon is None
    assert action.args()[0][3] == 0


def test_values_parse_from_json_like_the_api_sends_them() -> None:
    action = _parse(aggregation="FedTrimmedAvg", trim_beta=0.25, epsilon="1", min_nodes=4.0)
    assert isinstance(action, act.SetFederationPolicy)
    assert action.aggregation is act.Aggregation.FEDTRIMMEDAVG
    assert (action.trim_beta, action.epsilon) == (Decimal("0.250000"), Decimal("1.000000"))
    assert action.min_nodes == 4
    assert ADAPTER.validate_json(ADAPTER.dump_json([action])) == [action]


# (fields, error class, code, words in the message)
REFUSALS = [
    ({"aggregation": "bulyan"}, InvalidAggregation, "invalid_aggregation", "fedavg, fedmedian"),
    ({"aggregation": 3}, InvalidAggregation, "invalid_aggregation", "unknown"),
    ({"aggregation": "fedavg", "trim_beta": 0}, InvalidTrimBeta, "invalid_trim_beta", "0 and 0.5"),
    ({"aggregation": "fedavg", "trim_beta": "0.5"}, InvalidTrimBeta, "invalid_trim_beta", "0.5"),
    ({"aggregation": "fedavg", "trim_beta": "-0.1"}, InvalidTrimBeta, "invalid_trim_beta", "neg"),
    ({"aggregation": "fedavg", "trim_beta": "1e-7"}, InvalidTrimBeta, "invalid_trim_beta", "six"),
    ({"aggregation": "fedavg", "trim_beta": "x"}, InvalidTrimBeta, "invalid_trim_beta", "number"),
    ({"aggregation": "fedavg", "trim_beta": True}, InvalidTrimBeta, "invalid_trim_beta", "number"),
    ({"aggregation": "fedavg", "krum_f": 1}, InvalidKrumF, "invalid_krum_f", "only to krum"),
    ({"aggregation": "krum", "krum_f": -1}, InvalidKrumF, "invalid_krum_f", "between 0"),
    ({"aggregation": "krum", "krum_f": 2**32}, InvalidKrumF, "invalid_krum_f", "between 0"),
    ({"aggregation": "krum", "krum_f": 1.5}, InvalidKrumF, "invalid_krum_f", "whole"),
    ({"aggregation": "fedavg", "epsilon": -1}, InvalidEpsilon, "invalid_epsilon", "negative"),
    ({"aggregation": "fedavg", "epsilon": "inf"}, InvalidEpsilon, "invalid_epsilon", "finite"),
    ({"aggregation": "fedavg", "epsilon": "NaN"}, InvalidEpsilon, "invalid_epsilon", "finite"),
    ({"aggregation": "fedavg", "epsilon": "1e-7"}, InvalidEpsilon, "invalid_epsilon", "six"),
    ({"aggregation": "fedavg", "epsilon": 2**64}, InvalidEpsilon, "invalid_epsilon", "too large"),
    ({"aggregation": "fedavg", "epsilon": "lots"}, InvalidEpsilon, "invalid_epsilon", "number"),
    ({"aggregation": "fedavg", "min_nodes": 0}, InvalidMinNodes, "invalid_min_nodes", "at least 1"),
    ({"aggregation": "fedavg", "min_nodes": -2}, InvalidMinNodes, "invalid_min_nodes", "between"),
    ({"aggregation": "fedavg", "min_nodes": "two"}, InvalidMinNodes, "invalid_min_nodes", "whole"),
    (
        {"aggregation": "krum", "krum_f": 2, "min_nodes": 6},
        InvalidMinNodes,
        "invalid_min_nodes",
        "2 * krum_f + 3 = 7",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "error", "code", "words"), REFUSALS)
def test_values_the_contract_would_refuse_are_refused_first_with_their_code(
    fields: dict[str, Any], error: type[GovernanceError], code: str, words: str
) -> None:
    with pytest.raises(error) as caught:
        _parse(**fields)
    assert caught.value.code == code
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "needed"),
    [
        ({"aggregation": "fedmedian", "min_nodes": 2}, 3),
        ({"aggregation": "fedtrimmedavg", "trim_beta": "0.2", "min_nodes": 4}, 5),
        ({"aggregation": "fedtrimmedavg", "trim_beta": "0.3", "min_nodes": 3}, 4),
        ({"aggregation": "fedtrimmedavg", "trim_beta": "0.000001", "min_nodes": 999_999}, 10**6),
    ],
)
def test_a_robust_strategy_needs_the_nodes_it_cuts_from(
    fields: dict[str, Any], needed: int
) -> None:
    # Regression (#16 review): FedTrimmedAvg(0.2) with 3 nodes cut nothing and FedMedian of
    # two nodes is their mean, yet both were accepted as "robust".
    with pytest.raises(InvalidMinNodes, match=f"at least {needed} nodes"):
        _parse(**fields)
    assert _parse(**(fields | {"min_nodes": needed})).min_nodes == needed


def test_krum_with_f_zero_needs_three_nodes() -> None:
    assert act.SetFederationPolicy(aggregation="krum", min_nodes=3).krum_f == 0
    with pytest.raises(InvalidMinNodes):
        act.SetFederationPolicy(aggregation="krum", min_nodes=2)
    assert act.krum_nodes_needed(4) == 11


@pytest.mark.parametrize(
    "words",
    [
        (4, 200_000, 0, 0, 2),  # no such strategy
        (0, 0, 0, 0, 2),  # beta 0
        (0, 200_000, 1, 0, 2),  # f with FedAvg
        (3, 200_000, 1, 0, 4),  # Krum(1) with 4 nodes
        (0, 200_000, 0, 0, 0),  # no nodes
    ],
)
def test_a_call_the_contract_would_refuse_decodes_as_a_raw_call(words: tuple[int, ...]) -> None:
    data = act.SetFederationPolicy.selector() + abi_encode(["uint256"] * 5, list(words))
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


@pytest.mark.parametrize(
    ("fields", "summary"),
    [
        (
            {"aggregation": "fedavg"},
            "Set the federation policy: FedAvg, audit counts without noise, at least 2 nodes",
        ),
        (
            {"aggregation": "fedtrimmedavg", "trim_beta": "0.25", "epsilon": "0.5", "min_nodes": 4},
            "Set the federation policy: FedTrimmedAvg (beta 0.25), audit counts with noise at "
            "epsilon 0.5 per node, at least 4 nodes",
        ),
        (
            {"aggregation": "krum", "krum_f": 2, "min_nodes": 7},
            "Set the federation policy: Krum (f 2), audit counts without noise, at least 7 nodes",
        ),
    ],
)
def test_summaries_say_what_a_voter_decides(fields: dict[str, Any], summary: str) -> None:
    assert act.describe(_parse(**fields)) == summary


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda v: act.SetFederationPolicy(aggregation="fedavg", epsilon=v), InvalidEpsilon),
        (lambda v: act.SetFederationPolicy(aggregation="fedavg", trim_beta=v), InvalidTrimBeta),
        (lambda v: act.SetEvidenceRule(confidence_level=v), GovernanceError),
        (
            lambda v: act.SetThreshold(metric="accuracy", value=v, direction="lower"),
            GovernanceError,
        ),
    ],
)
@pytest.mark.parametrize("extreme", ["1e999999999", "1e-999999999"])
def test_extreme_exponents_are_refused_not_overflowed_or_rounded_to_zero(
    build: Any, error: type[GovernanceError], extreme: str
) -> None:
    # Scaling them by 1e6 raised decimal.Overflow (a 500 in the API) or underflowed to 0.
    with pytest.raises(error):
        build(extreme)
