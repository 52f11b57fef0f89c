"""Every closed-form interval against statsmodels (the reference implementation)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    score_test_proportions_2indep,
)

from bias_checks._intervals import (
    fold_difference,
    fold_ratio,
    folded_difference,
    folded_ratio,
    newcombe_difference,
    newcombe_ends,
    score_ratio,
    score_ratio_ends,
    wilson,
    wilson_ends,
)
from tests.unit.bias_checks.scas_reference import (
    folded_fail_end,
    folded_pass_end,
    folded_ratio_fail_end,
    folded_ratio_pass_end,
)

CASES = [(0, 10), (1, 60), (7, 30), (15, 30), (30, 30), (412, 1000), (3, 5000), (1, 1)]


@pytest.mark.parametrize(("count", "nobs"), CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.05 / 6])
def test_wilson_equals_statsmodels(count: int, nobs: int, alpha: float) -> None:
    low, high = wilson(np.array([count / nobs]), np.array([nobs]), alpha)
    ref = proportion_confint(count, nobs, alpha=alpha, method="wilson")
    np.testing.assert_allclose([low[0], high[0]], ref, rtol=0, atol=1e-12)


def test_wilson_of_an_empty_denominator_is_undefined() -> None:
    low, high = wilson(np.array([np.nan, 0.5]), np.array([0.0, 0.0]), 0.05)
    assert np.isnan(low).all()
    assert np.isnan(high).all()


PAIRS = [((7, 30), (15, 30)), ((0, 30), (0, 30)), ((1, 60), (9, 40)), ((412, 1000), (398, 1000))]
PAIRS += [((20, 50), (2400, 5000)), ((30, 30), (12, 31))]


@pytest.mark.parametrize(("first", "second"), PAIRS)
@pytest.mark.parametrize("alpha", [0.05, 0.0125])
def test_newcombe_equals_statsmodels(
    first: tuple[int, int], second: tuple[int, int], alpha: float
) -> None:
    (c1, n1), (c2, n2) = first, second
    low, high = newcombe_difference(
        np.array([c1 / n1]), np.array([n1]), np.array([c2 / n2]), np.array([n2]), alpha
    )
    ref = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", compare="diff", alpha=alpha)
    np.testing.assert_allclose([low[0], high[0]], ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("first", "second"), PAIRS)
@pytest.mark.parametrize("alpha", [0.05, 0.0125])
def test_score_ratio_equals_statsmodels(
    first: tuple[int, int], second: tuple[int, int], alpha: float
) -> None:
    (c1, n1), (c2, n2) = first, second
    low, high = score_ratio(
        np.array([c1 / n1]), np.array([n1]), np.array([c2 / n2]), np.array([n2]), alpha
    )
    np.testing.assert_allclose(
        [low[0], high[0]], _score_reference(c1, n1, c2, n2, alpha), rtol=1e-9
    )


def _score_reference(c1: int, n1: int, c2: int, n2: int, alpha: float) -> tuple[float, float]:
    """statsmodels' Miettinen-Nurminen interval; with no events anywhere it returns NaN where
    the data exclude no ratio at all, ``[0, inf]``."""
    if c1 == c2 == 0:
        return 0.0, np.inf
    low, high = confint_proportions_2indep(
        c1, n1, c2, n2, method="score", compare="ratio", alpha=alpha
    )
    return float(low), float(high)


@pytest.mark.parametrize(
    ("c1", "n1", "c2", "n2"), [(3, 40, 250, 5000), (0, 40, 9, 70), (2.6, 37.4, 11.2, 52.9)]
)
@pytest.mark.parametrize("z", [1.96, 2.5])
def test_score_ratio_ends_are_where_statsmodels_score_test_equals_z(
    c1: float, n1: float, c2: float, n2: float, z: float
) -> None:
    tail = float(norm.sf(z))
    low, high = score_ratio_ends(
        np.array([c1 / n1]),
        np.array([n1]),
        np.array([c2 / n2]),
        np.array([n2]),
        low_tail=tail,
        high_tail=tail,
    )
    for end, sign in ((low[0], 1), (high[0], -1)):
        if end == 0:  # no events in the first group: no ratio is too small
            assert c1 == 0
            continue
        stat = score_test_proportions_2indep(c1, n1, c2, n2, value=end, compare="ratio").statistic
        assert stat == pytest.approx(sign * z, abs=1e-7)


def test_score_ratio_has_no_upper_end_without_events_in_the_second_group() -> None:
    low, high = score_ratio(
        np.array([5 / 30]), np.array([30.0]), np.array([0.0]), np.array([40.0]), 0.05
    )
    assert high[0] == np.inf
    with np.errstate(divide="ignore"):  # statsmodels divides by zero for the infinite end
        ref_low, _ = confint_proportions_2indep(5, 30, 0, 40, method="score", compare="ratio")
    assert low[0] == pytest.approx(ref_low)


def test_fold_difference_reaches_zero_only_when_the_sign_is_open() -> None:
    low, high = fold_difference(np.array([-0.02, 0.03, -0.3]), np.array([0.08, 0.12, -0.1]))
    np.testing.assert_allclose(low, [0.0, 0.03, 0.1])
    np.testing.assert_allclose(high, [0.08, 0.12, 0.3])


def test_fold_ratio_maps_onto_at_most_one() -> None:
    low, high = fold_ratio(np.array([0.8, 0.5, 1.25, 0.0]), np.array([1.1, 0.8, 2.0, np.inf]))
    np.testing.assert_allclose(low, [0.8, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(high, [1.0, 0.8, 0.8, 1.0])


TAILS = [(0.025, 0.025), (0.05 / 12, 0.025), (0.025, 0.05 / 12), (0.001, 0.1)]


@pytest.mark.parametrize(("count", "nobs"), CASES)
@pytest.mark.parametrize(("low_tail", "high_tail"), TAILS)
def test_wilson_ends_are_statsmodels_at_each_ends_level(
    count: int, nobs: int, low_tail: float, high_tail: float
) -> None:
    low, high = wilson_ends(np.array([count / nobs]), np.array([nobs]), low_tail, high_tail)
    ref_low, _ = proportion_confint(count, nobs, alpha=2 * low_tail, method="wilson")
    _, ref_high = proportion_confint(count, nobs, alpha=2 * high_tail, method="wilson")
    np.testing.assert_allclose([low[0], high[0]], [ref_low, ref_high], rtol=0, atol=1e-12)


@pytest.mark.parametrize(("first", "second"), PAIRS)
@pytest.mark.parametrize("tails", TAILS)
@pytest.mark.parametrize(
    "kind", [(newcombe_ends, "newcomb", "diff"), (score_ratio_ends, "score", "ratio")]
)
def test_two_sample_ends_are_statsmodels_at_each_ends_level(
    first: tuple[int, int],
    second: tuple[int, int],
    tails: tuple[float, float],
    kind: tuple[Any, str, str],
) -> None:
    (c1, n1), (c2, n2) = first, second
    ours, method, compare = kind
    low_tail, high_tail = tails
    low, high = ours(
        np.array([c1 / n1]),
        np.array([n1]),
        np.array([c2 / n2]),
        np.array([n2]),
        low_tail=low_tail,
        high_tail=high_tail,
    )
    if compare == "ratio":
        ref_low = _score_reference(c1, n1, c2, n2, 2 * low_tail)[0]
        ref_high = _score_reference(c1, n1, c2, n2, 2 * high_tail)[1]
        np.testing.assert_allclose([low[0], high[0]], [ref_low, ref_high], rtol=1e-9, atol=1e-12)
        return
    args = {"method": method, "compare": compare}
    ref_low, _ = confint_proportions_2indep(c1, n1, c2, n2, alpha=2 * low_tail, **args)
    _, ref_high = confint_proportions_2indep(c1, n1, c2, n2, alpha=2 * high_tail, **args)
    np.testing.assert_allclose([low[0], high[0]], [ref_low, ref_high], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_folded_ends_come_from_the_signed_interval_at_their_own_level(
    first: tuple[int, int], second: tuple[int, int]
) -> None:
    (c1, n1), (c2, n2) = first, second
    data = (np.array([c1 / n1]), np.array([n1]), np.array([c2 / n2]), np.array([n2]))
    low, high = folded_difference(*data, low_tail=0.05 / 12, high_tail=0.025)
    wide = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", alpha=0.05 / 6)
    narrow = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", alpha=0.05)
    # Both ends are the outer of Newcombe's and the skewness-corrected score limits (the
    # FAIL end since session 17, the PASS end since session 16), each at its own level.
    assert low[0] == pytest.approx(folded_fail_end(c1, n1, c2, n2, 0.05 / 12), abs=1e-9)
    assert low[0] <= fold_difference(*map(np.array, wide))[0] + 1e-12
    assert high[0] == pytest.approx(folded_pass_end(c1, n1, c2, n2, 0.025), abs=1e-9)
    assert high[0] >= fold_difference(*map(np.array, narrow))[1] - 1e-12
    # The end a FAIL rests on is the wider one: lower for |d|, upper for the ratio.
    assert low[0] <= fold_difference(*map(np.array, narrow))[0]
    r_low, r_high = folded_ratio(*data, low_tail=0.025, high_tail=0.05 / 12)
    wide = _score_reference(c1, n1, c2, n2, 0.05 / 6)
    narrow = _score_reference(c1, n1, c2, n2, 0.05)
    assert r_low[0] == pytest.approx(folded_ratio_pass_end(c1, n1, c2, n2, 0.025), rel=1e-9)
    assert r_low[0] <= fold_ratio(*map(np.array, narrow))[0] + 1e-12
    if c1 and c2:  # statsmodels' score limits need both counts
        fail_end = folded_ratio_fail_end(c1, n1, c2, n2, 0.05 / 12)
        assert r_high[0] == pytest.approx(fail_end, rel=1e-9)
    assert r_high[0] >= fold_ratio(*map(np.array, wide))[1] - 1e-12
    assert r_high[0] >= fold_ratio(*map(np.array, narrow))[1]


def test_the_reach_is_the_safe_end_before_the_fold() -> None:
    p1, n1 = np.array([0.30, 0.50, 0.10]), np.array([100.0, 100.0, 100.0])
    p2, n2 = np.array([0.35, 0.30, 0.45]), np.array([100.0, 100.0, 100.0])
    reach, high = folded_difference(p1, n1, p2, n2, low_tail=0.01, high_tail=0.025, clip=False)
    low, same_high = folded_difference(p1, n1, p2, n2, low_tail=0.01, high_tail=0.025)
    np.testing.assert_allclose(low, np.maximum(reach, 0.0))
    np.testing.assert_array_equal(high, same_high)
    assert reach[0] < 0 < reach[1]  # the sign of the first difference is open
    _, r_reach = folded_ratio(p1, n1, p2, n2, low_tail=0.025, high_tail=0.01, clip=False)
    _, r_high = folded_ratio(p1, n1, p2, n2, low_tail=0.025, high_tail=0.01)
    np.testing.assert_allclose(r_high, np.minimum(r_reach, 1.0))
    assert r_reach[0] > 1 > r_reach[2]


@pytest.mark.parametrize(("n1", "n2"), [(1e6, 1.0), (1e6, 40.0), (97127.0, 10.0), (30.0, 30.0)])
@pytest.mark.parametrize("tail", [0.25, 0.025, 0.01, 1e-3, 1e-8])
def test_score_ratio_of_two_rates_of_one_has_its_closed_form(
    n1: float, n2: float, tail: float
) -> None:
    """Regression: with every row of both groups an event, the restricted rates are ``r`` and
    1, and the lower end solves ``(1 - r) / r = z**2 N / (n1 (N - 1))``. The quadratic's
    discriminant in its textbook form cancels there: a large first group got lower ends off by
    1e-5, not monotone in the tail, and a RuntimeWarning from a negative variance."""
    low, high = score_ratio_ends(
        np.array([1.0]),
        np.array([n1]),
        np.array([1.0]),
        np.array([n2]),
        low_tail=tail,
        high_tail=tail,
    )
    z, total = float(norm.isf(tail)), n1 + n2
    assert low[0] == pytest.approx(1 / (1 + z * z * total / (n1 * (total - 1))), rel=1e-9)
    assert high[0] > 1
