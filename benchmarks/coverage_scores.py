"""Benchmark: coverage of the score metrics' intervals (ROC AUC, Brier score, calibration
error) by group and of their between-group disparities, on simulated populations whose truth
is known (issue 17).

Populations (binormal): a negative's latent score is N(0, 1), a positive's N(mu_g, 1), so a
group's AUC is Phi(mu_g / sqrt(2)). The probability is ``expit(a_g + latent)``; its Brier
score and mean (hence the calibration error ``|E[s] - pi_g|``) come from 200-node
Gauss-Hermite quadrature, exact to ~1e-12. Prevalences differ between groups (0.25 to 0.5).

Cells: 50, 200 and 1,000 rows a group; 2 and 4 groups; ``fair`` (same mu, every group
calibrated in the large, so each calibration error is 0, the hardest point for a folded
interval) and ``gap`` (mu from 1.0 to 2.0, intercepts off by 0 to 0.5). 95 % intervals;
every replication is one set of groups.

Ours: the engine's functions (``bias_checks._scores`` per group, ``bias_checks.
_score_evidence`` for the disparities, simultaneous over the pairs). Reference, on the same
data in the same run: Hanley & McNeil's Wald interval for AUC, the z (Wald) interval for the
Brier score, the Wald interval of ``|d|`` unfolded for calibration; for the differences the
unadjusted Wald interval of the max - min pair (what one would get from per-group standard
errors without simultaneity). Nothing is asserted.

Review cells (review of #17), judged groups only (>= 10 of each class): one group's AUC with
1.5 % positives in 1,000 rows (AUC 0.983) and two groups' AUC difference and ratio there
(AUC 0.993 and 0.962); one group's Brier score at 40 rows, half positives, AUC 0.993 and
0.9998. Reference: the DeLong logit interval alone (the engine's AUC interval before the
review) and, for the Brier score, the log-scale t interval alone.

Run: ``python benchmarks/coverage_scores.py`` (``--reps 200`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq
from scipy.special import expit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._evidence import EvidenceRule
from bias_checks._score_evidence import score_disparity_evidence
from bias_checks._scores import (
    _delong_logit,
    group_interval,
    group_scores,
    hanley_mcneil_variance,
    t_quantile,
)
from bias_checks.catalogue import METRICS

ALPHA = 0.05
RULE = EvidenceRule(min_group_size=0, min_denominator=1)
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(200)
WEIGHTS = WEIGHTS / WEIGHTS.sum()
METRIC_NAMES = ("roc_auc", "brier_score", "calibration_error")
Array = np.ndarray[Any, Any]


def _moments(mu: float, a: float) -> tuple[float, float, float, float]:
    """E[s], E[s^2] for positives and negatives."""
    s1, s0 = expit(a + mu + NODES), expit(a + NODES)
    return WEIGHTS @ s1, WEIGHTS @ s1**2, WEIGHTS @ s0, WEIGHTS @ s0**2


def truth(mu: float, a: float, pi: float) -> dict[str, float]:
    m1, q1, m0, q0 = _moments(mu, a)
    return {
        "roc_auc": float(sps.norm.cdf(mu / np.sqrt(2))),
        "brier_score": float(pi * (q1 - 2 * m1 + 1) + (1 - pi) * q0),
        "calibration_error": float(abs(pi * m1 + (1 - pi) * m0 - pi)),
    }


def calibrated_intercept(mu: float, pi: float) -> float:
    def gap(a: float) -> float:
        m1, _q1, m0, _q0 = _moments(mu, a)
        return float(pi * m1 + (1 - pi) * m0 - pi)

    return float(brentq(gap, -10, 10, xtol=1e-14))


def population(k: int, scenario: str) -> list[tuple[float, float, float]]:
    """(mu, a, pi) for each group."""
    pis = np.linspace(0.25, 0.5, k)
    if scenario == "fair":
        return [(1.5, calibrated_intercept(1.5, p), float(p)) for p in pis]
    mus, offsets = np.linspace(1.0, 2.0, k), np.linspace(0.0, 0.5, k)
    return [
        (float(m), calibrated_intercept(float(m), float(p)) + float(o), float(p))
        for m, o, p in zip(mus, offsets, pis, strict=True)
    ]


def draw(
    rng: np.random.Generator, groups: list[tuple[float, float, float]], n: int
) -> tuple[Array, Array, Array]:
    positive, score, group = [], [], []
    for g, (mu, a, pi) in enumerate(groups):
        y = rng.random(n) < pi
        latent = rng.standard_normal(n) + mu * y
        positive.append(y)
        score.append(expit(a + latent))
        group.append(np.full(n, g, dtype=np.intp))
    return np.concatenate(positive), np.concatenate(score), np.concatenate(group)


def _table(k: int, n: int) -> Any:
    """The two fields of a GroupTable that the disparity evidence reads."""
    grouping = SimpleNamespace(control_of=np.zeros(k, dtype=np.intp), n_control=1)
    return SimpleNamespace(grouping=grouping, counts=np.full(k, n, dtype=np.intp))


def _reference_group(scores: Any, metric: str) -> tuple[Array, Array]:
    z = sps.norm.ppf(1 - ALPHA / 2)
    if metric == "roc_auc":
        se = np.sqrt(hanley_mcneil_variance(scores.roc_auc, scores.n_pos, scores.n_neg))
        return scores.roc_auc - z * se, scores.roc_auc + z * se
    value = scores.value(metric)
    se = scores.brier_score_se if metric == "brier_score" else scores.calibration_se
    return value - z * se, value + z * se


def _reference_difference(scores: Any, metric: str) -> tuple[float, float]:
    value = scores.value(metric)
    hi, lo = int(np.argmax(value)), int(np.argmin(value))
    low, _high = _reference_group(scores, metric)
    z = sps.norm.ppf(1 - ALPHA / 2)
    se_hi, se_lo = (value[hi] - low[hi]) / z, (value[lo] - low[lo]) / z
    gap, se = value[hi] - value[lo], float(np.hypot(se_hi, se_lo))
    return gap - z * se, gap + z * se


def run_cell(k: int, n: int, scenario: str, reps: int, seed: int) -> dict[str, float]:
    groups = population(k, scenario)
    truths = [truth(*g) for g in groups]
    rng = np.random.default_rng(seed)
    table = _table(k, n)
    hits: dict[str, list[float]] = {}
    for _ in range(reps):
        positive, score, group = draw(rng, groups, n)
        scores = group_scores(positive, score, group, k)
        overall = group_scores(positive, score, np.zeros(group.size, dtype=np.intp), 1)
        for metric in METRIC_NAMES:
            true = np.array([t[metric] for t in truths])
            low, high = group_interval(scores, metric, ALPHA / 2)
            hits.setdefault(f"{metric} group", []).append(
                float(((low <= true) & (true <= high)).mean())
            )
            ref_low, ref_high = _reference_group(scores, metric)
            hits.setdefault(f"{metric} group ref", []).append(
                float(((ref_low <= true) & (true <= ref_high)).mean())
            )
            for transform in ("difference", "ratio"):
                if metric == "calibration_error" and transform == "ratio":
                    continue
                info = METRICS[f"{metric}_{transform}"]
                judged, _mask = score_disparity_evidence(
                    info,
                    table,
                    scores,
                    overall,
                    method="between_groups",
                    references=None,
                    rule=RULE,
                    alpha=ALPHA,
                )
                target = (
                    true.max() - true.min()
                    if transform == "difference"
                    else true.min() / true.max()
                )
                ok = judged.low[0, 0] <= target <= judged.high[0, 0]
                hits.setdefault(f"{metric} {transform}", []).append(float(ok))
            ref = _reference_difference(scores, metric)
            gap = true.max() - true.min()
            hits.setdefault(f"{metric} difference ref", []).append(float(ref[0] <= gap <= ref[1]))
    return {key: 100 * float(np.mean(v)) for key, v in hits.items()}


def _review_draw(
    rng: np.random.Generator, n: int, pi: float, mus: tuple[float, ...], a: float
) -> tuple[Array, Array, Array] | None:
    k = len(mus)
    group = np.repeat(np.arange(k), n)
    y = rng.random(n * k) < pi
    positives = np.bincount(group, weights=y, minlength=k)
    if min(positives.min(), (n - positives).min()) < 10:
        return None  # not judged under the default evidence rule
    return y, expit(a + rng.standard_normal(n * k) + np.array(mus)[group] * y), group


def _review_group(metric: str, n: int, pi: float, mu: float, a: float, *, reps: int) -> str:
    rng = np.random.default_rng(17)
    true = truth(mu, a, pi)[metric]
    ours, ref = [], []
    for _ in range(reps):
        drawn = _review_draw(rng, n, pi, (mu,), a)
        if drawn is None:
            continue
        scores = group_scores(drawn[0], drawn[1], drawn[2], 1)
        low, high = group_interval(scores, metric, ALPHA / 2)
        ours.append(low[0] <= true <= high[0])
        if metric == "roc_auc":
            rlow, rhigh = _delong_logit(scores, ALPHA / 2)
        else:
            factor = np.exp(
                t_quantile(ALPHA / 2, scores.n) * scores.brier_score_se / scores.brier_score
            )
            rlow, rhigh = scores.brier_score / factor, scores.brier_score * factor
        ref.append(rlow[0] <= true <= rhigh[0])
    return f"{100 * np.mean(ours):>8.1f}{100 * np.mean(ref):>8.1f}{len(ours):>8d}"


def _review_disparity(metric: str, reps: int) -> str:
    n, pi, mus = 1000, 0.015, (3.5, 2.5)
    true = sps.norm.cdf(np.array(mus) / np.sqrt(2))
    target = true.max() - true.min() if metric.endswith("difference") else true.min() / true.max()
    rng = np.random.default_rng(5)
    hits = []
    for _ in range(reps):
        drawn = _review_draw(rng, n, pi, mus, -5.0)
        if drawn is None:
            continue
        y, score, group = drawn
        judged, _mask = score_disparity_evidence(
            METRICS[metric],
            _table(2, n),
            group_scores(y, score, group, 2),
            group_scores(y, score, np.zeros(group.size, dtype=np.intp), 1),
            method="between_groups",
            references=None,
            rule=RULE,
            alpha=ALPHA,
        )
        hits.append(judged.low[0, 0] <= target <= judged.high[0, 0])
    return f"{100 * np.mean(hits):>8.1f}{'':>8}{len(hits):>8d}"


def review_cells(reps: int) -> None:
    print(f"Review cells: coverage (%) of 95 % intervals, {reps} replications a cell")
    print(f"{'cell':<44}{'ours':>8}{'ref':>8}{'judged':>8}")
    rows = [
        (
            "roc_auc group n=1000 pi=.015 AUC .983",
            lambda: _review_group("roc_auc", 1000, 0.015, 3.0, -5.0, reps=reps),
        ),
        (
            "roc_auc_difference n=1000 pi=.015",
            lambda: _review_disparity("roc_auc_difference", reps),
        ),
        ("roc_auc_ratio n=1000 pi=.015", lambda: _review_disparity("roc_auc_ratio", reps)),
        (
            "brier_score group n=40 pi=.5 AUC .993",
            lambda: _review_group("brier_score", 40, 0.5, 3.5, -1.75, reps=reps),
        ),
        (
            "brier_score group n=40 pi=.5 AUC .9998",
            lambda: _review_group("brier_score", 40, 0.5, 5.0, -2.5, reps=reps),
        ),
    ]
    for label, cell in rows:
        print(f"{label:<44}{cell()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--review-only", action="store_true", help="only the review cells")
    args = parser.parse_args()
    review_cells(args.reps)
    if args.review_only:
        return
    columns = [
        ("AUC grp", "roc_auc group"),
        ("HM grp", "roc_auc group ref"),
        ("AUC diff", "roc_auc difference"),
        ("ref", "roc_auc difference ref"),
        ("AUC ratio", "roc_auc ratio"),
        ("Brier grp", "brier_score group"),
        ("z grp", "brier_score group ref"),
        ("Brier diff", "brier_score difference"),
        ("ref", "brier_score difference ref"),
        ("Brier ratio", "brier_score ratio"),
        ("Cal grp", "calibration_error group"),
        ("Wald grp", "calibration_error group ref"),
        ("Cal diff", "calibration_error difference"),
        ("ref", "calibration_error difference ref"),
    ]
    print(f"Coverage (%) of 95 % intervals, {args.reps} replications a cell")
    print(f"{'cell':<18}" + "".join(f"{name:>12}" for name, _key in columns))
    start = time.perf_counter()
    seed = 0
    for scenario in ("fair", "gap"):
        for k in (2, 4):
            for n in (50, 200, 1000):
                seed += 1
                cell = run_cell(k, n, scenario, args.reps, seed)
                label = f"{scenario} k={k} n={n}"
                print(f"{label:<18}" + "".join(f"{cell[key]:>12.1f}" for _name, key in columns))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
