"""Benchmark: how often the PASS end of one pair's |difference| lies below the true gap, exactly.

The PASS end of a difference is the folded upper limit at a one-sided ``alpha / 2`` (2.5 % at
95 %), unadjusted (``docs/bias_checks.md``). Until session 16 it was Newcombe's hybrid score
limit alone, and an independent review (session 15) found it erring 6.7 % of audits with a
40-row group at a rate of 0.005 beside a 4,000-row group at 0.106: with one event the small
group's Wilson distance enters Newcombe's square root beside a narrow one, and the sum falls
short of the gap. Since session 16 the PASS end is the outer of Newcombe's and the
skewness-corrected score (SCAS, Laud 2017) limits (``bias_checks._intervals
.outer_difference_ends``). This script computes the error exactly, by enumerating both groups'
binomial counts (every pair of counts with probability above 1e-10): Newcombe's alone, SCAS
alone, fairgov's (the outer of the two), and Agresti and Caffo's interval (statsmodels
``confint_proportions_2indep(method="agresti-caffo")``), the reference, on the same counts;
then, with ``--sweep``, the largest errors over a grid of sizes (both groups at least 30 rows,
the default minimum), rates and gaps. Nothing is asserted.

Run: ``python benchmarks/pass_end_small_counts.py [--sweep]`` (about a minute; the sweep
a few more).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
from scipy.stats import binom, norm
from statsmodels.stats.proportion import confint_proportions_2indep

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._intervals import fold_difference, folded_difference, newcombe_ends
from bias_checks._skewed_score import scas_difference_ends

ALPHA = 0.05
SETTINGS = (  # (n_small, p_small, n_large, p_large)
    (40, 0.005, 4000, 0.106),
    (40, 0.05, 4000, 0.20),
    (30, 0.02, 3000, 0.13),
    (100, 0.01, 1000, 0.111),
    (200, 0.02, 4000, 0.12),
    (400, 0.005, 4000, 0.106),
    (1000, 0.002, 10000, 0.102),
    (40, 0.005, 40, 0.106),
    (40, 0.30, 4000, 0.40),
)


def _counts(n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n + 1)
    w = binom.pmf(x, n, p)
    keep = w > 1e-10
    return x[keep], w[keep]


def _grid(n1: int, p1: float, n2: int, p2: float) -> tuple[np.ndarray, ...]:
    x1, w1 = _counts(n1, p1)
    x2, w2 = _counts(n2, p2)
    a1, a2 = np.meshgrid(x1, x2, indexing="ij")
    return a1, a2, np.outer(w1, w2)


def ours(n1: int, p1: float, n2: int, p2: float) -> tuple[float, float, float]:
    """P(PASS end < |p2 - p1|): Newcombe's alone, SCAS alone, and fairgov's (their outer)."""
    a1, a2, weight = _grid(n1, p1, n2, p2)
    data = (a1 / n1, np.full(a1.shape, float(n1)), a2 / n2, np.full(a2.shape, float(n2)))
    tail = ALPHA / 2
    _, newcombe = fold_difference(*newcombe_ends(*data, low_tail=tail, high_tail=tail))
    z = norm.isf(tail)
    _, scas = fold_difference(*scas_difference_ends(*data, low_z=z, high_z=z))
    _, fairgov = folded_difference(*data, low_tail=tail, high_tail=tail)
    gap = abs(p2 - p1)
    n_err, s_err, f_err = (float((weight * (end < gap)).sum()) for end in (newcombe, scas, fairgov))
    return n_err, s_err, f_err


def reference(n1: int, p1: float, n2: int, p2: float) -> float:
    """P(Agresti and Caffo's folded upper end < |p2 - p1|)."""
    a1, a2, weight = _grid(n1, p1, n2, p2)
    gap = abs(p2 - p1)
    out = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for (i, j), c1 in np.ndenumerate(a1):
            low, upp = confint_proportions_2indep(
                a2[i, j], n2, c1, n1, method="agresti-caffo", compare="diff", alpha=ALPHA
            )
            if max(abs(low), abs(upp)) < gap:
                out += float(weight[i, j])
    return out


def sweep() -> None:
    """The largest errors over sizes 30-1,000 (and 1-100 times as many beside), rates near 0
    to 0.45 and gaps 0.05-0.3 on either side."""
    none: tuple[int, float, int, float] = (0, 0.0, 0, 0.0)
    worst = {"Newcombe": (0.0, none), "SCAS": (0.0, none), "fairgov": (0.0, none)}
    over = dict.fromkeys(worst, 0)
    cells = 0
    for n_small in (30, 40, 60, 100, 300, 1000):
        for times in (1, 3, 10, 30, 100):
            n_large = n_small * times
            if n_large > 30000:
                continue
            for p_small in (0.0005, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.45):
                for gap in (0.05, 0.1, 0.2, 0.3):
                    for p_large in (p_small + gap, p_small - gap):
                        if not 0 < p_large < 1:
                            continue
                        cells += 1
                        setting = (n_small, p_small, n_large, p_large)
                        for name, error in zip(worst, ours(*setting), strict=True):
                            over[name] += error > ALPHA / 2
                            if error > worst[name][0]:
                                worst[name] = (error, setting)
    print(f"\nSweep, {cells} settings, both groups of 30 rows or more:")
    for name, (error, setting) in worst.items():
        n1, p1, n2, p2 = setting
        print(
            f"  {name:>8}: largest {100 * error:5.2f}% ({n1} at {p1:g} vs {n2} at {p2:.4g}); "
            f"above {100 * ALPHA / 2:.1f}% in {over[name]} of {cells}"
        )


def main() -> None:
    print(f"PASS end below the true gap, exact, one-sided target {100 * ALPHA / 2:.1f}%:")
    print(
        f"{'small group':>16} {'large group':>16} {'gap':>6} | {'Newcombe':>8} {'SCAS':>6} "
        f"{'fairgov':>8} {'Agresti-Caffo':>13} {'ratio':>6}"
    )
    for n1, p1, n2, p2 in SETTINGS:
        newcombe, scas, fairgov = ours(n1, p1, n2, p2)
        ref = reference(n1, p1, n2, p2)
        ratio = f"{fairgov / ref:6.1f}" if ref >= 1e-3 else "   n/a"
        print(
            f"{n1:>6} at {p1:<6.3f} {n2:>6} at {p2:<6.3f} {abs(p2 - p1):6.3f} | "
            f"{100 * newcombe:7.2f}% {100 * scas:5.2f}% {100 * fairgov:7.2f}% "
            f"{100 * ref:12.2f}% {ratio}",
            flush=True,
        )
    if "--sweep" in sys.argv[1:]:
        sweep()


if __name__ == "__main__":
    main()
