"""Benchmark: how often the PASS end of one pair's |difference| lies below the true gap, exactly.

The PASS end of a difference is the folded upper limit of Newcombe's hybrid score interval at
a one-sided ``alpha / 2`` (2.5 % at 95 %), unadjusted (``docs/bias_checks.md``). An
independent review (session 15, 2,000 simulated audits) found it erring 6.7 % of audits with
a 40-row group at a rate of 0.005 beside a 4,000-row group at 0.106: with one event the small
group's Wilson distance enters Newcombe's square root beside a narrow one, and the sum falls
short of the gap. This script computes the error exactly, by enumerating both groups'
binomial counts (every pair of counts with probability above 1e-10), for that setting and
others with a small group near 0, and beside it Agresti and Caffo's interval (statsmodels
``confint_proportions_2indep(method="agresti-caffo")``), the reference, on the same counts.
Nothing is asserted.

Run: ``python benchmarks/pass_end_small_counts.py`` (about a minute).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
from scipy.stats import binom
from statsmodels.stats.proportion import confint_proportions_2indep

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._intervals import folded_difference

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


def errors(n1: int, p1: float, n2: int, p2: float) -> tuple[float, float]:
    """P(PASS end < |p2 - p1|): fairgov's (Newcombe's, folded) and Agresti-Caffo's."""
    x1, w1 = _counts(n1, p1)
    x2, w2 = _counts(n2, p2)
    a1, a2 = np.meshgrid(x1, x2, indexing="ij")
    weight = np.outer(w1, w2)
    gap = abs(p2 - p1)
    _, high = folded_difference(
        a1 / n1,
        np.full(a1.shape, float(n1)),
        a2 / n2,
        np.full(a2.shape, float(n2)),
        low_tail=ALPHA / 2,
        high_tail=ALPHA / 2,
    )
    ours = float((weight * (high < gap)).sum())
    reference = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, c1 in enumerate(x1):
            for j, c2 in enumerate(x2):
                low, upp = confint_proportions_2indep(
                    c2, n2, c1, n1, method="agresti-caffo", compare="diff", alpha=ALPHA
                )
                if max(abs(low), abs(upp)) < gap:
                    reference += weight[i, j]
    return ours, reference


def main() -> None:
    print(f"PASS end below the true gap, exact, one-sided target {100 * ALPHA / 2:.1f}%:")
    print(
        f"{'small group':>16} {'large group':>16} {'gap':>6} | {'fairgov':>8} "
        f"{'Agresti-Caffo':>13} {'ratio':>6}"
    )
    for n1, p1, n2, p2 in SETTINGS:
        ours, reference = errors(n1, p1, n2, p2)
        ratio = f"{ours / reference:6.1f}" if reference >= 1e-3 else "   n/a"
        print(
            f"{n1:>6} at {p1:<6.3f} {n2:>6} at {p2:<6.3f} {abs(p2 - p1):6.3f} | "
            f"{100 * ours:7.2f}% {100 * reference:12.2f}% {ratio}",
            flush=True,
        )


if __name__ == "__main__":
    main()
