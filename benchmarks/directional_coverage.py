"""Benchmark: coverage of the directional metrics' intervals (issue 17).

``statistical_parity_difference``, ``disparate_impact`` and ``average_odds_difference`` are
the smallest, over the groups compared with the reference, of a signed difference (or an
unclipped ratio). Their interval (``bias_checks._directional.directional_judged``) puts each
group's upper limit at Dunnett's simultaneous one-sided tail and the lower end at
``alpha / 2``. Here populations with known rates are simulated (prevalence 0.5; two or four
groups, the reference first; 50, 200 or 2,000 rows a group; at parity and with the other
groups below the reference) and the interval is checked against the true smallest value.

Printed per cell and metric: coverage of ours at 95 %, the share of misses on each end (the
upper end is the one a FAIL of a lower bound rests on: at most 2.5 % is the claim), and
beside it, in the same run on the same data, the plain per-comparison interval (each group's
Newcombe/log-ratio limits at ``alpha / 2``, no adjustment), whose upper end misses more
often as groups are added. Nothing is asserted.

Run: ``python benchmarks/directional_coverage.py`` (``--reps 500`` for a quick look).
"""

from __future__ import annotations

import argparse
import os
import sys
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._directional import _limits, directional_judged
from bias_checks._rate_stats import RateStats
from bias_checks.catalogue import METRICS

ALPHA = 0.05
METRIC_NAMES = ("statistical_parity_difference", "disparate_impact", "average_odds_difference")
PREVALENCE = 0.5


def _table(tp: Any, fp: Any, pos: Any, neg: Any) -> Any:
    """A stand-in for GroupTable with what the directional code reads: rates and values."""

    def stats(num: Any, den: Any) -> RateStats:
        num, den = np.asarray(num, float)[None, :], np.asarray(den, float)[None, :]
        return RateStats(num, den, den.copy())

    rates = {
        "selection_rate": stats(tp + fp, pos + neg),
        "true_positive_rate": stats(tp, pos),
        "false_positive_rate": stats(fp, neg),
    }
    values = {name: r.p for name, r in rates.items()}
    grouping = SimpleNamespace(control_of=np.zeros(tp.size, dtype=np.intp), n_groups=tp.size)
    return SimpleNamespace(rates=rates, values=values, grouping=grouping)


def _truth(metric: str, tpr: Any, fpr: Any) -> float:
    sr = PREVALENCE * tpr + (1 - PREVALENCE) * fpr
    if metric == "statistical_parity_difference":
        return float((sr[1:] - sr[0]).min())
    if metric == "disparate_impact":
        return float((sr[1:] / sr[0]).min())
    return float((((tpr[1:] - tpr[0]) + (fpr[1:] - fpr[0])) / 2).min())


def run_cell(n: int, tpr: Any, fpr: Any, reps: int, rng: np.random.Generator) -> dict[str, Any]:
    k = len(tpr)
    out: dict[str, Any] = {m: np.zeros((2, 3)) for m in METRIC_NAMES}
    refs = np.zeros((1, 1), dtype=np.intp)
    mask = np.ones((1, k), dtype=bool)
    for _ in range(reps):
        pos = rng.binomial(n, PREVALENCE, k)
        neg = n - pos
        table = _table(rng.binomial(pos, tpr), rng.binomial(neg, fpr), pos, neg)
        for metric in METRIC_NAMES:
            info = METRICS[metric]
            theta = _truth(metric, tpr, fpr)
            ours = directional_judged(table, info, judged=mask, references=refs, alpha=ALPHA)
            low, high = ours.low[0, 0], ours.high[0, 0]
            others = np.arange(1, k)
            p_low, p_high = _limits(
                info, table, 0, others, 0, low_tail=ALPHA / 2, high_tail=ALPHA / 2
            )
            plain = float(p_low.min()), float(p_high.min())
            for row, (lo, hi) in enumerate(((low, high), plain)):
                out[metric][row] += (lo <= theta <= hi, lo > theta, hi < theta)
    return {m: v / reps for m, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    cells = {
        "parity, 2 groups": ([0.6, 0.6], [0.2, 0.2]),
        "parity, 4 groups": ([0.6] * 4, [0.2] * 4),
        "gap, 4 groups": ([0.7, 0.6, 0.65, 0.7], [0.3, 0.2, 0.25, 0.3]),
    }
    header = f"{'cell':<18}{'n':>6}  {'metric':<31}{'ours: cover':>12}{'miss lo':>9}"
    header += f"{'miss hi':>9}   {'plain: cover':>12}{'miss hi':>9}"
    print(f"95 % intervals, {args.reps} replications a cell")
    print(header)
    worst_high = 0.0
    for name, (tpr, fpr) in cells.items():
        for n in (50, 200, 2000):
            result = run_cell(n, np.array(tpr), np.array(fpr), args.reps, rng)
            for metric, ((cover, lo, hi), (p_cover, _p_lo, p_hi)) in result.items():
                worst_high = max(worst_high, hi)
                print(
                    f"{name:<18}{n:>6}  {metric:<31}{cover:>12.3f}{lo:>9.3f}{hi:>9.3f}"
                    f"   {p_cover:>12.3f}{p_hi:>9.3f}"
                )
    print(f"largest miss rate of the upper (FAIL) end, ours: {worst_high:.3f} (claim <= 0.025)")


if __name__ == "__main__":
    main()
