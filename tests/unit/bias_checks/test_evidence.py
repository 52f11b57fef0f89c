"""The evidence rule: its bounds match what the policy contract can store."""

from __future__ import annotations

import numpy as np
import pytest

from bias_checks import (
    BiasChecksInputError,
    EvidenceRule,
    InvalidConfidenceLevelError,
    InvalidMinimumSizeError,
    InvalidOnInconclusiveError,
    OnInconclusive,
    Threshold,
    Verdict,
    audit_predictions,
)
from bias_checks._errors import INVALID_CONFIDENCE_LEVEL, INVALID_MINIMUM_SIZE


@pytest.mark.parametrize("level", [0.5, 1.0, 1.2, 0.0, float("nan"), True, "0.95", 0.9999999])
def test_a_confidence_the_contract_cannot_store_is_refused(level: object) -> None:
    with pytest.raises(InvalidConfidenceLevelError, match=INVALID_CONFIDENCE_LEVEL[:40]) as err:
        EvidenceRule(confidence_level=level)  # type: ignore[arg-type]
    assert err.value.code == "invalid_confidence_level"


@pytest.mark.parametrize("size", [-1, 2**64, 1.5, True])
@pytest.mark.parametrize("field", ["min_group_size", "min_denominator"])
def test_a_size_the_contract_cannot_store_is_refused(field: str, size: object) -> None:
    # Regression: 10**23 was accepted by the engine and the CLI although the policy stores
    # a uint64, so the CLI printed INCONCLUSIVE instead of invalid_minimum_size.
    with pytest.raises(InvalidMinimumSizeError, match=INVALID_MINIMUM_SIZE[:40]) as err:
        EvidenceRule(**{field: size})  # type: ignore[arg-type]
    assert err.value.code == "invalid_minimum_size"


def test_the_extremes_the_contract_stores_are_accepted_and_round_trip() -> None:
    rule = EvidenceRule(
        confidence_level=0.999999,
        min_group_size=2**64 - 1,
        min_denominator=0,
        on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING,
    )
    assert EvidenceRule.from_dict(rule.to_dict()) == rule


@pytest.mark.parametrize("level", [0.95 + 1e-12, 0.9999999999999, 0.1 + 0.2 + 0.3, 10**400])
def test_a_confidence_governance_refuses_is_refused_by_the_engine_too(level: object) -> None:
    # Regression (review, session 15): the engine allowed 1e-12 of slack on the six decimals
    # and recorded 0.9500000000009999 in a report, a level no policy can vote; 10**400 raised
    # OverflowError instead of the code.
    with pytest.raises(InvalidConfidenceLevelError) as err:
        EvidenceRule(confidence_level=level)  # type: ignore[arg-type]
    assert err.value.code == "invalid_confidence_level"


@pytest.mark.parametrize("choice", ["warn", "", None, ["block"], 1])
def test_an_unknown_gate_choice_has_its_own_code(choice: object) -> None:
    # Regression: a plain ValueError without a code.
    with pytest.raises(InvalidOnInconclusiveError, match="block") as err:
        EvidenceRule(on_inconclusive=choice)  # type: ignore[arg-type]
    assert err.value.code == "invalid_on_inconclusive"
    assert EvidenceRule(on_inconclusive="approve_with_warning").on_inconclusive == (  # type: ignore[arg-type]
        OnInconclusive.APPROVE_WITH_WARNING
    )


def test_a_numpy_whole_number_is_a_size() -> None:
    # Regression (review, session 17): np.int64(30) was refused as not a whole number.
    rule = EvidenceRule(min_group_size=np.int64(30), min_denominator=np.uint8(5))  # type: ignore[arg-type]
    assert (rule.min_group_size, rule.min_denominator) == (30, 5)
    assert type(rule.min_group_size) is int
    with pytest.raises(InvalidMinimumSizeError):
        EvidenceRule(min_group_size=np.bool_(True))  # type: ignore[arg-type]


@pytest.mark.parametrize("min_group_size", [0, 30, 50, 10**6])
def test_a_count_check_judges_every_group_whatever_the_rule(min_group_size: int) -> None:
    # Regression (review, session 17): `count >= 25` PASSed with groups of 18 and 24 rows,
    # because the rule's minimum size left them out of an exact count.
    sizes = {"a": 18, "b": 24, "c": 200}
    group = np.repeat(list(sizes), list(sizes.values()))
    y = np.arange(group.size) % 2
    result = audit_predictions(
        y,
        y,
        sensitive_features=group,
        thresholds=[Threshold("count", 25, direction="lower")],
        evidence=EvidenceRule(min_group_size=min_group_size),
        n_boot=0,
    )
    (check,) = result.checks
    assert (check.verdict, check.value, check.unreliable_groups) == (Verdict.FAIL, 18.0, ())
    assert check.n_judged_groups == 3


@pytest.mark.parametrize(
    ("texts", "code"),
    [
        ({"confidence_level": "0.9_5"}, "invalid_confidence_level"),
        ({"confidence_level": "\u0660.\u0669\u0665"}, "invalid_confidence_level"),
        ({"confidence_level": "95%"}, "invalid_confidence_level"),
        ({"confidence_level": "1e999"}, "invalid_confidence_level"),
        ({"min_group_size": "3_0"}, "invalid_minimum_size"),
        ({"min_group_size": "30.0"}, "invalid_minimum_size"),
        ({"min_denominator": "\uff13\uff10"}, "invalid_minimum_size"),
        ({"min_denominator": "9" * 5000}, "invalid_minimum_size"),
        ({"on_inconclusive": "warn"}, "invalid_on_inconclusive"),
    ],
)
def test_a_rule_read_from_text_takes_plain_ascii_numbers_only(
    texts: dict[str, str], code: str
) -> None:
    with pytest.raises(BiasChecksInputError) as err:
        EvidenceRule.from_text(texts)
    assert err.value.code == code


def test_a_rule_read_from_text_keeps_what_it_does_not_name() -> None:
    base = EvidenceRule(min_group_size=50, on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING)
    rule = EvidenceRule.from_text({"confidence_level": " 0.99 ", "min_denominator": "+0"}, base)
    assert rule == EvidenceRule(
        confidence_level=0.99,
        min_group_size=50,
        min_denominator=0,
        on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING,
    )
