"""Benchmark: equalized odds' mean over two groups, MOVER (the engine's) against a Neyman belt.

Equalized odds' ``mean`` is ``theta = (|d_T| + |d_F|) / 2``. The engine's FAIL end combines
the parts' folded Newcombe ends by MOVER, each at a quarter of the error, and covers above 99 %
in a quarter of ``coverage.py``'s two-group cells. This benchmark builds the sharpest valid
alternative and measures whether it would help: a Neyman belt (as ``bias_checks._belt`` does
for max - min) on the test "``(lo_T(c) + lo_F(c)) / 2 > theta``", ``c(theta)`` calibrated at
every split of ``2 theta`` between the parts in the normal model of the two gaps (per Sobol
point the test stops rejecting at a ``c*`` in closed form, so ``c`` is a quantile). The PASS
end stays MOVER's.

Two groups (30/30, 100/100, 50/5,000 rows; prevalence 0.5; TPR 0.6, FPR 0.2 in the first
group), 1,000 audits a cell, same data for both: the grid's truth (both gaps equal to
``theta``) and the belt's least-favourable one (the TPR gap ``2 theta``, no FPR gap). Printed:
coverage and FAIL-end error of each. Nothing is asserted.

Run: ``python benchmarks/eo_mean_belt.py [--reps 1000]`` (about two minutes).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import ndtri

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._belt import _MULTIPLES, fail_end
from bias_checks._belt_table import POINTS, Table
from bias_checks._components import combine_components
from bias_checks._inputs import FloatArray
from bias_checks._intervals import folded_difference
from bias_checks._judged import Judged, rate_disparity
from bias_checks._rate_stats import RateStats
from bias_checks._simultaneous import _normal_points

Array = np.ndarray[Any, Any]

SPLITS = np.linspace(0.0, 1.0, 21)
"""Shares ``u`` of ``2 theta`` carried by the TPR gap at which the ends are calibrated."""


def _stop(
    theta: FloatArray, u: FloatArray, sds: tuple[float, float], draws: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per ``(theta, u, point)``: the ``c*`` above which the FAIL test stops rejecting
    ``theta`` (``-inf`` if it never does), and ``|D_T| + |D_F|``."""
    s_t, s_f = sds
    two = 2 * theta[:, None, None]
    a_t = np.abs(two * u[None, :, None] + s_t * draws[0][None, None, :])
    a_f = np.abs(two * (1 - u[None, :, None]) + s_f * draws[1][None, None, :])
    total = a_t + a_f
    r_t, r_f = a_t / s_t, a_f / s_f
    both = (total - two) / (s_t + s_f)  # both folded limits still above 0 at c = both
    take_t = r_t >= r_f
    alone = np.where(take_t, (a_t - two) / s_t, (a_f - two) / s_f)  # one limit left
    stop = np.where(both <= np.minimum(r_t, r_f), both, alone)
    return np.where(total > two, stop, -np.inf), total


@lru_cache(maxsize=256)
def _table(ratio: float, alpha: float, share: float) -> Table:
    """``c`` on the ``theta`` grid (in units of the larger sd) for sds ``(1, ratio)``."""
    sds = (1.0, ratio)
    delta = np.unique(np.concatenate([_MULTIPLES, _MULTIPLES * ratio]))
    draws = np.asarray(_normal_points(2)[:, :POINTS], dtype=np.float64)
    stop, total = _stop(delta, SPLITS, sds, draws)
    z = float(-ndtri(alpha / 2))
    pass_err = np.mean(total < 2 * delta[:, None, None] - z * np.hypot(*sds), axis=2)
    budget = np.clip(alpha - pass_err, alpha / 1000, None) / share  # (D, U)
    ordered = np.sort(stop, axis=2)
    # The smallest c with P(c* > c) <= budget: the ceil((1 - budget) P)-th smallest c*.
    rank = np.clip(np.ceil((1 - budget) * POINTS).astype(np.intp) - 1, 0, POINTS - 1)
    critical = np.take_along_axis(ordered, rank[:, :, None], axis=2)[:, :, 0].max(axis=1)
    return Table.known(delta, np.clip(critical, 0.0, None))


