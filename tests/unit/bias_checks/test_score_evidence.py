"""Disparities of score metrics: coverage of the AUC difference and ratio intervals with a
rare class (review of #17, hole 2), simulated with known truth."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from bias_checks import METRICS, EvidenceRule
from bias_checks._score_evidence import score_disparity_evidence
from bias_checks._scores import group_scores


def _disparity_coverage(metric: str, *, reps: int) -> tuple[float, int]:
    """Two groups of 1,000 rows, 1.5 % positives, AUC 0.993 and 0.962 (binormal)."""
    n, pi, mus = 1000, 0.015, np.array([3.5, 2.5])
    true = norm.cdf(mus / np.sqrt(2))
    target = true.max() - true.min() if metric.endswith("difference") else true.min() / true.max()
    grouping = SimpleNamespace(control_of=np.zeros(2, dtype=np.intp), n_control=1)
    table = SimpleNamespace(grouping=grouping, counts=np.full(2, n, dtype=np.intp))
    group = np.repeat(np.arange(2), n)
    rng = np.random.default_rng(5)
    hits = []
    for _ in range(reps):
        y = rng.random(2 * n) < pi
        positives = np.bincount(group, weights=y, minlength=2)
        if min(positives.min(), (n - positives).min()) < 10:
            continue  # not judged under the default evidence rule
        scores = expit(-5.0 + rng.normal(size=2 * n) + mus[group] * y)
        judged, _mask = score_disparity_evidence(
            METRICS[metric],
            table,  # type: ignore[arg-type]
            group_scores(y, scores, group, 2),
            group_scores(y, scores, np.zeros(2 * n, dtype=np.intp), 1),
            method="between_groups",
            references=None,
            rule=EvidenceRule(min_group_size=0, min_denominator=1),
            alpha=0.05,
        )
        hits.append(bool(judged.low[0, 0] <= target <= judged.high[0, 0]))
    return float(np.mean(hits)), len(hits)


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["roc_auc_difference", "roc_auc_ratio"])
def test_auc_disparity_intervals_hold_95_percent_with_rare_positives(metric: str) -> None:
    # A normal interval with the two DeLong variances summed covered 87 % here.
    coverage, judged = _disparity_coverage(metric, reps=300)
    assert judged >= 200
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / judged)
    assert coverage >= floor, f"{metric}: {coverage:.3f} over {judged} judged pairs"


@pytest.mark.parametrize("metric", ["brier_score_ratio", "calibration_error_ratio"])
def test_a_ratio_with_a_perfect_group_has_an_interval_not_a_warning(metric: str) -> None:
    # Regression: a group with Brier score 0 (scores equal to the labels) is -inf on the log
    # scale; MOVER subtracted -inf from -inf, warned and gave no interval. The box of the two
    # groups' intervals is used there.
    from bias_checks import Threshold, audit_predictions

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    scores = rng.random(200)
    scores[:100] = y[:100]
    result = audit_predictions(
        y,
        (scores >= 0.5).astype(int),
        sensitive_features=np.repeat(["a", "b"], 100),
        y_score=scores,
        thresholds=(Threshold(metric, 0.5),),
        evidence=EvidenceRule(min_group_size=1, min_denominator=1),
        n_boot=0,
    )
    interval = result.disparity(metric)[0].ci
    assert interval is not None
    assert interval.low <= result.disparity(metric)[0].value <= interval.high
