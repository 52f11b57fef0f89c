"""Benchmark (an experiment, not the engine): a Neyman belt for the PASS end of equalized odds'
mean over two groups.

With two groups each part of equalized odds (TPR on the positives, FPR on the negatives) is
one comparison, and the mean is ``theta = (|delta_T| + |delta_F|) / 2``. In the normal model
of the parts' differences, ``d_T ~ N(delta_T, s_T**2)`` and ``d_F ~ N(delta_F, s_F**2)``
(independent: disjoint rows), the estimate is ``V = (|d_T| + |d_F|) / 2`` and MOVER's PASS
end ``V + c * S`` with ``S = hypot(s_T, s_F) / 2`` (each part's folded upper limit is ``|d| + c
s``). At ``c = z`` (``alpha / 2``) that end errs at most ``alpha / 2``, and exactly that only
far from parity: a folded estimate is biased upward, so near parity the end almost never
errs, and the interval covers 99-100 % where the gap is a few sds (the coverage grid's two-group
cells at 30-100 rows).

This module takes ``c_U(theta)`` instead, the smallest ``c <= z`` with, at every split of
``2 theta`` between the parts (``|delta_T| = 2 theta u``, ``u`` in ``[0, 1]``)::

    P(V + c S < theta) <= alpha / 2
    P(V + c S < theta) + P(V - c_L S > theta) <= alpha

where ``c_L`` is the FAIL end's critical value (its MOVER end at the safe tail): the PASS end
errs at most ``alpha / 2`` at its own worst split and the interval at most ``alpha`` at every
split, near parity too, where the FAIL end errs up to ``alpha`` (either sign counts). Both
probabilities are one integral over the larger part's folded estimate (Gauss-Legendre) of
normal CDFs of the other's; the worst split is the even one for equal sds (the folds'
biases add least), and moves toward the more precise part otherwise.

The PASS end is then the Neyman belt's: the largest ``theta`` the test "``V + W(c_U(theta)) <
theta``" does not reject, where ``W(c)`` is MOVER's width from the parts' *exact* folded upper
limits at the tail ``Phi(-c)`` (the outer of Newcombe's and the SCAS limits, as every end),
so the normal model sets only ``c``. ``theta`` runs on a grid in units of ``S`` (``s`` from
each part's width at ``z``); between grid values the larger neighbouring ``c_U`` is used, and
the sizes' ratio ``s_small / s_large`` is taken at the neighbouring nodes of a ``2**(1/8)``
grid with the larger ``c_U`` (``c_U`` grows as the ratio falls), so the end is never below the
belt's. The end never exceeds MOVER's at ``z`` (today's).

Measured (sessions 19 and 20; printed by this script): see ``docs/bias_checks.md``, "The PASS
end of the two-group mean" and "The small-count study". It is not in the engine: where both
groups' parts have the same denominators and few events, both parts' estimates are exactly 0 in
a few percent of audits (a lattice point the normal model gives no mass), the belt's end is then
0 and the PASS end errs above ``alpha / 2`` near parity (section 3 below, the equal halves).
Keeping MOVER's end there removes those misses, but with a rate near 0 or 1 in a small group the
belt's end still errs far above ``alpha / 2`` (section 3, session 20: up to 9.12 % with 50 +
5,000 rows and an FPR of 0.02), because the normal model of a part with 0 or 1 events sets
``c_U`` too small.

Run: ``python benchmarks/eo_mean_pass_belt.py [--reps 6000]`` (about six minutes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks._components import combine_components
from bias_checks._inputs import FloatArray
from bias_checks._intervals import folded_difference, z_tail
from bias_checks._judged import Judged, Split
from bias_checks._rate_stats import RateStats

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
ALPHA = 0.05

T_GRID = np.concatenate([np.arange(0.0, 4.0, 0.1), [4.0, 4.5, 5.0, 6.0, 8.0]])
"""``theta`` in units of ``S``, in steps of 0.1 where ``c_U`` moves (a segment takes its larger
end, so a coarser grid would give away sharpness); beyond the last value ``c_U = z``."""
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(64)
_SPLITS = np.linspace(0.0, 1.0, 17)
_BISECTIONS = 16
"""Steps of the search for ``c_U`` (its bracket ``[0, z]`` shrinks to ``z / 2**16``; the end
kept is the one that holds the errors)."""
_RATIO_STEP = 8
"""The sizes' ratio is rounded on a grid of ``2**(1/_RATIO_STEP)``."""
_SMALLEST_RATIO = 2.0**-16
"""Below it the ratio is taken as this (``c_U`` changes by less than 1e-4 beyond it)."""


