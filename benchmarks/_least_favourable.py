"""Coverage at the configurations that are worst for each end of the belt (issue 11).

The grid's truth spreads four groups evenly (``0, gap/3, 2 gap/3, gap``). The FAIL end's
critical value (``bias_checks._belt``) is calibrated where each end errs most: two clusters
``gap`` apart (``0, 0, gap, gap``: four pairs attain the gap at once, the FAIL end's worst) and
the middle groups half-way (``0, gap/2, gap/2, gap``: nothing but the extreme pair comes near
the gap, the PASS end's worst). The same two are the worst for the difference to the overall
rate (``bias_checks._belt_overall``): two clusters put every group ``gap / 2`` from it. This
prints coverage of max - min, min / max, the difference to the overall rate and the
difference to the reference (the last group) at both, unweighted, so that a reader can see the
interval is valid there too and not only at the evenly spread truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks._populations import FPR0, TPR0, Truth, simulate_cells

CONFIGS = {"two clusters": (0.0, 0.0, 1.0, 1.0), "half-way": (0.0, 0.5, 0.5, 1.0)}


def least_favourable_table(reps: int, judge: Any, true_values: Any, seed: int = 5000) -> None:
    """``judge(cells, squares, method, transform)`` gives a Judged per replication;
    ``true_values(truth)`` the true disparities."""
    print(
        "\nCoverage at the belt's least-favourable configurations (4 groups, unweighted, 95 %):\n"
        "  config        rows   gap |  dpd   dpr   ovr   ref | dpd misses FAIL end / PASS end"
    )
    kinds = (
        ("dpd", "between_groups", "difference"),
        ("dpr", "between_groups", "ratio"),
        ("dpd_overall", "to_overall", "difference"),
        ("dpd_reference", "to_reference", "difference"),
    )
    for name, shape in CONFIGS.items():
        for n in (30, 100, 1000):
            for gap in (0.05, 0.10, 0.20):
                seed += 1
                mu = gap * np.asarray(shape)
                t = Truth(TPR0 + mu, FPR0 + mu, (n,) * 4)
                rng = np.random.default_rng(seed)
                cells, squares, _ = simulate_cells(t, reps=reps, sigma=0.0, rng=rng)
                truth = true_values(t)
                out = []
                for kind, method, transform in kinds:
                    judged = judge(cells, squares, f"selection_rate:{method}", transform)
                    low, high = judged.low[:, 0], judged.high[:, 0]
                    value = truth[kind]
                    above, below = low > value + 1e-12, high < value - 1e-12
                    out.append(float(np.mean(~above & ~below)))
                    if kind == "dpd":
                        misses = (float(np.mean(above)), float(np.mean(below)))
                print(
                    f"  {name:<12} {n:>5} {gap:5.2f} | "
                    + " ".join(f"{100 * c:5.1f}" for c in out)
                    + f" | {100 * misses[0]:4.1f}% / {100 * misses[1]:4.1f}%",
                    flush=True,
                )
