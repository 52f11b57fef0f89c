"""The belt of ``to_overall``'s FAIL end (bias_checks._belt_overall) against independent
references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from bias_checks._belt import Table, _configurations, _key
from bias_checks._belt_overall import _scaled, _share_key, _table, overall_end
from bias_checks._judged import Judged, rate_disparity
from bias_checks._rate_stats import RateStats
from bias_checks._simultaneous import comparison_tail


def _tab(sizes: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    key = tuple(sorted(zip(_key(sizes), _share_key(sizes / sizes.sum()), strict=True)))
    tab: Table | None = _table(key, alpha, 1.0)
    assert tab is not None
    return tab.critical


def _judge(counts: np.ndarray, sizes: np.ndarray, judged: np.ndarray | None = None) -> Judged:
    """Each group against the overall rate, unweighted, one replication a row."""
    stats = RateStats(counts, sizes, sizes.copy())
    total = (counts.sum(1, keepdims=True), sizes.sum(1, keepdims=True))
    return rate_disparity(
        stats,
        RateStats(total[0], total[1], total[1].copy()),
        judged=np.ones(counts.shape, dtype=bool) if judged is None else judged,
        control_of=np.zeros(counts.shape[1], dtype=np.intp),
        transform="difference",
        method="to_overall",
        references=None,
        alpha=0.05,
    )


@pytest.mark.parametrize("sizes", [[100.0, 100, 100, 100], [50.0, 5000, 5000, 5000], [30.0, 70]])
def test_at_parity_the_critical_value_is_the_simultaneous_one(sizes: list[float]) -> None:
    n = np.array(sizes)
    parity = -ndtri(comparison_tail("overall", n, alpha=0.05, shares=n / n.sum(), overall=n.sum()))
    assert _tab(n)[0] == pytest.approx(parity, abs=0.02)


def test_far_from_parity_it_is_the_one_sided_value_of_two_equal_clusters() -> None:
    # Four equal groups, two at each end: every group is theta from the overall rate, each on
    # its own side, and the PASS end (four groups at theta) cannot err there. An independent
    # Monte Carlo of the largest signed, standardised deviation from the mean.
    c = _tab(np.full(4, 100.0))
    e = np.random.default_rng(3).standard_normal((400_000, 4))
    deviation = (e - e.mean(axis=1, keepdims=True)) / np.sqrt(3 / 4)
    signed = deviation * np.array([-1.0, -1.0, 1.0, 1.0])
    expected = float(np.quantile(signed.max(axis=1), 0.95))
    assert c[-1] == pytest.approx(expected, abs=0.03)
    assert c[-1] < c[0] - 0.2


@pytest.mark.slow  # 3,000 audits: 4-8 s
def test_the_fail_end_keeps_its_error_at_the_least_favourable_configuration() -> None:
    # Four groups of 150 rows, two at 0.40 and two at 0.52: every group is 0.06 from the
    # overall rate. The FAIL and PASS ends together err in at most 5 % of audits.
    rng = np.random.default_rng(5)
    reps, n = 3000, 150.0
    counts = rng.binomial(int(n), [0.40, 0.40, 0.52, 0.52], size=(reps, 4)).astype(np.float64)
    judged = _judge(counts, np.full((reps, 4), n))
    fail_end_errs = float(np.mean(judged.low[:, 0] > 0.06))
    pass_end_errs = float(np.mean(judged.high[:, 0] < 0.06))
    assert fail_end_errs + pass_end_errs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert fail_end_errs > 0.035  # the parity value's end erred in 2.2 % of these audits


def test_a_group_left_out_enters_the_overall_rate_only() -> None:
    # Three compared groups; a fifth of the level (two small groups) is not compared. At
    # parity c is the simultaneous value with that part of the overall rate's variance.
    n, shares, overall = np.array([200.0, 300.0, 300.0]), np.array([0.2, 0.3, 0.3]), 1000.0
    outside = 1 / overall - float((shares * shares / n).sum())
    parity = -ndtri(comparison_tail("overall", n, alpha=0.05, shares=shares, overall=overall))
    rest = (np.append(n, 0.2**2 / outside), np.append(shares, 0.2))
    key = tuple(sorted(zip(_key(rest[0])[:3], _key(rest[1])[:3], strict=True)))
    tab = _table(key, 0.05, 1.0, (_key(rest[0])[-1], _key(rest[1])[-1]))
    assert tab is not None
    assert tab.critical[0] == pytest.approx(parity, abs=0.02)


@pytest.mark.slow  # 3,000 audits: 5-10 s
def test_with_a_group_left_out_the_fail_end_keeps_its_error() -> None:
    # Four judged groups of 150 rows, two at 0.40 and two at 0.52, and a group of 20 rows
    # at 0.46 that is too small to judge but counts in the overall rate (still 0.46).
    rng = np.random.default_rng(9)
    reps = 3000
    sizes = np.array([150.0, 150, 150, 150, 20])
    rates = [0.40, 0.40, 0.52, 0.52, 0.46]
    counts = rng.binomial(sizes.astype(int), rates, size=(reps, 5)).astype(np.float64)
    judged = np.ones((reps, 5), dtype=bool)
    judged[:, 4] = False
    out = _judge(counts, np.tile(sizes, (reps, 1)), judged=judged)
    fail_end_errs = float(np.mean(out.low[:, 0] > 0.06))
    pass_end_errs = float(np.mean(out.high[:, 0] < 0.06))
    assert fail_end_errs + pass_end_errs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)
    assert fail_end_errs > 0.028  # 3.6 %; the parity value's end erred in 2.1 % of them


def test_sizes_that_do_not_add_up_keep_the_parity_value() -> None:
    # Noise added to the counts (federated audits) leaves effective sizes whose parts give
    # the overall rate more precision than it has: no belt.
    p, n = np.array([0.3, 0.5]), np.array([200.0, 200.0])
    shares = np.array([0.5, 0.5])
    assert overall_end((p, n), (p[::-1], n[::-1]), shares, 500.0, alpha=0.05, share=1.0) is None
    complete = overall_end((p, n), (p[::-1], n[::-1]), shares, 400.0, alpha=0.05, share=1.0)
    assert complete is not None
    assert complete > 0


@pytest.mark.slow  # 2,000 audits: 5-10 s
def test_five_groups_with_one_at_the_overall_rate_keep_the_error() -> None:
    # Regression (independent review): five equal groups at (+t, +t, -t, -t, 0) around the
    # overall rate put four at t, which no two-cluster split does; calibrated on the splits
    # alone the FAIL end erred 7.65 % here (2,000 audits), the parity value's 1.95 %.
    rng = np.random.default_rng(1)
    reps, n, t = 2000, 1000, 0.024
    rates = [0.5 + t, 0.5 + t, 0.5 - t, 0.5 - t, 0.5]
    counts = rng.binomial(n, rates, size=(reps, 5)).astype(np.float64)
    judged = _judge(counts, np.full((reps, 5), float(n)))
    fail_end_errs = float(np.mean(judged.low[:, 0] > t))
    pass_end_errs = float(np.mean(judged.high[:, 0] < t))
    assert fail_end_errs + pass_end_errs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / reps)


def test_six_groups_keep_the_parity_value() -> None:
    n = np.full(6, 100.0)
    assert _table(tuple(sorted(zip(_key(n), _key(n / n.sum()), strict=True))), 0.05, 1.0) is None


@pytest.mark.parametrize(
    "shares",
    [
        [0.5, 0.3, 0.2],
        [0.2928, 0.2072, 0.2025, 0.2975],
        [0.2459, 0.2541, 0.2636, 0.1954, 0.041],
    ],
)
def test_the_key_keeps_every_group_at_theta_where_the_shares_allow_it(shares: list[float]) -> None:
    # Regression: some groups' shares add up to 1/2, so splitting them from the rest puts
    # every group at theta from the overall rate. With the shares rounded to 2**(1/8) in the
    # table's key one cluster sat at 0.980 theta and far from parity the FAIL end erred
    # 5.5-5.6 %; rounded to 2**(1/64), 0.7 % short and 5.4 % (an independent review).
    rounded = np.array(_share_key(np.array(shares)))
    rounded /= rounded.sum()
    configs = _scaled(_configurations("pairs", len(shares), joint=True), rounded, len(shares))
    deviation = np.abs(configs - (configs @ rounded)[:, None])
    assert deviation.min(axis=1).max() == pytest.approx(1.0, abs=1e-9)


@pytest.mark.slow  # 20,000 audits: 10-20 s
def test_unequal_shares_far_from_parity_keep_the_error() -> None:
    # The case above through the engine, 8 sds from parity (0.0283 from the overall rate):
    # with shares rounded to 2**(1/8) the two ends erred 5.62 % of these audits, now 4.91 %.
    rng = np.random.default_rng(1)
    reps, sizes = 20_000, np.array([50_000, 30_000, 20_000])
    t = 8 * np.sqrt(0.25 / 20_000)
    rates = 0.5 + np.array([t, -t, -t])
    counts = rng.binomial(sizes, rates, size=(reps, 3)).astype(np.float64)
    judged = _judge(counts, np.tile(sizes.astype(np.float64), (reps, 1)))
    errs = float(np.mean(judged.low[:, 0] > t + 1e-12) + np.mean(judged.high[:, 0] < t - 1e-12))
    assert errs <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / reps)