def _below(r: FloatArray, m_large: FloatArray, m_small: FloatArray, ratio: float) -> FloatArray:
    """``P(|X| + ratio |Y| < r)`` for ``X ~ N(m_large, 1)``, ``Y ~ N(m_small, 1)``,
    elementwise; the larger sd is the unit, so the integral over ``|X|`` spans at most ``r``
    of its sds."""
    r = np.maximum(r, 0.0)[..., None]
    a = (_NODES + 1.0) / 2.0 * r
    m_large, m_small = m_large[..., None], m_small[..., None]
    density = np.exp(-0.5 * (a - m_large) ** 2) + np.exp(-0.5 * (a + m_large) ** 2)
    b = (r - a) / ratio
    inner = ndtr(b - m_small) - ndtr(-b - m_small)
    out: FloatArray = np.sum(_WEIGHTS * density * inner, axis=-1) * r[..., 0] / 2.0
    out /= np.sqrt(2.0 * np.pi)
    return out


def _means(t: FloatArray, split: FloatArray, ratio: float) -> tuple[FloatArray, FloatArray]:
    """The parts' true gaps in their sds at ``theta = t S`` and each split (the share of ``2
    theta`` on the part with the larger sd, which is 1; the other's is ``ratio``)."""
    theta = t * _scale(ratio)
    m_large, m_small = 2.0 * theta * split, 2.0 * theta * (1.0 - split) / ratio
    large, small = np.broadcast_arrays(m_large, m_small)
    return large, small


def _scale(ratio: float) -> float:
    return float(np.hypot(1.0, ratio)) / 2.0


def _pass_error(t: FloatArray, split: FloatArray, ratio: float, c: FloatArray) -> FloatArray:
    """``P(V + c S < theta)``, broadcast over ``t``, ``split`` and ``c``."""
    m_large, m_small = _means(t, split, ratio)
    r = 2.0 * (t - c) * _scale(ratio) + np.zeros(m_large.shape)
    return _below(r, m_large, m_small, ratio)


def _fail_error(t: FloatArray, split: FloatArray, ratio: float, fail_c: float) -> FloatArray:
    """``P(V - c_L S > theta)``, broadcast over ``t`` and ``split``."""
    m_large, m_small = _means(t, split, ratio)
    r = 2.0 * (t + fail_c) * _scale(ratio) + np.zeros(m_large.shape)
    return 1.0 - _below(r, m_large, m_small, ratio)


def _smallest(holds: Callable[[FloatArray], BoolArray], start: FloatArray, z: float) -> FloatArray:
    """The smallest ``c`` in ``[start, z]`` (elementwise) at which ``holds`` (monotone: once
    true, true for every larger ``c``), to ``z / 2**_BISECTIONS``; ``z`` where it never does."""
    low, high = start.copy(), np.full(start.shape, z)
    done = holds(start)
    high[done] = start[done]
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2.0
        ok = holds(middle)
        high = np.where(ok, middle, high)
        low = np.where(ok, low, middle)
    return high


