"""Benchmark: equalized odds' mean over four groups, its FAIL end by combining the parts'
p-values (Stouffer) against the engine's union of the parts' ends.

The engine's FAIL end of the four-group mean is the mean of the parts' FAIL ends, each a
Neyman belt for max - min at a quarter of the error (a union over TPR and FPR). It covers
above 99 % in most four-group cells of ``coverage.py``. The parts are independent (TPR on the
positives, FPR on the negatives), so a sharper valid end exists in principle: invert the
joint test that combines each part's p-value by the weighted inverse-normal (Stouffer) rule,
``w_T q_T(a) + w_F q_F(b) <= z sqrt(w_T^2 + w_F^2)`` with ``q = Phi^-1(1 - p)`` and weights
fixed by the sizes, and take the smallest ``(a + b) / 2`` over its confidence region. Each
part's ``p(theta)`` is its belt's: the largest, over the two-cluster configurations, chance
that ``T = max_pairs (|D| - theta) / se`` reaches its observed value (super-uniform at the
truth, so the combination is valid for independent parts).

This measures whether that would bring the cells under 99 % before anyone builds it in the
engine: the normal model of four groups with known variances, ``--rows`` rows a group and
part (15: the 30/30 grid cells at prevalence 0.5), TPR from 0.6 and FPR from 0.2 each raised
by ``gap`` spread evenly (the grid's truth), at two clusters (the belt's least favourable),
at one group against three, and with the TPR part at parity and FPR carrying ``2 gap``
(the combination's least favourable). Printed: the FAIL end's error of each (allowed 2.5 %),
the same simulated data for both. Nothing is asserted.

Run: ``python benchmarks/eo_mean_stouffer.py [--rows 15] [--reps 400]`` (a few minutes).
"""

from __future__ import annotations

import argparse
import time
from itertools import product

import numpy as np
from scipy.stats import norm

K = 4
FIRST, SECOND = np.triu_indices(K, 1)
ALPHA = 0.05
RATIOS = np.arange(0, 10.01, 0.05)
"""``theta`` per pair se at which the belt's distributions are simulated."""
GRID = np.arange(0, 0.8, 0.004)
"""Hypothesised part values searched for the confidence region."""


def _clusters() -> np.ndarray:
    out: list[tuple[float, ...]] = []
    for config in product((0.0, 1.0), repeat=K):
        if 0 in config and 1 in config and tuple(1 - x for x in config) not in out:
            out.append(config)
    return np.array(out)


class Belt:
    """``T``'s simulated distribution at every two-cluster configuration and ``theta``
    (equal sizes, pair se 1)."""

    def __init__(self, rng: np.random.Generator, draws: int) -> None:
        z = rng.standard_normal((draws, K))
        d0 = (z[:, FIRST] - z[:, SECOND]) / np.sqrt(2)
        configs = _clusters()
        self.t = np.empty((len(configs), RATIOS.size, draws))
        for c, config in enumerate(configs):
            shift = config[FIRST] - config[SECOND]
            for r, ratio in enumerate(RATIOS):
                self.t[c, r] = np.sort((np.abs(d0 + ratio * shift) - ratio).max(axis=1))

    def _neighbours(self, ratio: float) -> tuple[int, int]:
        i = int(np.clip(np.searchsorted(RATIOS, ratio) - 1, 0, RATIOS.size - 1))
        return i, min(i + 1, RATIOS.size - 1)

    def p_value(self, t_obs: float, ratio: float) -> float:
        """The largest chance over the configurations (and the two grid neighbours of
        ``ratio``) that ``T`` reaches ``t_obs``."""
        n = self.t.shape[2]
        return max(
            1 - np.searchsorted(self.t[c, i], t_obs, side="left") / n
            for c in range(self.t.shape[0])
            for i in self._neighbours(ratio)
        )

    def critical(self, error: float, ratio: float) -> float:
        rank = int(np.ceil((1 - error) * self.t.shape[2])) - 1
        return max(float(self.t[:, i, rank].max()) for i in self._neighbours(ratio))


def _part_end(belt: Belt, x: np.ndarray, sd: float, error: float) -> float:
    se = sd * np.sqrt(2)
    d = np.abs(x[FIRST] - x[SECOND])
    for a in GRID:
        if ((d - a) / se).max() <= belt.critical(error, a / se):
            return float(a)
    return float(GRID[-1])


def _part_q(belt: Belt, x: np.ndarray, sd: float) -> np.ndarray:
    se = sd * np.sqrt(2)
    d = np.abs(x[FIRST] - x[SECOND])
    p = [belt.p_value(((d - a) / se).max(), a / se) for a in GRID]
    return np.asarray(norm.isf(np.clip(p, 1e-9, 1.0)))


def _errors(
    belt: Belt, rng: np.random.Generator, tpr: np.ndarray, fpr: np.ndarray, *, rows: int, reps: int
) -> tuple[float, float]:
    sd_t = np.sqrt(tpr.mean() * (1 - tpr.mean()) / rows)
    sd_f = np.sqrt(fpr.mean() * (1 - fpr.mean()) / rows)
    truth = (np.ptp(tpr) + np.ptp(fpr)) / 2
    bound = norm.isf(ALPHA / 2) * np.hypot(sd_t, sd_f)
    union = combined = 0
    sums = GRID[:, None] + GRID[None, :]
    for _ in range(reps):
        xt = tpr + rng.standard_normal(K) * sd_t
        xf = fpr + rng.standard_normal(K) * sd_f
        low = (_part_end(belt, xt, sd_t, ALPHA / 4) + _part_end(belt, xf, sd_f, ALPHA / 4)) / 2
        region = sd_t * _part_q(belt, xt, sd_t)[:, None] + sd_f * _part_q(belt, xf, sd_f)[None, :]
        stouffer = float(np.where(region <= bound, sums, np.inf).min()) / 2
        union += low > truth + 1e-12
        combined += stouffer > truth + 1e-12
    return 100 * union / reps, 100 * combined / reps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=15, help="rows a group and part")
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--draws", type=int, default=6000, help="belt simulation draws")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    belt = Belt(rng, args.draws)
    even, two, one = np.linspace(0, 1, K), np.array([0, 0, 1, 1.0]), np.array([0, 1, 1, 1.0])
    print(f"FAIL-end error (%), union of the parts' ends | Stouffer; {args.rows} rows a group")
    print(
        f"and part, {args.reps} audits a cell (one standard error near 2.5 %: "
        f"{100 * np.sqrt(0.025 * 0.975 / args.reps):.1f})"
    )
    print("gap  | evenly spread  | two clusters   | one vs three   | TPR at parity")
    for gap in (0.05, 0.10, 0.15, 0.20):
        cells = [
            (0.6 + gap * even, 0.2 + gap * even),
            (0.6 + gap * two, 0.2 + gap * two),
            (0.6 + gap * one, 0.2 + gap * one),
            (np.full(K, 0.6), 0.2 + min(2 * gap, 0.7) * two),
        ]
        shown = [_errors(belt, rng, t, f, rows=args.rows, reps=args.reps) for t, f in cells]
        print(f"{gap:.2f} | " + " | ".join(f"{u:5.2f} | {s:5.2f}" for u, s in shown))
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
