"""Directional metrics against AIF360's own functions, and their thresholds.

The reference implementation is ``aif360.sklearn.metrics`` (statistical_parity_difference,
disparate_impact_ratio, average_odds_difference), called once per unprivileged group on the
rows of that group and the privileged one; fairgov's value is the smallest of them.
"""

from __future__ import annotations

import logging
import warnings
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_checks import (
    METRICS,
    AuditResult,
    InvalidThresholdError,
    Threshold,
    Verdict,
    audit_predictions,
)
from governance.actions import SetThreshold
from governance.errors import ThresholdOutOfRange
from tests.unit.bias_checks.scas_reference import outer_ends, ratio_outer_ends

DIRECTIONAL = ("statistical_parity_difference", "disparate_impact", "average_odds_difference")

logging.getLogger("aif360").setLevel(logging.ERROR)  # optional extras it cannot import


def _aif360() -> dict[str, Any]:
    from aif360.sklearn import metrics

    return {
        "statistical_parity_difference": metrics.statistical_parity_difference,
        "disparate_impact": metrics.disparate_impact_ratio,
        "average_odds_difference": metrics.average_odds_difference,
    }


def _aif360_values(
    metric: str, y: np.ndarray[Any, Any], p: np.ndarray[Any, Any], a: np.ndarray[Any, Any], ref: str
) -> dict[str, float]:
    fn = _aif360()[metric]
    out = {}
    for group in sorted(set(a.tolist()) - {ref}):
        rows = (a == ref) | (a == group)
        index = pd.MultiIndex.from_arrays([a[rows]], names=["a"])
        with warnings.catch_warnings():  # a rate with no denominator: AIF360 warns, gives 0
            warnings.simplefilter("ignore")
            out[group] = float(
                fn(
                    pd.Series(y[rows], index=index),
                    pd.Series(p[rows], index=index),
                    prot_attr="a",
                    priv_group=ref,
                    pos_label=1,
                )
            )
    return out


def _audit(
    y: np.ndarray[Any, Any],
    p: np.ndarray[Any, Any],
    a: np.ndarray[Any, Any],
    reference: Any,
    thresholds: tuple[Threshold, ...] = (),
) -> AuditResult:
    return audit_predictions(
        y,
        p,
        sensitive_features={"a": a},
        thresholds=thresholds,
        task="binary",
        pos_label=1,
        reference_group=reference,
        n_boot=0,
    )


def _disparity(result: AuditResult, metric: str) -> Any:
    (record,) = [d for d in result.disparities if d.metric == metric]
    return record


def _data(seed: int, n: int, rates: tuple[float, ...]) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, len(rates), n)
    a = np.array([f"g{i}" for i in range(len(rates))])[codes]
    y = rng.integers(0, 2, n)
    p = rng.random(n) < np.asarray(rates)[codes]
    return y, p.astype(int), a


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(60, 600),
    rates=st.lists(st.floats(0.05, 0.95), min_size=2, max_size=4).map(tuple),
)
def test_values_equal_aif360_worst_over_unprivileged_groups(
    seed: int, n: int, rates: tuple[float, ...]
) -> None:
    y, p, a = _data(seed, n, rates)
    ref = str(a[0])
    result = _audit(y, p, a, {"a": ref})
    for metric in DIRECTIONAL:
        expected = _aif360_values(metric, y, p, a, ref)
        finite = {g: v for g, v in expected.items() if not np.isnan(v)}
        record = _disparity(result, metric)
        assert record.method == "to_reference"
        assert record.reference == (("a", ref),)
        if metric == "disparate_impact" and p[a == ref].sum() == 0:  # AIF360: 0, ours: NaN
            assert np.isnan(record.value)
            continue
        if not finite:
            assert np.isnan(record.value)
            continue
        worst = min(finite, key=lambda g: finite[g])
        assert record.value == pytest.approx(finite[worst], abs=1e-12)
        assert record.pair[0].group == (("a", worst),)


def test_ratio_is_not_clipped_and_difference_keeps_its_sign() -> None:
    y, p, a = _data(1, 4000, (0.3, 0.6))
    result = _audit(y, p, a, {"a": "g0"})  # the reference selects less: every group gains
    assert _disparity(result, "disparate_impact").value > 1.5
    assert _disparity(result, "statistical_parity_difference").value > 0.2
    flipped = _audit(y, p, a, {"a": "g1"})
    assert _disparity(flipped, "disparate_impact").value < 0.6
    assert _disparity(flipped, "statistical_parity_difference").value < -0.2


def test_best_reference_is_the_highest_selection_rate() -> None:
    y, p, a = _data(2, 3000, (0.2, 0.7, 0.4))
    result = _audit(y, p, a, "best")
    record = _disparity(result, "disparate_impact")
    assert record.reference == (("a", "g1"),)
    assert record.value <= 1.0
    assert record.pair[0].group == (("a", "g0"),)


def test_four_fifths_check_fails_when_the_interval_is_below_the_bound() -> None:
    y, p, a = _data(3, 6000, (0.6, 0.3, 0.55))
    four_fifths = Threshold("disparate_impact", 0.8)
    result = _audit(y, p, a, "best", (four_fifths,))
    (check,) = result.checks
    assert check.threshold.method == "to_reference"
    assert check.verdict is Verdict.FAIL
    assert check.ci.high < 0.8
    assert check.ci.low <= check.value <= check.ci.high
    fair = _audit(y, (np.random.default_rng(4).random(y.size) < 0.5).astype(int), a, "best")
    assert _disparity(fair, "disparate_impact").value > 0.8