def mean_end(
    parts: tuple[tuple[FloatArray, FloatArray], ...], *, alpha: float = 0.05, share: float = 1.0
) -> float | None:
    """The FAIL end of the mean of two parts' gaps between two groups, each part ``(rates,
    sizes)`` of the same two groups; None where a part's pooled rate is not strictly between
    0 and 1."""
    sds, lows = [], []
    for pm, nm in parts:
        if pm.size != 2 or not np.all(np.isfinite(pm)) or np.any(nm <= 0):
            return None
        pooled = float((pm * nm).sum() / nm.sum())
        if not 0 < pooled < 1:
            return None
        sds.append(float(np.sqrt(pooled * (1 - pooled) * (1 / nm[0] + 1 / nm[1]))))
        lows.append(tuple(x[:, None] for x in (pm[:1], nm[:1], pm[1:], nm[1:])))
    largest = max(sds)
    ratio = float(2.0 ** (np.round(np.log2(min(sds) / largest) * 8) / 8))
    tab = _table(ratio, round(float(alpha), 12), round(float(share), 9))

    def summed(tails: FloatArray) -> FloatArray:
        t = tails[None, :]
        ends = [folded_difference(*low, low_tail=t, high_tail=t)[0] for low in lows]
        return np.asarray((ends[0] + ends[1]) / 2, dtype=np.float64)

    return fail_end(tab, summed, unit=largest)


def _part(num: Array, den: Array) -> Judged:
    stats = RateStats(num, den, den.copy())
    total = den.sum(1, keepdims=True)
    return rate_disparity(
        stats,
        RateStats(num.sum(1, keepdims=True), total, total.copy()),
        judged=den > 0,
        control_of=np.zeros(2, dtype=np.intp),
        transform="difference",
        method="between_groups",
        references=None,
        alpha=0.05,
        components=2,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(5)
    print(
        "rows       truth         theta | coverage: MOVER (ours) / belt (reference) | FAIL end errs"
    )
    for sizes, split, theta in itertools.product(
        ((30, 30), (100, 100), (50, 5000)), ("equal", "one part"), (0.0, 0.05, 0.1, 0.15, 0.2)
    ):
        if split == "one part" and theta == 0.0:
            continue
        n = np.array(sizes)
        gap_t, gap_f = (theta, theta) if split == "equal" else (2 * theta, 0.0)
        pos = rng.binomial(n, 0.5, size=(args.reps, 2)).astype(np.float64)
        neg = n - pos
        tp = rng.binomial(pos.astype(np.int64), [0.6, 0.6 + gap_t]).astype(np.float64)
        fp = rng.binomial(neg.astype(np.int64), [0.2, 0.2 + gap_f]).astype(np.float64)
        combined = combine_components(_part(tp, pos), _part(fp, neg), "difference", "mean")
        belt = np.array(
            [
                np.nan
                if (end := mean_end(((tp[i] / pos[i], pos[i]), (fp[i] / neg[i], neg[i])))) is None
                else end
                for i in range(args.reps)
            ]
        )
        pass_err = np.mean(combined.high < theta - 1e-12)
        mover = np.mean(combined.low > theta + 1e-12)
        ours_belt = np.mean(belt > theta + 1e-12)
        cover = (100 * (1 - mover - pass_err), 100 * (1 - ours_belt - pass_err))
        print(
            f"{sizes[0]:>4}/{sizes[1]:<5} {split:<9} {theta:5.2f} | {cover[0]:5.1f}% / "
            f"{cover[1]:5.1f}% | {100 * mover:4.1f}% / {100 * ours_belt:4.1f}%",
            flush=True,
        )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
