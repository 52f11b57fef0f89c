"""Evidence rule actions: validation with the engine's codes, calldata, decoding, summaries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from pydantic import TypeAdapter

from bias_checks import (
    EvidenceRule,
    InvalidConfidenceLevelError,
    InvalidMinimumSizeError,
    InvalidOnInconclusiveError,
)
from governance import actions as act
from governance.chain.deploy import Addresses
from governance.errors import (
    InvalidConfidenceLevel,
    InvalidMinimumSize,
    InvalidOnInconclusive,
    MetricHasNoInterval,
)

ADDRESSES = Addresses(
    token="0x" + "11" * 20,
    timelock="0x" + "22" * 20,
    governor="0x" + "33" * 20,
    training_policy="0x" + "44" * 20,
    audit_registry="0x" + "55" * 20,
    classifier="0x" + "66" * 20,
    rewards="0x" + "77" * 20,
)
DP = "demographic_parity_difference"
SET_SELECTOR = "0x" + act.SetEvidenceRule.selector().hex()


def test_the_default_rule_goes_on_chain_under_the_zero_key() -> None:
    rule = act.SetEvidenceRule(confidence_level=Decimal("0.99"), min_group_size=50)
    (target,), (value,), (data,) = act.encode([rule], ADDRESSES)

    assert target.lower() == ADDRESSES.training_policy.lower()
    assert value == 0
    assert data == act.SetEvidenceRule.selector() + abi_encode(
        ["bytes32", "uint64", "uint64", "uint64", "uint8"], [b"\0" * 32, 990_000, 50, 10, 0]
    )
    assert act.decode(*act.encode([rule], ADDRESSES), ADDRESSES) == [rule]


def test_an_override_names_its_metric_and_what_inconclusive_does() -> None:
    rule = act.SetEvidenceRule(metric=DP, on_inconclusive="approve_with_warning")
    args = rule.args()

    assert args[0] == DP.encode().ljust(32, b"\0")
    assert args[1:] == (950_000, 30, 10, 1)


def test_the_defaults_are_the_engines_and_the_contracts() -> None:
    rule, engine = act.SetEvidenceRule(), EvidenceRule()

    assert float(rule.confidence_level) == engine.confidence_level
    assert (rule.min_group_size, rule.min_denominator) == (
        engine.min_group_size,
        engine.min_denominator,
    )
    assert rule.on_inconclusive == engine.on_inconclusive.value


@pytest.mark.parametrize("level", ["0.5", "1", "1.2", "0", "-0.9", "NaN", "inf"])
def test_a_confidence_outside_one_half_to_one_has_the_engines_code(level: str) -> None:
    with pytest.raises(InvalidConfidenceLevel) as caught:
        act.SetEvidenceRule(confidence_level=level)
    with pytest.raises(InvalidConfidenceLevelError) as engine:
        EvidenceRule(confidence_level=float(level))
    assert caught.value.code == engine.value.code == "invalid_confidence_level"


@pytest.mark.parametrize(("level", "problem"), [("0.9500001", "six decimals"), ("x", "number")])
def test_a_confidence_the_chain_cannot_hold_is_refused(level: str, problem: str) -> None:
    with pytest.raises(InvalidConfidenceLevel, match=problem) as caught:
        act.SetEvidenceRule(confidence_level=level)
    assert caught.value.code == "invalid_confidence_level"


@pytest.mark.parametrize("field", ["min_group_size", "min_denominator"])
@pytest.mark.parametrize("size", [-1, 2**64, 1.5, "ten", True, None])
def test_a_minimum_that_does_not_fit_has_the_engines_code(field: str, size: int) -> None:
    with pytest.raises(InvalidMinimumSize) as caught:
        act.SetEvidenceRule.model_validate({field: size})
    assert caught.value.code == "invalid_minimum_size"
    assert caught.value.details["parameter"] == field
    if size in (-1, 1.5, True):
        with pytest.raises(InvalidMinimumSizeError) as engine:
            EvidenceRule(**{field: size})
        assert engine.value.code == caught.value.code


def test_whole_sizes_in_json_are_accepted() -> None:
    rule = act.SetEvidenceRule.model_validate({"min_group_size": 50.0, "min_denominator": "7"})
    assert (rule.min_group_size, rule.min_denominator) == (50, 7)


@pytest.mark.parametrize("build", [act.SetEvidenceRule, act.ClearEvidenceRule])
def test_count_has_no_interval(build: Any) -> None:
    with pytest.raises(MetricHasNoInterval) as caught:
        build(metric="count")
    assert caught.value.code == "metric_has_no_interval"


def test_a_rule_on_count_on_chain_decodes_as_a_raw_call() -> None:
    data = act.SetEvidenceRule.selector() + abi_encode(
        ["bytes32", "uint64", "uint64", "uint64", "uint8"],
        [b"count".ljust(32, b"\0"), 950_000, 30, 10, 0],
    )
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)
    assert decoded.selector == SET_SELECTOR


def test_a_confidence_the_contract_would_refuse_decodes_as_a_raw_call() -> None:
    data = act.SetEvidenceRule.selector() + abi_encode(
        ["bytes32", "uint64", "uint64", "uint64", "uint8"], [b"\0" * 32, 1_000_000, 30, 10, 0]
    )
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_clearing_the_default_rule_is_not_an_action() -> None:
    data = act.ClearEvidenceRule.selector() + b"\0" * 32
    (decoded,) = act.decode([ADDRESSES.training_policy], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_rules_parse_from_json_like_the_api_sends_them() -> None:
    adapter = TypeAdapter(list[act.Action])
    (rule,) = adapter.validate_python(
        [{"kind": "set_evidence_rule", "metric": DP, "confidence_level": 0.9}]
    )
    assert isinstance(rule, act.SetEvidenceRule)
    assert rule.confidence_level == Decimal("0.9")
    assert adapter.validate_json(adapter.dump_json([rule])) == [rule]


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (
            act.SetEvidenceRule(),
            "Set the default evidence rule: 0.95 confidence, groups of at least 30 rows, "
            "denominators of at least 10; INCONCLUSIVE blocks the model",
        ),
        (
            act.SetEvidenceRule(
                metric=DP, confidence_level=Decimal("0.99"), on_inconclusive="approve_with_warning"
            ),
            f"Set the evidence rule of {DP}: 0.99 confidence, groups of at least 30 rows, "
            "denominators of at least 10; INCONCLUSIVE approves it with a warning",
        ),
        (
            act.ClearEvidenceRule(metric=DP),
            f"Clear the evidence rule of {DP} (the default rule applies again)",
        ),
    ],
)
def test_describe(action: act.Action, summary: str) -> None:
    assert act.describe(action) == summary


@pytest.mark.parametrize("level", ["\u0660.\u0669\u0665", "\uff10.\uff19\uff15", "0.9_5", "nan"])
def test_a_confidence_in_other_digits_is_not_read_as_a_number(level: str) -> None:
    # Regression (review, session 15): Decimal reads Arabic-Indic and full-width digits and
    # underscores, so these were voted as 0.95.
    with pytest.raises(InvalidConfidenceLevel, match="plain decimal") as caught:
        act.SetEvidenceRule(confidence_level=level)
    assert caught.value.code == "invalid_confidence_level"


@pytest.mark.parametrize("size", ["9" * 5000, "\uff13\uff10", "3_0"])
def test_a_minimum_in_other_digits_or_too_long_has_the_code(size: str) -> None:
    # Regression: 5,000 digits gave Python's own "Exceeds the limit (4300 digits)" message
    # as invalid_request; full-width digits were read as 30.
    with pytest.raises(InvalidMinimumSize) as caught:
        act.SetEvidenceRule.model_validate({"min_denominator": size})
    assert caught.value.code == "invalid_minimum_size"
    assert len(caught.value.message) < 200  # the value is cut in a one-line message


@pytest.mark.parametrize("choice", ["warn", "BLOCK", 1, None])
def test_an_unknown_gate_choice_has_the_engines_code(choice: object) -> None:
    with pytest.raises(InvalidOnInconclusive) as caught:
        act.SetEvidenceRule.model_validate({"on_inconclusive": choice})
    with pytest.raises(InvalidOnInconclusiveError) as engine:
        EvidenceRule(on_inconclusive=choice)  # type: ignore[arg-type]
    assert caught.value.code == engine.value.code == "invalid_on_inconclusive"
    assert act.SetEvidenceRule(on_inconclusive="approve_with_warning").on_inconclusive == (
        "approve_with_warning"
    )
