"""Equalized odds from its parts (bias_checks._components) and the belt over both parts'
pairs (bias_checks._belt.parts_end), against closed forms and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtr

from bias_checks._belt import _configurations, _count, parts_end, table
from bias_checks._components import combine_components, joint_fail_end
from bias_checks._judged import Judged, rate_disparity
from bias_checks._rate_stats import RateStats

ALPHA = 0.05


def _part(num: np.ndarray, den: np.ndarray) -> tuple[RateStats, Judged]:
    stats = RateStats(num, den, den.copy())
    total = (num.sum(1, keepdims=True), den.sum(1, keepdims=True))
    judged = rate_disparity(
        stats,
        RateStats(total[0], total[1], total[1].copy()),
        judged=np.ones(num.shape, dtype=bool),
        control_of=np.zeros(num.shape[1], dtype=np.intp),
        transform="difference",
        method="between_groups",
        references=None,
        alpha=ALPHA,
        components=2,
    )
    return stats, judged


def _worst(
    tp: np.ndarray, pos: np.ndarray, fp: np.ndarray, neg: np.ndarray, *, joint: bool
) -> Judged:
    (t_stats, tpr), (f_stats, fpr) = _part(tp, pos), _part(fp, neg)
    end = None
    if joint:
        end = joint_fail_end(
            t_stats,
            f_stats,
            judged=np.ones(tp.shape, dtype=bool),
            control_of=np.zeros(tp.shape[1], dtype=np.intp),
            transform="difference",
            alpha=ALPHA,
        )
    return combine_components(tpr, fpr, "difference", "worst_case", joint=end)


def test_two_groups_at_parity_share_alpha_over_two_independent_comparisons() -> None:
    # At parity the PASS end cannot err: P(max(|Z_T|, |Z_F|) > c) = alpha for independent parts.
    c = table("pairs", np.array([100.0, 100.0, 300.0, 300.0]), alpha=ALPHA, parts=2)
    assert c is not None
    exact = brentq(lambda x: 1 - (1 - 2 * ndtr(-x)) ** 2 - ALPHA, 1.0, 4.0)
    assert c.critical[0] == pytest.approx(exact, abs=0.02)


def test_two_groups_far_from_parity_is_one_sided_over_both_parts() -> None:
    # Where both parts attain theta the PASS end errs only if both miss ((alpha/2)**2), so
    # the FAIL end's error is what is left of alpha over max(Z_T, Z_F), one-sided; the union
    # of the parts' own belts (half of the FAIL end's error each) needs 2.24.
    c = table("pairs", np.array([100.0, 100.0, 300.0, 300.0]), alpha=ALPHA, parts=2)
    assert c is not None
    exact = brentq(lambda x: 1 - (1 - ndtr(-x)) ** 2 - (ALPHA - (ALPHA / 2) ** 2), 1.0, 4.0)
    assert c.critical[-1] == pytest.approx(exact, abs=0.02)
    single = table("pairs", np.array([100.0, 100.0]), alpha=ALPHA, share=2)
    assert single is not None
    assert single.critical[-1] > c.critical[-1] + 0.2


def test_configurations_of_parts_are_counted_without_listing_them() -> None:
    for k in range(2, 5):
        for joint in (True, False):
            listed = _configurations("pairs", k, joint, parts=2)
            assert _count("pairs", k, joint=joint, parts=2) == listed.shape[0]
            assert len({tuple(row) for row in listed}) == listed.shape[0]
            assert not np.any(np.all(listed == 0, axis=1))  # never both parts at parity


def test_four_groups_keep_the_union_of_the_parts() -> None:
    p, n = np.array([0.2, 0.3, 0.4, 0.5]), np.full(4, 500.0)
    assert parts_end("difference", ((p, n), (p, n)), alpha=ALPHA, share=1) is None


def test_the_joint_end_is_sharper_than_the_union_and_below_the_estimate() -> None:
    tp, pos = np.array([[300.0, 420.0]]), np.array([[500.0, 500.0]])
    fp, neg = np.array([[100.0, 190.0]]), np.array([[500.0, 500.0]])
    union = _worst(tp, pos, fp, neg, joint=False)
    joint = _worst(tp, pos, fp, neg, joint=True)
    assert union.low[0, 0] < joint.low[0, 0] < joint.value[0, 0] == pytest.approx(0.24)
    assert joint.high[0, 0] == union.high[0, 0]  # the PASS end is untouched


@pytest.mark.slow
@pytest.mark.parametrize("fpr", [(0.20, 0.32), (0.20, 0.20)])
def test_the_joint_end_keeps_its_error_where_it_is_calibrated(fpr: tuple[float, float]) -> None:
    # Two groups of 300 rows: both parts 0.12 apart (the FAIL end's worst case), or only TPR
    # (the PASS end's); errors of both ends together within 5 % + 3 SE of 1,500 audits.
    rng = np.random.default_rng(3)
    reps = 1500
    tpr = np.array([0.60, 0.72])
    pos = rng.binomial(300, 0.5, size=(reps, 2)).astype(np.float64)
    neg = 300 - pos
    tp = rng.binomial(pos.astype(np.int64), tpr).astype(np.float64)
    fp = rng.binomial(neg.astype(np.int64), np.array(fpr)).astype(np.float64)
    worst = _worst(tp, pos, fp, neg, joint=True)
    errs = np.mean(worst.low[:, 0] > 0.12) + np.mean(worst.high[:, 0] < 0.12)
    assert errs <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / reps)
    union = _worst(tp, pos, fp, neg, joint=False)
    assert np.mean(worst.low[:, 0] > 0.12) > np.mean(union.low[:, 0] > 0.12)