@lru_cache(maxsize=256)
def _table(step: int, alpha: float, fail_c: float) -> FloatArray:
    """``c_U`` on :data:`T_GRID` for the ratio ``2**(-step / _RATIO_STEP)``."""
    ratio = 2.0 ** (-step / _RATIO_STEP)
    z = float(-ndtri(alpha / 2.0))
    t = T_GRID[1:, None]  # at parity the PASS end cannot err: c_U = 0
    splits = _SPLITS[None, :]
    failed = _fail_error(t, splits, ratio, fail_c)

    def on_grid(c: FloatArray) -> BoolArray:
        passed = _pass_error(t, splits, ratio, c[:, None])
        holds: BoolArray = np.all((passed <= alpha / 2.0) & (passed + failed <= alpha), axis=1)
        return holds

    c = _smallest(on_grid, np.zeros(t.shape[0]), z)
    # The PASS end's error is log-concave in the split (a convex region of Gaussian estimates,
    # Prekopa): refine its maximum between the grid's neighbours of the best split, by golden
    # section, and raise c_U until it holds there too.
    passed = _pass_error(t, splits, ratio, c[:, None])
    best = np.argmax(passed, axis=1)
    low = _SPLITS[np.maximum(best - 1, 0)]
    high = _SPLITS[np.minimum(best + 1, _SPLITS.size - 1)]
    ratio_golden = (np.sqrt(5.0) - 1.0) / 2.0
    for _ in range(20):
        u1, u2 = high - ratio_golden * (high - low), low + ratio_golden * (high - low)
        e1 = _pass_error(t[:, 0], u1, ratio, c)
        e2 = _pass_error(t[:, 0], u2, ratio, c)
        low, high = np.where(e1 < e2, u1, low), np.where(e1 < e2, high, u2)
    worst = (low + high) / 2.0

    def at_worst(candidate: FloatArray) -> BoolArray:
        return _pass_error(t[:, 0], worst, ratio, candidate) <= alpha / 2.0

    out = np.concatenate([[0.0], _smallest(at_worst, c, z)])
    out.setflags(write=False)
    return out


def critical_values(ratio: float, *, alpha: float, fail_c: float) -> FloatArray:
    """``c_U`` on :data:`T_GRID` for parts whose sds are in ``ratio`` (either way round): the
    larger of the two neighbouring nodes' values."""
    r = min(ratio, 1.0 / ratio) if ratio > 0 else 0.0
    r = max(r, _SMALLEST_RATIO)
    exact = -np.log2(r) * _RATIO_STEP
    steps = {int(np.floor(exact + 1e-9)), int(np.ceil(exact - 1e-9))}
    key = (round(float(alpha), 12), round(float(fail_c), 12))
    out: FloatArray = np.max([_table(s, *key) for s in sorted(steps)], axis=0)
    return out


def belt_pass_end(value: FloatArray, scale: FloatArray, widths: FloatArray) -> FloatArray:
    """The largest ``theta`` not rejected (E,), for values and scales (E,) and widths (E, T):
    ``widths[:, j]`` is MOVER's width at the critical value of the segment ``(T_GRID[j] S,
    T_GRID[j + 1] S]`` (:func:`segment_criticals`), the last column the width at ``z``,
    beyond the grid. Within a segment every ``theta`` up to ``V + width`` is kept."""
    starts = T_GRID[None, :] * scale[:, None]
    stops = np.concatenate([starts[:, 1:], np.full((scale.size, 1), np.inf)], axis=1)
    reach = value[:, None] + widths
    kept = np.where(reach > starts, np.minimum(stops, reach), -np.inf)
    out: FloatArray = np.maximum(value, kept.max(axis=1))  # no theta below V is rejected
    return out


def segment_criticals(criticals: FloatArray, z: float) -> FloatArray:
    """The critical value of each segment of :data:`T_GRID`: the larger of its ends', and ``z``
    beyond the last grid value."""
    return np.append(np.maximum(criticals[:-1], criticals[1:]), z)


