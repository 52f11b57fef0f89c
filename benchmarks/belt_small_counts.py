"""Benchmark: the belt's FAIL end with few events a group, with and without the events guard.

The belt (``bias_checks._belt``) is calibrated in the normal model. For ratios a group with a
handful of events breaks it, so a ratio keeps the parity value below ``BELT_MIN_EVENTS``
events or non-events in a compared group. This checks whether differences need that guard:
two to four groups of 20, 30 and 60 rows, base rates 0.05, 0.15 and 0.3, gaps 0-0.2, the
groups in two clusters (the FAIL end's worst case) or spread evenly; max - min and the
difference to the reference (the last group). Printed per cell: how often the FAIL end lies
above the true disparity (target <= 5 %) and the PASS end below it, with the guard of 10
events (the reference, same data) and with none (ours). Nothing is asserted.

Run: ``python benchmarks/belt_small_counts.py [--reps 1000]`` (about 2 minutes).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bias_checks._belt as belt
from bias_checks._judged import Judged, RateStats, rate_disparity

Array = np.ndarray[Any, Any]


def _judge(num: Array, den: Array, method: str) -> Judged:
    reps, groups = num.shape
    stats = RateStats(num, den, den.copy())
    total = den.sum(1, keepdims=True)
    overall = RateStats(num.sum(1, keepdims=True), total, total.copy())
    return rate_disparity(
        stats,
        overall,
        judged=den > 0,
        control_of=np.zeros(groups, dtype=np.intp),
        transform="difference",
        method=method,  # type: ignore[arg-type]
        references=np.full((reps, 1), groups - 1, dtype=np.intp),
        alpha=0.05,
    )


def _shape(k: int, config: str) -> Array:
    if config == "clusters":
        return np.array([0.0] * (k // 2) + [1.0] * (k - k // 2))
    return np.linspace(0.0, 1.0, k)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(7)
    print(
        "method        k rows   p0  gap config   | FAIL end errs: guard 10 (ref) / none (ours)"
        " | PASS end errs"
    )
    worst = {10: 0.0, 0: 0.0}
    guard = belt.BELT_MIN_EVENTS["difference"]
    grid = itertools.product(
        ("between_groups", "to_reference"),
        (2, 3, 4),
        (20, 30, 60),
        (0.05, 0.15, 0.3),
        (0.0, 0.05, 0.1, 0.2),
        ("clusters", "spread"),
    )
    for method, k, n, p0, gap, config in grid:
        if (k == 2 and (config == "spread" or method == "to_reference")) or (
            k == 3 and method == "between_groups"
        ):
            continue
        p = p0 + gap * _shape(k, config)
        den = np.full((args.reps, k), float(n))
        num = rng.binomial(n, p, size=(args.reps, k)).astype(np.float64)
        theta = float(np.abs(p - p[-1]).max() if method == "to_reference" else np.ptp(p))
        errs = {}
        for events in (10, 0):
            belt.BELT_MIN_EVENTS["difference"] = float(events)
            judged = _judge(num, den, method)
            low, high = judged.low[:, 0], judged.high[:, 0]
            above, below = low > theta + 1e-12, high < theta - 1e-12
            errs[events] = (float(np.mean(above)), float(np.mean(below)))
            worst[events] = max(worst[events], errs[events][0])
        belt.BELT_MIN_EVENTS["difference"] = guard
        print(
            f"{method:<13} {k} {n:>4} {p0:4.2f} {gap:4.2f} {config:<8} | "
            f"{100 * errs[10][0]:5.1f}% / {100 * errs[0][0]:5.1f}% (ratio "
            f"{errs[0][0] / max(errs[10][0], 1e-9):4.2f}) | {100 * errs[0][1]:4.1f}%",
            flush=True,
        )
    print(
        f"\nFAIL end errs at most: guard 10 {100 * worst[10]:.1f}%, none {100 * worst[0]:.1f}%"
        f" (target 5 %; one standard error of {args.reps} audits at 5 %: "
        f"{100 * np.sqrt(0.05 * 0.95 / args.reps):.1f} points)"
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
