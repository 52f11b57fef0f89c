"""Thresholds and verdict rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bias_checks import (
    InvalidThresholdError,
    Threshold,
    UnknownMetricError,
    Verdict,
    overall_verdict,
)
from bias_checks._checks import Measurement, judge
from bias_checks._errors import INVALID_THRESHOLD


def measured(
    values: list[float],
    *,
    low: list[float] | None = None,
    high: list[float] | None = None,
    reliable: list[float] | None = None,
    judgeable: list[bool] | None = None,
) -> Measurement:
    nan = [math.nan] * len(values)
    return Measurement(
        np.array(values),
        np.array(low or nan),
        np.array(high or nan),
        np.array(reliable or values),
        np.array(judgeable or [True] * len(values)),
    )


def test_direction_defaults_to_the_catalogue_and_can_be_overridden() -> None:
    assert Threshold("demographic_parity_ratio", 0.8).direction == "lower"
    assert Threshold("selection_rate", 0.9, direction="upper").direction == "upper"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bound": math.nan},
        {"bound": 0.1, "direction": "sideways"},
        {"bound": 0.1, "ci_policy": "optimistic"},
        {"bound": 0.1, "method": "pairwise"},
        {"bound": 0.1, "agg": "median"},
    ],
)
def test_invalid_thresholds_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidThresholdError) as caught:
        Threshold("demographic_parity_difference", **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == INVALID_THRESHOLD


def test_unknown_metric_in_threshold() -> None:
    with pytest.raises(UnknownMetricError):
        Threshold("demographic_parity", 0.1)


def test_point_policy_judges_the_worst_entry() -> None:
    upper = Threshold("demographic_parity_difference", 0.1)
    assert judge(upper, measured([0.05, 0.1])).verdict is Verdict.PASS
    failing = judge(upper, measured([0.05, 0.12]))
    assert (failing.verdict, failing.reason, failing.entry) == (Verdict.FAIL, "exceeds_bound", 1)
    lower = Threshold("demographic_parity_ratio", 0.8)
    assert judge(lower, measured([0.9, 0.79])).verdict is Verdict.FAIL


def test_conservative_policy_judges_the_unsafe_end_of_the_interval() -> None:
    upper = Threshold("demographic_parity_difference", 0.1, ci_policy="conservative")
    passing = measured([0.05], low=[0.01], high=[0.09])
    crossing = measured([0.05], low=[0.01], high=[0.15])
    assert judge(upper, passing).verdict is Verdict.PASS
    decided = judge(upper, crossing)
    assert (decided.verdict, decided.judged_value) == (Verdict.FAIL, 0.15)
    lower = Threshold("demographic_parity_ratio", 0.8, ci_policy="conservative")
    assert judge(lower, measured([0.9], low=[0.75], high=[0.95])).verdict is Verdict.FAIL
    missing = judge(upper, measured([0.05]))
    assert (missing.verdict, missing.reason) == (Verdict.INCONCLUSIVE, "no_confidence_interval")


def test_unjudgeable_groups_are_inconclusive_unless_reliable_groups_already_fail() -> None:
    threshold = Threshold("equalized_odds_difference", 0.1)
    hidden = measured([0.0], reliable=[0.0], judgeable=[False])
    decided = judge(threshold, hidden)
    assert (decided.verdict, decided.reason) == (Verdict.INCONCLUSIVE, "unreliable_groups")
    failing = judge(threshold, measured([0.5], reliable=[0.3], judgeable=[False]))
    assert (failing.verdict, failing.reason) == (Verdict.FAIL, "fails_on_reliable_groups")
    undefined = judge(threshold, measured([math.nan]))
    assert (undefined.verdict, undefined.reason) == (Verdict.INCONCLUSIVE, "undefined_value")


def test_overall_verdict_precedence() -> None:
    assert overall_verdict([]) is Verdict.PASS
    assert overall_verdict([Verdict.PASS, Verdict.PASS]) is Verdict.PASS
    assert overall_verdict([Verdict.PASS, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert overall_verdict([Verdict.INCONCLUSIVE, Verdict.FAIL]) is Verdict.FAIL
