"""Simultaneous intervals of disparities, each against statsmodels at the adjusted level."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from bias_checks._intervals import fold_difference, fold_ratio
from bias_checks._judged import RateStats, combine_components, rate_disparity, rate_extreme

COUNTS = np.array([[12.0, 30.0, 45.0, 20.0]])
SIZES = np.array([[40.0, 60.0, 90.0, 50.0]])


def _stats(counts: np.ndarray, sizes: np.ndarray) -> RateStats:
    return RateStats(counts, sizes, sizes.copy())  # unweighted: sum of squares = count


def _overall(stats: RateStats) -> RateStats:
    return RateStats(
        stats.num.sum(1, keepdims=True),
        stats.den.sum(1, keepdims=True),
        stats.den_sq.sum(1, keepdims=True),
    )


def _run(method: str, transform: str, alpha: float = 0.05, judged: np.ndarray | None = None):
    stats = _stats(COUNTS, SIZES)
    groups = COUNTS.shape[1]
    return rate_disparity(
        stats,
        _overall(stats),
        judged=np.ones((1, groups), dtype=bool) if judged is None else judged,
        control_of=np.zeros(groups, dtype=np.intp),
        transform=transform,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        references=np.array([[2]]),
        alpha=alpha,
    )


def _pair_bounds(i: int, j: int, alpha: float, compare: str) -> tuple[float, float]:
    method = "newcomb" if compare == "diff" else "log-adjusted"
    low, high = confint_proportions_2indep(
        COUNTS[0, i],
        SIZES[0, i],
        COUNTS[0, j],
        SIZES[0, j],
        method=method,
        compare=compare,
        alpha=alpha,
    )
    fold = fold_difference if compare == "diff" else fold_ratio
    a, b = fold(np.array([low]), np.array([high]))
    return float(a[0]), float(b[0])


@pytest.mark.parametrize(("transform", "compare"), [("difference", "diff"), ("ratio", "ratio")])
def test_max_min_is_bonferroni_over_every_pair(transform: str, compare: str) -> None:
    judged = _run("between_groups", transform)
    pairs = list(combinations(range(4), 2))
    bounds = [_pair_bounds(i, j, 0.05 / len(pairs), compare) for i, j in pairs]
    pick = max if transform == "difference" else min
    assert judged.low[0, 0] == pytest.approx(pick(b[0] for b in bounds), abs=1e-12)
    assert judged.high[0, 0] == pytest.approx(pick(b[1] for b in bounds), abs=1e-12)
    p = COUNTS[0] / SIZES[0]
    expected = p.max() - p.min() if transform == "difference" else p.min() / p.max()
    assert judged.value[0, 0] == pytest.approx(expected)
    assert judged.n_judged[0, 0] == 4


def test_two_groups_use_the_plain_newcombe_interval() -> None:
    mask = np.array([[True, True, False, False]])
    judged = _run("between_groups", "difference", judged=mask)
    low, high = _pair_bounds(0, 1, 0.05, "diff")
    assert (judged.low[0, 0], judged.high[0, 0]) == pytest.approx((low, high), abs=1e-12)
    assert judged.n_judged[0, 0] == 2


def test_to_overall_scales_the_group_against_the_rest() -> None:
    judged = _run("to_overall", "difference")
    total_c, total_n = COUNTS.sum(), SIZES.sum()
    lows, highs = [], []
    for g in range(4):
        rest_c, rest_n = total_c - COUNTS[0, g], total_n - SIZES[0, g]
        low, high = confint_proportions_2indep(
            COUNTS[0, g], SIZES[0, g], rest_c, rest_n, method="newcomb", alpha=0.05 / 4
        )
        scale = 1 - SIZES[0, g] / total_n
        a, b = fold_difference(np.array([low * scale]), np.array([high * scale]))
        lows.append(a[0])
        highs.append(b[0])
    assert judged.low[0, 0] == pytest.approx(max(lows), abs=1e-12)
    assert judged.high[0, 0] == pytest.approx(max(highs), abs=1e-12)
    p = COUNTS[0] / SIZES[0]
    assert judged.value[0, 0] == pytest.approx(np.abs(p - total_c / total_n).max())


def test_to_reference_compares_every_other_group_with_the_reference() -> None:
    judged = _run("to_reference", "difference")
    bounds = [_pair_bounds(g, 2, 0.05 / 3, "diff") for g in (0, 1, 3)]
    assert judged.low[0, 0] == pytest.approx(max(b[0] for b in bounds), abs=1e-12)
    assert judged.high[0, 0] == pytest.approx(max(b[1] for b in bounds), abs=1e-12)
    assert judged.second[0, 0] == 2


def test_a_reference_group_that_is_not_judged_leaves_nothing_to_judge() -> None:
    mask = np.array([[True, True, False, True]])
    judged = _run("to_reference", "difference", judged=mask)
    assert np.isnan(judged.value[0, 0])
    assert np.isnan(judged.high[0, 0])


def test_equalized_odds_combines_the_ends_of_its_parts() -> None:
    tpr = _run("between_groups", "difference", alpha=0.025)
    fpr = _run("between_groups", "difference", alpha=0.025)
    worst = combine_components(tpr, fpr, "difference", "worst_case")
    mean = combine_components(tpr, fpr, "difference", "mean")
    assert worst.high[0, 0] == tpr.high[0, 0]
    assert mean.low[0, 0] == pytest.approx(tpr.low[0, 0])
    assert worst.high[0, 0] > _run("between_groups", "difference").high[0, 0]


def test_the_worst_group_is_bounded_by_wilson_at_alpha_over_k() -> None:
    stats = _stats(COUNTS, SIZES)
    judged = rate_extreme(
        stats,
        judged=np.ones((1, 4), dtype=bool),
        control_of=np.zeros(4, dtype=np.intp),
        upper=True,
        alpha=0.05,
    )
    bounds = [
        proportion_confint(COUNTS[0, g], SIZES[0, g], alpha=0.05 / 4, method="wilson")
        for g in range(4)
    ]
    assert judged.low[0, 0] == pytest.approx(max(b[0] for b in bounds), abs=1e-12)
    assert judged.high[0, 0] == pytest.approx(max(b[1] for b in bounds), abs=1e-12)
    assert judged.first[0, 0] == int(np.argmax(COUNTS[0] / SIZES[0]))


def test_weights_enter_through_the_effective_size() -> None:
    # Two groups whose weighted rate and Kish effective size equal an unweighted 12/40, 30/60.
    plain = _stats(np.array([[12.0, 30.0]]), np.array([[40.0, 60.0]]))
    weighted = RateStats(plain.num * 3.0, plain.den * 3.0, plain.den_sq * 9.0)
    assert weighted.n_eff == pytest.approx(plain.n_eff)
    args = {
        "judged": np.ones((1, 2), dtype=bool),
        "control_of": np.zeros(2, dtype=np.intp),
        "transform": "difference",
        "method": "between_groups",
        "references": None,
        "alpha": 0.05,
    }
    one = rate_disparity(plain, _overall(plain), **args)  # type: ignore[arg-type]
    other = rate_disparity(weighted, _overall(weighted), **args)  # type: ignore[arg-type]
    assert (other.low[0, 0], other.high[0, 0]) == pytest.approx((one.low[0, 0], one.high[0, 0]))