def mean_pass_end(
    stats: tuple[RateStats, RateStats],
    parts: tuple[Judged, Judged],
    *,
    alpha: float,
    entries: int = 1,
) -> FloatArray:
    """The mean's PASS end (L, C) of differences where each part is one comparison of two
    groups, from the belt of :mod:`bias_checks._mean_belt`; NaN elsewhere (MOVER at
    ``alpha / 2`` is kept). Each part's folded upper limit is found exactly at each critical
    value the belt needs."""
    split = Split.of(alpha, 2, entries)
    z, fail_c = float(z_tail(split.unsafe)), float(z_tail(split.safe))
    out = np.full(parts[0].value.shape, np.nan)
    if parts[0].reach is None or parts[1].reach is None:
        return out
    values = np.stack([part.value for part in parts])
    with np.errstate(invalid="ignore"):
        sds = (np.stack([part.high for part in parts]) - values) / z
        scale = np.hypot(sds[0], sds[1]) / 2.0
        single = np.isfinite(parts[0].reach) & np.isfinite(parts[1].reach) & (scale > 0.0)
    where = np.nonzero(single)
    if where[0].size == 0:
        return out
    rows, columns = where
    values, sds, scale = values[:, rows, columns], sds[:, rows, columns], scale[where]
    value = values.mean(axis=0)
    today = value + z * scale  # MOVER at alpha / 2
    criticals = np.stack(
        [
            segment_criticals(critical_values(ratio, alpha=2 * split.unsafe, fail_c=fail_c), z)
            for ratio in (sds.min(axis=0) / sds.max(axis=0)).tolist()
        ]
    )
    needed = T_GRID[None, :] * scale[:, None] < today[:, None]
    entry = np.nonzero(needed)[0]
    tails = ndtr(-criticals[needed])
    highs = []
    for part, rates in zip(parts, stats, strict=True):
        first, second = part.first[where][entry], part.second[where][entry]
        label = where[0][entry]
        p, n = rates.p, rates.n_eff
        highs.append(
            folded_difference(
                p[label, first],
                n[label, first],
                p[label, second],
                n[label, second],
                low_tail=tails,
                high_tail=tails,
            )[1]
        )
    widths = np.zeros(needed.shape)
    widths[needed] = np.hypot(highs[0] - values[0][entry], highs[1] - values[1][entry]) / 2.0
    out[where] = belt_pass_end(value, scale, widths)
    return out


def _two_groups(num: FloatArray, den: FloatArray) -> tuple[RateStats, Judged]:
    """One part over two groups as the engine judges it for equalized odds (components=2),
    for many audits at once (rows)."""
    p, n = num / den, den
    reach, high = folded_difference(
        p[:, 0], n[:, 0], p[:, 1], n[:, 1], low_tail=ALPHA / 4, high_tail=ALPHA / 2, clip=False
    )
    top = (p[:, 1] > p[:, 0]).astype(np.intp)[:, None]
    judged = Judged(
        np.abs(p[:, :1] - p[:, 1:]),
        np.maximum(reach, 0.0)[:, None],
        high[:, None],
        top,
        1 - top,
        None,
        np.full(top.shape, 2),
        "newcombe",
        reach[:, None],
    )
    return RateStats(num, den, den.copy()), judged


