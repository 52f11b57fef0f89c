"""Benchmark (an experiment, not the engine): a Neyman belt for the PASS end of max - min.

The engine's belt (``bias_checks._belt``) calibrates the FAIL end of ``theta = max_m |d_m|``
at every ``theta``; the PASS end stays the largest comparison's upper limit at ``alpha / 2``,
unadjusted (``z = 1.96``). That end is valid everywhere, but near parity the largest of several
folded estimates is biased upward, so it almost never errs there: the grid's four-group cells
with 30-100 rows a group cover above 99 %.

The same statistic ``T = max_m (|D_m| - theta) / se_m`` gives both ends: the FAIL end errs when
``T > c_L``, the PASS end (``max_m |D_m| + c_U se_m``) when ``T < -c_U``. A belt for the PASS
end takes ``c_U(theta) = -min_C q_C`` (``q_C`` the ``alpha / 2`` quantile of ``T`` at
configuration ``C``), clipped to ``[0, z]``: ``0`` keeps the value inside the interval, ``z``
keeps it never wider than today's. The FAIL end then takes what is left, as the engine's joint
belt does (``share * P(T > c_L) + P(T < -c_U) <= alpha`` at every configuration).

For each shape of sizes and ``theta`` (in sds of the most precise comparison), in the normal
model: ``c_U`` calibrated on the engine's configurations (two clusters, groups half-way; its
Sobol points), then, on independent pseudo-random draws, the PASS end's error at the worst of
those configurations and of 200 random placements of the middle groups (the family must bound
them), and the coverage at the grid's truth (groups evenly spread) with today's ends and with
both belts. Nothing is asserted.

Where the family must look: the PASS end errs when every comparison's estimate lies inside a
slab (``|X_i - X_j| < theta - c_U se_ij``), a convex set of the groups' estimates, which are
Gaussian around their true rates, so the error is log-concave in the true rates (Prekopa). With
the extreme pair fixed (``0`` and ``theta``) it has one maximum over the middle groups'
placements, and where the extreme pair's sds are equal the reflection ``x -> theta - x`` maps
the problem to itself, so every middle group half-way is that maximum: the engine's family is
exactly least favourable there. Where they differ the maximum moves off half-way and the family
misses it (session 15, 9 placements a middle group: the PASS end erred up to 3.2 % at ``c_U``
from the family for sizes (1, 1, 1/4) at 3 sds; the shapes below include it). A belt for the
PASS end therefore needs, per extreme pair, the maximum over the middle groups' placements (a
log-concave maximisation), not a fixed family.

Run: ``python benchmarks/pass_end_belt.py`` (about four minutes on 2 cores).
"""

from __future__ import annotations

import os
import sys

import numpy as np
from scipy.special import ndtri

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._belt import _configurations, _rows
from bias_checks._belt_table import POINTS, _Shape, combine

ALPHA = 0.05
Z = float(-ndtri(ALPHA / 2))
THETAS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
SHAPES = {
    "2 equal": [1.0, 1.0],
    "4 equal": [1.0] * 4,
    "4, one at 1/100": [0.01, 1.0, 1.0, 1.0],
    "3, one at 1/4": [1.0, 1.0, 0.25],
    "4 unequal": [1.0, 0.5, 0.25, 0.1],
}


def _quantile(t: np.ndarray, q: float) -> np.ndarray:
    return np.quantile(t, q, axis=1)


def _ends(shape: _Shape, configs: np.ndarray, theta: float) -> tuple[float, float, float]:
    """``c_U``, and ``c_L`` with today's PASS end and with the belt's (the joint budget)."""
    t, _ = shape.errors(configs, theta, Z)
    c_u = float(np.clip(-_quantile(t, ALPHA / 2).min(), 0.0, Z))

    def c_l(pass_c: float) -> float:
        below = (t < -pass_c).mean(axis=1)
        allowed = np.clip(ALPHA - below, 1.0 / POINTS, None)
        return float(max(np.quantile(row, 1 - a) for row, a in zip(t, allowed, strict=True)))

    return c_u, c_l(Z), c_l(c_u)


def _t(draws: np.ndarray, rows: np.ndarray, se: np.ndarray, mean: np.ndarray, theta: float):
    d = np.abs(draws @ rows.T + theta * (rows @ mean))
    return ((d - theta) / se).max(axis=1)


def main() -> None:
    rng = np.random.default_rng(2026)
    print(
        f"{'shape':<16} {'theta':>5} | {'c_U':>5} {'c_L now':>7} {'c_L new':>7} | "
        f"{'PASS err: family':>16} {'random':>6} | {'coverage, even spread: now':>26} {'new':>6}"
    )
    for name, relative in SHAPES.items():
        sizes = np.asarray(relative)
        k = sizes.size
        rows = _rows("pairs", k)
        sd = 1.0 / np.sqrt(sizes)
        se = np.sqrt(combine(rows * rows, sd * sd))
        shape = _Shape(rows, sd, se)
        configs = _configurations("pairs", k, joint=True)
        draws = rng.standard_normal((200_000, k)) * sd
        even = np.arange(k) / (k - 1)
        unit = float(se.min())
        for multiple in THETAS:
            theta = multiple * unit
            c_u, c_now, c_new = _ends(shape, configs, theta)
            family = max(float(np.mean(_t(draws, rows, se, c, theta) < -c_u)) for c in configs)
            placements = []
            for _ in range(200):
                mean = np.concatenate([[0.0, 1.0], rng.random(k - 2)])
                rng.shuffle(mean)
                placements.append(float(np.mean(_t(draws, rows, se, mean, theta) < -c_u)))
            t_even = _t(draws, rows, se, even, theta)
            now = 1 - np.mean(t_even > c_now) - np.mean(t_even < -Z)
            new = 1 - np.mean(t_even > c_new) - np.mean(t_even < -c_u)
            print(
                f"{name:<16} {multiple:>5.2f} | {c_u:5.2f} {c_now:7.2f} {c_new:7.2f} | "
                f"{100 * family:15.2f}% {100 * max(placements):5.2f}% | "
                f"{100 * now:25.1f}% {100 * new:5.1f}%",
                flush=True,
            )


if __name__ == "__main__":
    main()