@pytest.mark.parametrize(
    ("metric", "method", "compare"),
    [
        ("statistical_parity_difference", "newcomb", "diff"),
        ("disparate_impact", "score", "ratio"),
    ],
)
def test_one_comparison_interval_equals_statsmodels(metric: str, method: str, compare: str) -> None:
    """With one unprivileged group the simultaneous interval is the plain two-sided one (for a
    difference, the PASS end's the outer of it and SCAS's)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    y, p, a = _data(5, 3000, (0.5, 0.42))
    result = _audit(y, p, a, {"a": "g0"}, (Threshold(metric, 0.0),))
    low, high = confint_proportions_2indep(
        p[a == "g1"].sum(),
        (a == "g1").sum(),
        p[a == "g0"].sum(),
        (a == "g0").sum(),
        method=method,
        compare=compare,
        alpha=0.05,
    )
    ci = result.checks[0].ci
    assert ci is not None
    # the lower end, a PASS of a lower bound's, is the outer of Newcombe's (the score
    # limits, for a ratio) and the skewness-corrected score limits
    counts = (p[a == "g1"].sum(), (a == "g1").sum(), p[a == "g0"].sum(), (a == "g0").sum())
    outer = outer_ends if compare == "diff" else ratio_outer_ends
    low = outer(*(float(x) for x in counts), 0.025)[0]
    assert low <= confint_proportions_2indep(*counts, method=method, compare=compare)[0]
    assert (ci.low, ci.high) == pytest.approx((low, high), abs=1e-9)


def test_more_groups_widen_the_fail_end_only() -> None:
    y, p, a = _data(8, 8000, (0.5, 0.4, 0.5, 0.5))
    check = Threshold("statistical_parity_difference", -0.5)
    four = _audit(y, p, a, {"a": "g0"}, (check,)).checks[0]
    keep = (a == "g0") | (a == "g1")
    two = _audit(y[keep], p[keep], a[keep], {"a": "g0"}, (check,)).checks[0]
    assert four.pair == two.pair  # g1 is the worst group either way
    assert four.ci is not None
    assert two.ci is not None
    assert four.ci.high > two.ci.high  # Dunnett over three comparisons
    assert four.ci.low == pytest.approx(two.ci.low, abs=1e-12)  # one comparison's end


def test_reference_without_selections_leaves_the_ratio_inconclusive() -> None:
    y, _, a = _data(6, 2000, (0.5, 0.5))
    p = (a == "g1").astype(int)
    result = _audit(y, p, a, {"a": "g0"}, (Threshold("disparate_impact", 0.8),))
    assert result.checks[0].verdict is Verdict.INCONCLUSIVE


def test_intersectional_reference_names_every_feature() -> None:
    rng = np.random.default_rng(7)
    n = 4000
    a, b = rng.choice(["m", "f"], n), rng.choice(["u", "v"], n)
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where((a == "m") & (b == "u"), 0.6, 0.4)).astype(int)
    result = audit_predictions(
        y,
        p,
        sensitive_features={"a": a, "b": b},
        task="binary",
        pos_label=1,
        reference_group={"a": "m", "b": "u"},
        n_boot=0,
    )
    both = [
        d
        for d in result.disparities
        if d.metric == "statistical_parity_difference" and d.grouping == ("a", "b")
    ]
    assert both[0].reference == (("a", "m"), ("b", "u"))
    rates = {(x, z): p[(a == x) & (b == z)].mean() for x in ("m", "f") for z in ("u", "v")}
    expected = min(r - rates[("m", "u")] for k, r in rates.items() if k != ("m", "u"))
    assert both[0].value == pytest.approx(expected, abs=1e-12)


def test_value_ranges_allow_signed_and_unclipped_bounds() -> None:
    assert METRICS["statistical_parity_difference"].value_range == (-1.0, 1.0)
    assert METRICS["disparate_impact"].value_range == (0.0, float("inf"))
    assert all(METRICS[m].bound == "lower" and METRICS[m].signed for m in DIRECTIONAL)
    assert Threshold("statistical_parity_difference", -0.1).bound == -0.1
    assert Threshold("disparate_impact", 1.25, direction="upper").bound == 1.25
    with pytest.raises(InvalidThresholdError):
        Threshold("statistical_parity_difference", -1.5)
    with pytest.raises(InvalidThresholdError):
        Threshold("disparate_impact", -0.1)


def test_a_negative_bound_on_a_directional_metric_can_be_proposed_on_chain() -> None:
    voted = SetThreshold(
        metric="statistical_parity_difference", value=Decimal("-0.1"), direction="lower"
    )
    assert Threshold(voted.metric, float(voted.value), direction=voted.direction).bound == -0.1
    assert voted.summary() == "Set threshold statistical_parity_difference >= -0.1"
    with pytest.raises(ThresholdOutOfRange) as caught:
        SetThreshold(metric="disparate_impact", value=Decimal("-0.1"), direction="lower")
    assert caught.value.code == "threshold_out_of_range"