def _audits(
    rng: np.random.Generator,
    reps: int,
    sizes: tuple[int, int],
    gap: float,
    *,
    fixed: bool,
    rates: tuple[float, float] = (0.6, 0.2),
) -> tuple[Judged, Judged, Judged]:
    """Today's interval, the belt's, and the belt's with MOVER's end kept where ``V = 0``, for
    ``reps`` audits of two groups of ``sizes`` rows, prevalence 0.5, TPR ``rates[0]`` /
    ``rates[0] + gap``, FPR ``rates[1]`` / ``rates[1] + gap``; ``fixed``: exactly half the rows
    positive in each group (equal denominators when the sizes are), else binomial."""
    rows = np.array(sizes)
    if fixed:
        pos = np.broadcast_to(rows // 2, (reps, 2)).astype(np.float64)
    else:
        pos = np.clip(rng.binomial(rows, 0.5, size=(reps, 2)), 1, rows - 1).astype(np.float64)
    neg = rows - pos
    tpr_true = np.array([rates[0], rates[0] + gap])
    fpr_true = np.array([rates[1], rates[1] + gap])
    tp = rng.binomial(pos.astype(np.int64), tpr_true).astype(np.float64)
    fp = rng.binomial(neg.astype(np.int64), fpr_true).astype(np.float64)
    (t_stats, tpr), (f_stats, fpr) = _two_groups(tp, pos), _two_groups(fp, neg)
    today = combine_components(tpr, fpr, "difference", "mean")
    end = mean_pass_end((t_stats, f_stats), (tpr, fpr), alpha=ALPHA)
    belted = np.where(np.isfinite(end), np.fmin(end, today.high), today.high)
    kept = np.where(today.value > 0.0, belted, today.high)
    return today, replace(today, high=belted), replace(today, high=kept)


def _misses(judged: Judged, gap: float) -> tuple[float, float]:
    """Percent of audits whose PASS end is below the truth, and whose interval misses it."""
    high = float(np.mean(judged.high[:, 0] < gap))
    return 100 * high, 100 * (high + float(np.mean(judged.low[:, 0] > gap)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=6000)
    args = parser.parse_args()
    start = time.perf_counter()
    fail_c = float(z_tail(Split.of(ALPHA, 2).safe))
    print("1. c_U(theta / S) in the normal model, sds equal and in ratio 0.30 (today: 1.96)")
    for step in (0, 14):
        c = _table(step, ALPHA, fail_c)
        shown = ", ".join(f"{t:.1f}: {c[i]:.2f}" for i, t in enumerate(T_GRID) if i % 5 == 0)
        print(f"   ratio {2.0 ** (-step / 8):.2f}: {shown}")
    rng = np.random.default_rng(19)
    print(f"\n2. the grid's truth (both parts carry the gap), {args.reps} audits a cell")
    print("   rows gap | coverage today / belt | PASS-end misses today / belt | FAIL-end misses")
    for rows in (30, 100):
        for gap in (0.05, 0.10, 0.15, 0.20):
            today, belted, _ = _audits(rng, args.reps, (rows, rows), gap, fixed=False)
            cov = [np.mean((j.low[:, 0] <= gap) & (gap <= j.high[:, 0])) for j in (today, belted)]
            miss = [np.mean(j.high[:, 0] < gap) for j in (today, belted)]
            print(
                f"   {rows:4d} {gap:.2f} | {100 * cov[0]:5.1f} / {100 * cov[1]:5.1f} % | "
                f"{100 * miss[0]:4.2f} / {100 * miss[1]:4.2f} % | "
                f"{100 * np.mean(today.low[:, 0] > gap):4.2f} %"
            )
    print(
        "\n3. small counts: the belt, and the belt with MOVER's end kept at the lattice point "
        "V = 0 (allowed: PASS end 2.5 %, interval 5 %)"
    )
    print(
        "   setting                      gap | V = 0 | PASS-end / interval misses: "
        "today | belt | belt, V = 0 kept"
    )
    settings: list[tuple[str, tuple[int, int], bool, tuple[float, float]]] = [
        ("equal halves, 30 + 30", (30, 30), True, (0.6, 0.2)),
        ("equal halves, 60 + 60", (60, 60), True, (0.6, 0.2)),
        ("equal halves, 200 + 200", (200, 200), True, (0.6, 0.2)),
        ("binomial, 30 + 30", (30, 30), False, (0.6, 0.2)),
        ("rates near 0/1, 30 + 30", (30, 30), True, (0.9, 0.02)),
        ("rates near 0/1, 100 + 100", (100, 100), False, (0.9, 0.02)),
        ("50 + 5,000", (50, 5000), False, (0.6, 0.2)),
        ("50 + 5,000, near 0/1", (50, 5000), False, (0.9, 0.02)),
    ]
    worst = 0.0
    for name, sizes, fixed, rates in settings:
        for gap in (0.0, 0.01, 0.02, 0.04, 0.08):
            judged = _audits(rng, args.reps, sizes, gap, fixed=fixed, rates=rates)
            cells = [_misses(j, gap) for j in judged]
            worst = max(worst, cells[2][0])
            shown = " | ".join(f"{a:4.2f} / {b:4.2f}" for a, b in cells)
            at_zero = 100 * np.mean(judged[0].value[:, 0] == 0)
            print(f"   {name:26s} {gap:.2f} | {at_zero:5.2f} % | {shown}")
    print(f"   worst PASS-end misses with V = 0 kept: {worst:.2f} %")
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
