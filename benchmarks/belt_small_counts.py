"""Benchmark: the belt's FAIL end with few events a group, with and without the events guard.

The belt (``bias_checks._belt``) is calibrated in the normal model. For ratios a group with a
handful of events breaks it, so a ratio keeps the parity value below ``BELT_MIN_EVENTS``
events or non-events in a compared group. This checks whether differences need that guard:
two to four groups of 20, 30 and 60 rows, base rates 0.05, 0.15 and 0.3, gaps 0-0.2, the
groups in two clusters (the FAIL end's worst case) or spread evenly; max - min and the
difference to the reference (the last group). Printed per cell: how often the FAIL end lies
above the true disparity (target <= 5 %) and the PASS end below it, with the guard of 10
events (the reference, same data) and with none (ours). Nothing is asserted.

``--transform ratio`` checks min / max and the ratio to the reference the same way, ``--guard``
the guard to try against 10 (0 by default).

Run: ``python benchmarks/belt_small_counts.py [--reps 1000] [--transform ratio] [--guard 5]``
(about 2 minutes for differences).
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
from bias_checks._judged import Judged, rate_disparity
from bias_checks._rate_stats import RateStats

Array = np.ndarray[Any, Any]


def _judge(num: Array, den: Array, method: str, transform: str) -> Judged:
    reps, groups = num.shape
    stats = RateStats(num, den, den.copy())
    total = den.sum(1, keepdims=True)
    overall = RateStats(num.sum(1, keepdims=True), total, total.copy())
    return rate_disparity(
        stats,
        overall,
        judged=den > 0,
        control_of=np.zeros(groups, dtype=np.intp),
        transform=transform,  # type: ignore[arg-type]
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
    parser.add_argument("--transform", choices=("difference", "ratio"), default="difference")
    parser.add_argument(
        "--guard", type=float, default=0.0, help="the guard to try (ours), against 10"
    )
    args = parser.parse_args()
    transform, ours = args.transform, args.guard
    start = time.perf_counter()
    rng = np.random.default_rng(7)
    print(
        f"method        k rows   p0  gap config   | {transform}: FAIL end errs: guard 10 (ref) /"
        f" {ours:g} (ours)"
        " | PASS end errs"
    )
    worst = {10.0: 0.0, ours: 0.0}
    guard = belt.BELT_MIN_EVENTS[transform]
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
        if transform == "difference":
            theta = float(np.abs(p - p[-1]).max() if method == "to_reference" else np.ptp(p))
        else:
            ratios = np.minimum(p / p[-1], p[-1] / p)
            theta = float(ratios.min() if method == "to_reference" else p.min() / p.max())
        errs = {}
        for events in (10.0, ours):
            belt.BELT_MIN_EVENTS[transform] = events
            judged = _judge(num, den, method, transform)
            low, high = judged.low[:, 0], judged.high[:, 0]
            above, below = low > theta + 1e-12, high < theta - 1e-12
            # The FAIL end says "at least this bad": the lower end of a difference, the upper
            # end of a ratio (lower is worse).
            fail, passed = (above, below) if transform == "difference" else (below, above)
            errs[events] = (float(np.mean(fail)), float(np.mean(passed)))
            worst[events] = max(worst[events], errs[events][0])
        belt.BELT_MIN_EVENTS[transform] = guard
        print(
            f"{method:<13} {k} {n:>4} {p0:4.2f} {gap:4.2f} {config:<8} | "
            f"{100 * errs[10.0][0]:5.1f}% / {100 * errs[ours][0]:5.1f}% (ratio "
            f"{errs[ours][0] / max(errs[10.0][0], 1e-9):4.2f}) | {100 * errs[ours][1]:4.1f}%",
            flush=True,
        )
    print(
        f"\nFAIL end errs at most: guard 10 {100 * worst[10.0]:.1f}%, "
        f"guard {ours:g} {100 * worst[ours]:.1f}%"
        f" (target 5 %; one standard error of {args.reps} audits at 5 %: "
        f"{100 * np.sqrt(0.05 * 0.95 / args.reps):.1f} points)"
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
