"""Simultaneous intervals of disparities, each end against statsmodels at its own level.

The end a FAIL rests on (lower for differences, upper for ratios) is at the simultaneous
critical value over the comparisons (its one-sided tail from :mod:`bias_checks._simultaneous`,
itself tested against scipy in ``test_simultaneous``); the other end is at ``alpha / 2``
one-sided, i.e. the end of a plain two-sided interval at ``alpha``. The sizes are large
enough that the safe ends lie off parity, so a wrong level shows.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.stats import binom
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from bias_checks import _belt as belt
from bias_checks import _belt_overall as belt_overall
from bias_checks import _judged as judged_module
from bias_checks._components import combine_components
from bias_checks._intervals import fold_difference, fold_ratio
from bias_checks._judged import (
    Judged,
    rate_disparity,
    rate_extreme,
)
from bias_checks._rate_stats import RateStats
from bias_checks._simultaneous import comparison_tail, sidak_tail
from tests.unit.bias_checks.belt_reference import two_group_fail_end
from tests.unit.bias_checks.scas_reference import (
    folded_pass_end,
    folded_ratio_pass_end,
    outer_ends,
    ratio_outer_ends,
)

COUNTS = np.array([[12.0, 30.0, 45.0, 20.0]]) * 5
SIZES = np.array([[40.0, 60.0, 90.0, 50.0]]) * 5


def _safe(structure: str, sizes: np.ndarray, alpha: float = 0.05, **kwargs: float) -> float:
    """Two-sided level of a plain interval whose ends sit at the simultaneous tail."""
    return 2 * comparison_tail(structure, sizes, alpha=alpha, **kwargs)  # type: ignore[arg-type]


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
    # Both ends: the outer of the score limits and the skewness-corrected ones (SCAS).
    outer = outer_ends if compare == "diff" else ratio_outer_ends
    low, high = outer(COUNTS[0, i], SIZES[0, i], COUNTS[0, j], SIZES[0, j], alpha / 2)
    fold = fold_difference if compare == "diff" else fold_ratio
    a, b = fold(np.array([low]), np.array([high]))
    # The PASS end (upper for |d|, lower for min / max): the outer of the score limits and
    # the skewness-corrected ones (SCAS)
    args = (COUNTS[0, i], SIZES[0, i], COUNTS[0, j], SIZES[0, j])
    if compare == "diff":
        return float(a[0]), folded_pass_end(*args, alpha / 2)
    return folded_ratio_pass_end(*args, alpha / 2), float(b[0])


@pytest.mark.parametrize(("transform", "compare"), [("difference", "diff"), ("ratio", "ratio")])
def test_max_min_adjusts_its_safe_end_over_every_pair(transform: str, compare: str) -> None:
    judged = _run("between_groups", transform)
    pairs = list(combinations(range(4), 2))
    parity = [_pair_bounds(i, j, _safe("pairs", SIZES[0]), compare) for i, j in pairs]
    plain = [_pair_bounds(i, j, 0.05, compare) for i, j in pairs]
    one_sided = [_pair_bounds(i, j, 0.10, compare) for i, j in pairs]
    # The FAIL end is the belt's (test_belt.py): never wider than the parity-calibrated end
    # of every pair (Tukey), never narrower than the unadjusted one-sided 95 % end.
    if transform == "difference":
        assert max(b[0] for b in parity) <= judged.low[0, 0] <= max(b[0] for b in one_sided)
        assert judged.low[0, 0] > max(b[0] for b in parity)  # far from parity: narrower
        assert judged.high[0, 0] == pytest.approx(max(b[1] for b in plain), abs=1e-12)
        assert 0 < judged.low[0, 0] < max(b[0] for b in plain)
    else:
        assert judged.low[0, 0] == pytest.approx(min(b[0] for b in plain), abs=1e-12)
        assert min(b[1] for b in one_sided) <= judged.high[0, 0] <= min(b[1] for b in parity)
        assert judged.high[0, 0] < min(b[1] for b in parity)
        assert 1 > judged.high[0, 0] > min(b[1] for b in plain)
    p = COUNTS[0] / SIZES[0]
    expected = p.max() - p.min() if transform == "difference" else p.min() / p.max()
    assert judged.value[0, 0] == pytest.approx(expected)
    assert judged.n_judged[0, 0] == 4


def test_two_groups_use_newcombe_ends_and_the_folded_normal_belt() -> None:
    mask = np.array([[True, True, False, False]])
    judged = _run("between_groups", "difference", judged=mask)
    _, high = _pair_bounds(0, 1, 0.05, "diff")
    assert judged.high[0, 0] == pytest.approx(high, abs=1e-12)
    exact = two_group_fail_end(COUNTS[0, 0], SIZES[0, 0], COUNTS[0, 1], SIZES[0, 1])
    se = np.sqrt(0.25 * (1 / SIZES[0, 0] + 1 / SIZES[0, 1]))
    assert exact - 0.05 * se <= judged.low[0, 0] <= exact + 1e-9
    assert judged.n_judged[0, 0] == 2


def test_to_overall_scales_the_group_against_the_rest() -> None:
    judged = _run("to_overall", "difference")
    total_c, total_n = COUNTS.sum(), SIZES.sum()
    lows, highs, one_sided = [], [], []
    for g in range(4):
        rest_c, rest_n = total_c - COUNTS[0, g], total_n - SIZES[0, g]
        scale = 1 - SIZES[0, g] / total_n
        ends = []
        safe = _safe("overall", SIZES[0], shares=SIZES[0] / total_n, overall=total_n)
        for alpha in (safe, 0.05):
            low, high = confint_proportions_2indep(
                COUNTS[0, g], SIZES[0, g], rest_c, rest_n, method="newcomb", alpha=alpha
            )
            ends.append(fold_difference(np.array([low * scale]), np.array([high * scale])))
        lows.append(ends[0][0][0])
        highs.append(scale * folded_pass_end(COUNTS[0, g], SIZES[0, g], rest_c, rest_n, 0.025))
        low, high = confint_proportions_2indep(
            COUNTS[0, g], SIZES[0, g], rest_c, rest_n, method="newcomb", alpha=0.1
        )
        one_sided.append(fold_difference(np.array([low * scale]), np.array([high * scale]))[0][0])
    # The FAIL end comes from the belt (bias_checks._belt_overall): no lower than the parity
    # value's, no higher than one comparison's at the whole of alpha on one side.
    assert max(lows) < judged.low[0, 0] <= max(one_sided) + 1e-12
    assert judged.high[0, 0] == pytest.approx(max(highs), abs=1e-12)
    assert judged.low[0, 0] > 0
    p = COUNTS[0] / SIZES[0]
    assert judged.value[0, 0] == pytest.approx(np.abs(p - total_c / total_n).max())


def test_to_reference_compares_every_other_group_with_the_reference() -> None:
    judged = _run("to_reference", "difference")
    safe = _safe("reference", SIZES[0, [0, 1, 3]], reference=SIZES[0, 2])
    parity = [_pair_bounds(g, 2, safe, "diff") for g in (0, 1, 3)]
    plain = [_pair_bounds(g, 2, 0.05, "diff") for g in (0, 1, 3)]
    one_sided = [_pair_bounds(g, 2, 0.10, "diff") for g in (0, 1, 3)]
    bonferroni = [_pair_bounds(g, 2, 0.05 / 3, "diff") for g in (0, 1, 3)]
    # The belt's critical value is Dunnett's at parity; away from it, with the signs of the
    # comparisons mixed, it may exceed Dunnett's, not Bonferroni's (but for the noise of the
    # largest of 40 simulated quantiles, a few thousandths of a standard error).
    assert max(b[0] for b in bonferroni) - 1e-3 <= judged.low[0, 0]
    assert judged.low[0, 0] <= max(b[0] for b in one_sided)
    assert judged.low[0, 0] > max(b[0] for b in parity)  # far from parity: narrower
    assert judged.high[0, 0] == pytest.approx(max(b[1] for b in plain), abs=1e-12)
    assert judged.second[0, 0] == 2
    assert judged.low[0, 0] > 0


def test_a_reference_group_that_is_not_judged_leaves_nothing_to_judge() -> None:
    mask = np.array([[True, True, False, True]])
    judged = _run("to_reference", "difference", judged=mask)
    assert np.isnan(judged.value[0, 0])
    assert np.isnan(judged.high[0, 0])


OTHER = np.array([[5.0, 9.0, 30.0, 4.0]])  # a second rate (FPR) on other rows


def _part(counts: np.ndarray, transform: str) -> Judged:
    stats = _stats(counts, SIZES)
    return rate_disparity(
        stats,
        _overall(stats),
        judged=np.ones((1, 4), dtype=bool),
        control_of=np.zeros(4, dtype=np.intp),
        transform=transform,  # type: ignore[arg-type]
        method="between_groups",
        references=None,
        alpha=0.05,
        components=2,
    )


def _pair_bounds_of(counts: np.ndarray, alpha: float, compare: str) -> list[tuple[float, float]]:
    outer = outer_ends if compare == "diff" else ratio_outer_ends
    fold = fold_difference if compare == "diff" else fold_ratio
    out = []
    for i, j in combinations(range(4), 2):
        low, high = outer(counts[0, i], SIZES[0, i], counts[0, j], SIZES[0, j], alpha / 2)
        a, b = fold(np.array([low]), np.array([high]))
        args = (counts[0, i], SIZES[0, i], counts[0, j], SIZES[0, j])  # PASS end: as above
        if compare == "diff":
            out.append((float(a[0]), folded_pass_end(*args, alpha / 2)))
        else:
            out.append((folded_ratio_pass_end(*args, alpha / 2), float(b[0])))
    return out


def test_equalized_odds_parts_share_only_their_safe_ends() -> None:
    tpr = _part(COUNTS, "difference")
    # Safe end: at most half the error of a lone rate (shared by the two parts), so between
    # the parity-calibrated end at 2.5 % and the plain one-sided end at 2.5 %.
    parity = _pair_bounds_of(COUNTS, _safe("pairs", SIZES[0], alpha=0.025), "diff")
    plain = _pair_bounds_of(COUNTS, 0.05, "diff")
    alone = _run("between_groups", "difference")
    assert max(b[0] for b in parity) < tpr.low[0, 0] <= max(b[0] for b in plain)
    assert tpr.low[0, 0] < alone.low[0, 0]
    assert tpr.high[0, 0] == pytest.approx(max(b[1] for b in plain), abs=1e-12)


@pytest.mark.parametrize("transform", ["difference", "ratio"])
def test_equalized_odds_combines_the_ends_of_its_parts(transform: str) -> None:
    tpr, fpr = _part(COUNTS, transform), _part(OTHER, transform)
    worst = combine_components(tpr, fpr, transform, "worst_case")  # type: ignore[arg-type]
    mean = combine_components(tpr, fpr, transform, "mean")  # type: ignore[arg-type]
    pick = max if transform == "difference" else min
    assert worst.low[0, 0] == pick(tpr.low[0, 0], fpr.low[0, 0])
    assert worst.high[0, 0] == pick(tpr.high[0, 0], fpr.high[0, 0])
    v = (tpr.value[0, 0] + fpr.value[0, 0]) / 2
    assert mean.value[0, 0] == pytest.approx(v)
    if transform == "difference":
        # Safe end: the mean of the parts' safe ends; other end: MOVER for the sum, halved.
        assert mean.low[0, 0] == pytest.approx((tpr.low[0, 0] + fpr.low[0, 0]) / 2)
        w = np.hypot(tpr.high[0, 0] - tpr.value[0, 0], fpr.high[0, 0] - fpr.value[0, 0])
        assert mean.high[0, 0] == pytest.approx(v + w / 2)
        assert mean.high[0, 0] < (tpr.high[0, 0] + fpr.high[0, 0]) / 2
    else:
        assert mean.high[0, 0] == pytest.approx((tpr.high[0, 0] + fpr.high[0, 0]) / 2)
        w = np.hypot(tpr.value[0, 0] - tpr.low[0, 0], fpr.value[0, 0] - fpr.low[0, 0])
        assert mean.low[0, 0] == pytest.approx(v - w / 2)
        assert mean.low[0, 0] > (tpr.low[0, 0] + fpr.low[0, 0]) / 2


@pytest.mark.parametrize("upper", [True, False])
def test_the_worst_group_adjusts_its_safe_end_over_the_groups(upper: bool) -> None:
    stats = _stats(COUNTS, SIZES)
    judged = rate_extreme(
        stats,
        judged=np.ones((1, 4), dtype=bool),
        control_of=np.zeros(4, dtype=np.intp),
        upper=upper,
        alpha=0.05,
    )
    adjusted, plain = (
        [proportion_confint(COUNTS[0, g], SIZES[0, g], alpha=a, method="wilson") for g in range(4)]
        for a in (2 * sidak_tail(0.025, 4), 0.05)
    )
    if upper:  # the largest rate: at least max(lower ends) (a union), at most max(upper ends)
        assert judged.low[0, 0] == pytest.approx(max(b[0] for b in adjusted), abs=1e-12)
        assert judged.high[0, 0] == pytest.approx(max(b[1] for b in plain), abs=1e-12)
        assert judged.first[0, 0] == int(np.argmax(COUNTS[0] / SIZES[0]))
    else:
        assert judged.low[0, 0] == pytest.approx(min(b[0] for b in plain), abs=1e-12)
        assert judged.high[0, 0] == pytest.approx(min(b[1] for b in adjusted), abs=1e-12)
        assert judged.first[0, 0] == int(np.argmin(COUNTS[0] / SIZES[0]))


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


def test_two_group_equalized_odds_mean_combines_its_safe_ends_by_mover() -> None:
    two = np.array([[True, True, False, False]])
    SMALL = SIZES / 5  # noqa: N806  (small enough that the TPR sign stays open)

    def part(counts: np.ndarray) -> Judged:
        stats = _stats(counts, SMALL)
        return rate_disparity(
            stats,
            _overall(stats),
            judged=two,
            control_of=np.zeros(4, dtype=np.intp),
            transform="difference",
            method="between_groups",
            references=None,
            alpha=0.05,
            components=2,
        )

    tpr, fpr = part(COUNTS / 5), part(np.array([[5.0, 30.0, 1.0, 1.0]]))
    mean = combine_components(tpr, fpr, "difference", "mean")
    # Each part's reach is its end toward 0 at 0.05 / 4 a tail: the outer of Newcombe's and
    # the SCAS limits (since session 17).
    reaches = []
    for counts in (COUNTS / 5, np.array([[5.0, 30.0, 1.0, 1.0]])):
        low, high = outer_ends(counts[0, 0], SMALL[0, 0], counts[0, 1], SMALL[0, 1], 0.0125)
        d = counts[0, 0] / SMALL[0, 0] - counts[0, 1] / SMALL[0, 1]
        reaches.append(low if d >= 0 else -high)
    assert tpr.reach is not None
    assert tpr.reach[0, 0] < 0 < fpr.low[0, 0]  # the TPR sign is open, the FPR one is not
    assert tpr.reach[0, 0] == pytest.approx(reaches[0], abs=1e-12)
    width = np.hypot(tpr.value[0, 0] - reaches[0], fpr.value[0, 0] - reaches[1])
    assert mean.low[0, 0] == pytest.approx(max(mean.value[0, 0] - width / 2, 0.0), abs=1e-12)
    assert mean.low[0, 0] > (tpr.low[0, 0] + fpr.low[0, 0]) / 2


def test_to_overall_ratio_maps_the_rest_interval_and_adjusts_its_upper_end() -> None:
    judged = _run("to_overall", "ratio")
    total_c, total_n = COUNTS.sum(), SIZES.sum()
    lows, highs = [], []
    for g in range(4):
        rest_c, rest_n = total_c - COUNTS[0, g], total_n - SIZES[0, g]
        share = SIZES[0, g] / total_n
        ends = []
        safe = _safe("overall", SIZES[0], shares=SIZES[0] / total_n, overall=total_n)
        for alpha in (0.05, safe):
            args = (COUNTS[0, g], SIZES[0, g], rest_c, rest_n)
            if alpha == 0.05:  # the PASS end: the outer of the score and the SCAS limits
                low, high = ratio_outer_ends(*args, 0.025)
            else:
                low, high = confint_proportions_2indep(
                    *args, method="score", compare="ratio", alpha=alpha
                )
            mapped = [t / (share * t + 1 - share) for t in (low, high)]
            ends.append(fold_ratio(np.array([mapped[0]]), np.array([mapped[1]])))
        lows.append(ends[0][0][0])  # the end a PASS rests on: plain 0.05
        highs.append(ends[1][1][0])  # the end a FAIL rests on: simultaneous over 4 groups
    assert judged.low[0, 0] == pytest.approx(min(lows), rel=1e-9)
    assert judged.high[0, 0] == pytest.approx(min(highs), rel=1e-9)
    p = COUNTS[0] / SIZES[0]
    ratios = p / (total_c / total_n)
    assert judged.value[0, 0] == pytest.approx(np.minimum(ratios, 1 / ratios).min())


def test_entries_share_only_the_end_a_fail_rests_on() -> None:
    # Two control levels of two groups each: any level can FAIL the check, so the lower end
    # is shared by the two entries; a PASS needs both, so the upper end is plain (regression:
    # both ends used to be divided by the number of entries).
    stats = _stats(COUNTS, SIZES)
    control_of = np.array([0, 0, 1, 1], dtype=np.intp)
    overall = RateStats(
        np.array([[COUNTS[0, :2].sum(), COUNTS[0, 2:].sum()]]),
        np.array([[SIZES[0, :2].sum(), SIZES[0, 2:].sum()]]),
        np.array([[SIZES[0, :2].sum(), SIZES[0, 2:].sum()]]),
    )
    judged = rate_disparity(
        stats,
        overall,
        judged=np.ones((1, 4), dtype=bool),
        control_of=control_of,
        transform="difference",
        method="between_groups",
        references=None,
        alpha=0.05,
        entries=2,
    )
    for level, (i, j) in enumerate(((0, 1), (2, 3))):
        plain = _pair_bounds(i, j, 0.05, "diff")
        exact = two_group_fail_end(COUNTS[0, i], SIZES[0, i], COUNTS[0, j], SIZES[0, j], share=2)
        alone = two_group_fail_end(COUNTS[0, i], SIZES[0, i], COUNTS[0, j], SIZES[0, j])
        se = np.sqrt(0.25 * (1 / SIZES[0, i] + 1 / SIZES[0, j]))
        assert exact - 0.05 * se <= judged.low[0, level] <= exact + 1e-9
        assert exact < alone
        assert judged.high[0, level] == pytest.approx(plain[1], abs=1e-12)


def test_a_ratio_with_a_few_events_beside_thousands_fails_a_fair_model_rarely() -> None:
    """Regression: at parity, a group of 40 rows at 5 % (two events expected) beside three of
    5,000 made min / max FAIL-end's error 4.8 % from the small group's upward excursions
    alone, one sign, where alpha / 2 = 2.5 % is allowed (the adjusted log limit rejected 1 at
    5 events); Miettinen-Nurminen's score limit needs 6 (1.4 %). Exact over the small group's
    binomial, the large groups at their true rate."""
    events = np.arange(41)
    errs = []
    for count in events:
        stats = _stats(np.array([[count, 250.0, 250.0, 250.0]]), np.array([[40.0, *[5000.0] * 3]]))
        judged = rate_disparity(
            stats,
            _overall(stats),
            judged=np.ones((1, 4), dtype=bool),
            control_of=np.zeros(4, dtype=np.intp),
            transform="ratio",
            method="between_groups",
            references=None,
            alpha=0.05,
        )
        errs.append(judged.high[0, 0] < 1)
    error = float(binom.pmf(events, 40, 0.05)[np.array(errs)].sum())
    assert error < 0.025


@pytest.mark.parametrize("transform", ["difference", "ratio"])
@pytest.mark.parametrize("method", ["between_groups", "to_overall", "to_reference"])
def test_an_end_at_parity_builds_no_belt_table(method: str, transform: str) -> None:
    # Equal rates in four groups of sizes no other test uses: the parity value's FAIL end
    # already reaches parity, so the belt's (whose critical value at parity is the parity
    # value) would too, and its table is not built.
    sizes = np.array([[311.0, 377.0, 419.0, 523.0]])
    stats = _stats(np.round(sizes * 0.4), sizes)
    belt._table.cache_clear()  # a table built by an earlier test would be a hit, not a miss
    belt_overall._table.cache_clear()
    before = (belt._table.cache_info().misses, belt_overall._table.cache_info().misses)
    out = rate_disparity(
        stats,
        _overall(stats),
        judged=np.ones((1, 4), dtype=bool),
        control_of=np.zeros(4, dtype=np.intp),
        transform=transform,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        references=np.array([[2]]),
        alpha=0.05,
    )
    assert (out.low if transform == "difference" else out.high)[0, 0] == (
        0.0 if transform == "difference" else 1.0
    )
    assert (belt._table.cache_info().misses, belt_overall._table.cache_info().misses) == before
    if method == "between_groups":  # the belt itself agrees
        p, n = stats.p[0], stats.n_eff[0]
        i, j = np.triu_indices(4, 1)
        end = belt.belt_end(
            transform,  # type: ignore[arg-type]
            "pairs",
            (p[i], n[i], p[j], n[j]),
            pm=p,
            nm=n,
            alpha=0.05,
            share=1.0,
        )
        assert end == (0.0 if transform == "difference" else 1.0)


@pytest.mark.parametrize("method", ["between_groups", "to_overall", "to_reference"])
@pytest.mark.parametrize("transform", ["difference", "ratio"])
def test_entries_judged_side_by_side_equal_each_entry_alone(
    method: str, transform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Many entries (labels) in small chunks: unjudged references, groups of a few rows, rates
    # of 0 and 1. Run side by side (their searches batched) or one by one: the same bits.
    rng = np.random.default_rng(len(method) + len(transform))
    reps = 40
    sizes = rng.integers(3, 300, size=(reps, 4)).astype(np.float64)
    rates = rng.choice([0.0, 0.05, 0.5, 0.97, 1.0], size=(reps, 4))
    counts = rng.binomial(sizes.astype(np.int64), rates).astype(np.float64)
    judged = rng.random((reps, 4)) < 0.85

    def run() -> list[np.ndarray]:
        out = rate_disparity(
            RateStats(counts, sizes, sizes.copy()),
            RateStats(
                counts.sum(1, keepdims=True),
                sizes.sum(1, keepdims=True),
                sizes.sum(1, keepdims=True),
            ),
            judged=judged,
            control_of=np.zeros(4, dtype=np.intp),
            transform=transform,  # type: ignore[arg-type]
            method=method,  # type: ignore[arg-type]
            references=np.full((reps, 1), 3, dtype=np.intp),
            alpha=0.05,
        )
        assert out.reach is not None
        return [out.value, out.low, out.high, out.reach, out.first, out.second, out.n_judged]

    monkeypatch.setattr(judged_module, "_BATCH", 7)
    together = run()
    monkeypatch.setattr(judged_module, "run_entries", lambda tasks: [task() for task in tasks])
    for a, b in zip(together, run(), strict=True):
        assert np.array_equal(a, b, equal_nan=True)
