"""Benchmark: the FAIL end of a ratio when one group has a handful of events (issue 11).

At parity, a small group (30-60 rows at a 5-10 % rate: two to six events) beside large ones
(5,000 rows each) is where the interval of a ratio leans hardest on its approximation: a
FAIL of a fair model comes from the small group's upward excursions. Printed per cell: how
often the FAIL end of min / max (between groups) and of the ratio to the reference (a large
group) lies below the true ratio of 1, for Miettinen and Nurminen's score limits (ours) and
for the adjusted log limits fairgov used before (the reference, patched in for the same data),
and their ratio. The target is ``alpha`` = 5 % at parity (both signs count). Nothing is
asserted.

Run: ``python benchmarks/ratio_few_events.py [--reps 4000]`` (about four minutes).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from typing import Any

import numpy as np
from scipy.special import ndtri

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bias_checks._intervals as intervals
from bias_checks import _judged as judged_module
from bias_checks._judged import rate_disparity
from bias_checks._rate_stats import RateStats

Array = np.ndarray[Any, Any]


def _log_adjusted(
    p1: Array, n1: Array, p2: Array, n2: Array, *, low_tail: Any, high_tail: Any
) -> tuple[Array, Array]:
    """The adjusted log limits (0.5 added to counts and sizes), as statsmodels'
    ``confint_proportions_2indep(method="log-adjusted", compare="ratio")``."""
    c1, c2 = p1 * n1 + 0.5, p2 * n2 + 0.5
    m1, m2 = n1 + 0.5, n2 + 0.5
    centre = np.log((c1 / m1) / (c2 / m2))
    se = np.sqrt(1 / c1 - 1 / m1 + 1 / c2 - 1 / m2)
    return (
        np.exp(centre + ndtri(np.asarray(low_tail)) * se),
        np.exp(centre - ndtri(np.asarray(high_tail)) * se),
    )


def _use(ends: Any) -> None:
    """Make the engine compute ratio limits with ``ends``."""
    for module in (intervals, judged_module):
        vars(module)["score_ratio_ends"] = ends


def _fail_rate(num: Array, den: Array, method: str) -> float:
    reps, groups = num.shape
    stats = RateStats(num, den, den.copy())
    total = den.sum(1, keepdims=True)
    judged = rate_disparity(
        stats,
        RateStats(num.sum(1, keepdims=True), total, total.copy()),
        judged=den > 0,
        control_of=np.zeros(groups, dtype=np.intp),
        transform="ratio",
        method=method,  # type: ignore[arg-type]
        references=np.full((reps, 1), groups - 1, dtype=np.intp),
        alpha=0.05,
    )
    return float(np.mean(judged.high[:, 0] < 1 - 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(11)
    ours_fn = intervals.score_ratio_ends
    print("method          groups small  rate | FAIL at parity: ours (score) / reference (log)")
    worst = {"ours": 0.0, "reference": 0.0}
    for method, groups, small, rate in itertools.product(
        ("between_groups", "to_reference"), (2, 4), (30, 40, 60), (0.05, 0.1)
    ):
        den = np.array([float(small)] + [5000.0] * (groups - 1))
        den = np.broadcast_to(den, (args.reps, groups)).copy()
        num = rng.binomial(den.astype(np.int64), rate).astype(np.float64)
        rates = {}
        for name, ends in (("ours", ours_fn), ("reference", _log_adjusted)):
            _use(ends)
            rates[name] = _fail_rate(num, den, method)
            worst[name] = max(worst[name], rates[name])
        _use(ours_fn)
        print(
            f"{method:<15} {groups:>6} {small:>5} {rate:5.2f} | {100 * rates['ours']:5.2f}% / "
            f"{100 * rates['reference']:5.2f}% (ratio "
            f"{rates['ours'] / max(rates['reference'], 1e-9):4.2f})",
            flush=True,
        )
    se = 100 * np.sqrt(0.05 * 0.95 / args.reps)
    print(
        f"\nFAIL at parity at most: ours {100 * worst['ours']:.2f}%, reference "
        f"{100 * worst['reference']:.2f}% (target 5 %; one standard error {se:.2f} points)"
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
