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
from bias_checks._checks import Measurement, judge, rows_needed
from bias_checks._errors import INVALID_THRESHOLD


def measured(
    values: list[float],
    *,
    low: list[float] | None = None,
    high: list[float] | None = None,
    judgeable: list[bool] | None = None,
) -> Measurement:
    nan = [math.nan] * len(values)
    return Measurement(
        np.array(values),
        np.array(low or nan),
        np.array(high or nan),
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
        {"bound": 0.1, "evidence": {"confidence_level": 0.9}},
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


def test_three_way_rule_on_an_upper_bound() -> None:
    upper = Threshold("demographic_parity_difference", 0.1)
    cases = {
        Verdict.PASS: measured([0.05], low=[0.0], high=[0.1]),
        Verdict.FAIL: measured([0.15], low=[0.11], high=[0.2]),
        Verdict.INCONCLUSIVE: measured([0.05], low=[0.0], high=[0.12]),
    }
    for verdict, measurement in cases.items():
        assert judge(upper, measurement).verdict is verdict
    # A point value beyond the bound is not a FAIL while the interval reaches back inside.
    assert judge(upper, measured([0.12], low=[0.09], high=[0.2])).verdict is Verdict.INCONCLUSIVE


def test_three_way_rule_on_a_lower_bound() -> None:
    lower = Threshold("demographic_parity_ratio", 0.8)
    assert judge(lower, measured([0.9], low=[0.8], high=[1.0])).verdict is Verdict.PASS
    assert judge(lower, measured([0.7], low=[0.6], high=[0.79])).verdict is Verdict.FAIL
    decided = judge(lower, measured([0.9], low=[0.75], high=[1.0]))
    assert (decided.verdict, decided.reason) == (Verdict.INCONCLUSIVE, "interval_straddles_bound")


def test_any_failing_entry_fails_and_the_worst_entry_is_shown() -> None:
    upper = Threshold("demographic_parity_difference", 0.1)
    decided = judge(upper, measured([0.05, 0.3, 0.2], low=[0.0, 0.2, 0.15], high=[0.08, 0.4, 0.25]))
    assert (decided.verdict, decided.reason, decided.entry) == (Verdict.FAIL, "exceeds_bound", 1)
    passing = judge(upper, measured([0.05, 0.07], low=[0.0, 0.0], high=[0.08, 0.09]))
    assert (passing.verdict, passing.entry) == (Verdict.PASS, 1)


def test_too_few_groups_or_no_interval_is_inconclusive() -> None:
    threshold = Threshold("equalized_odds_difference", 0.1)
    hidden = judge(threshold, measured([0.0], low=[0.0], high=[0.0], judgeable=[False]))
    assert (hidden.verdict, hidden.reason) == (Verdict.INCONCLUSIVE, "too_few_groups")
    missing = judge(threshold, measured([0.05]))
    assert (missing.verdict, missing.reason) == (Verdict.INCONCLUSIVE, "no_interval")


@pytest.mark.parametrize(
    ("value", "low", "high", "smallest", "expected"),
    [
        (0.05, 0.0, 0.15, 100, 400),  # upward half-width 0.10 must shrink to 0.05: 4x rows
        (0.13, 0.07, 0.19, 50, 200),  # downward half-width 0.06 must shrink to 0.03: 4x rows
        (0.1, 0.05, 0.15, 100, None),  # on the bound: no sample size decides it
    ],
)
def test_rows_needed_scales_the_half_width_to_the_distance_from_the_bound(
    value: float, low: float, high: float, smallest: int, expected: int | None
) -> None:
    threshold = Threshold("demographic_parity_difference", 0.1)
    needed = rows_needed(threshold, value, low, high, smallest)
    if expected is None:
        assert needed is None
    else:
        assert needed == pytest.approx(expected, abs=1)


def test_overall_verdict_precedence() -> None:
    assert overall_verdict([]) is Verdict.PASS
    assert overall_verdict([Verdict.PASS, Verdict.PASS]) is Verdict.PASS
    assert overall_verdict([Verdict.PASS, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert overall_verdict([Verdict.INCONCLUSIVE, Verdict.FAIL]) is Verdict.FAIL


@pytest.mark.parametrize(
    ("metric", "bound"),
    [
        ("demographic_parity_difference", -0.1),
        ("demographic_parity_ratio", 1.2),
        ("accuracy", 1.5),
        ("count", -1),
        ("mae_difference", -0.5),
    ],
)
def test_a_bound_outside_what_the_metric_can_take_is_refused(metric: str, bound: float) -> None:
    # Regression: `demographic_parity_difference<=-0.1` was accepted and FAILed every model.
    with pytest.raises(InvalidThresholdError, match="outside the values this metric can take"):
        Threshold(metric, bound)


@pytest.mark.parametrize(
    ("metric", "bound"),
    [("demographic_parity_difference", 0.0), ("equalized_odds_ratio", 1.0), ("count", 10**6)],
)
def test_bounds_at_the_edges_of_the_range_are_accepted(metric: str, bound: float) -> None:
    assert Threshold(metric, bound).bound == bound


def test_a_value_on_its_bound_up_to_rounding_needs_no_size() -> None:
    # Regression: an AUC of 0.6000000000000001 (another engine's summation order) against a
    # bound of 0.6 asked for 8.8e32 rows while 0.6 itself asked for none.
    threshold = Threshold("roc_auc_difference", 0.6)
    assert rows_needed(threshold, 0.6000000000000001, 0.0, 0.8, 30) is None
    assert rows_needed(threshold, 0.6, 0.0, 0.8, 30) is None
    assert rows_needed(threshold, 0.61, 0.0, 0.8, 30) is not None
    # ... and a size that is a whole number but for the last bits is that number.
    assert rows_needed(Threshold("demographic_parity_difference", 0.1), 0.05, 0.0, 0.15, 28) == 112
