"""The end a FAIL rests on, calibrated at the disparity it tests (a Neyman belt).

A disparity ``theta = max_m |d_m|`` over comparisons ``m`` (pairs of groups, or each group
against a reference) has a confidence set ``{theta : no test at theta rejects}``. Its lower
end ``L`` (the FAIL end of a difference; of ``-log`` of a ratio) is the smallest ``theta``
that the test "some comparison is further from parity than ``theta``" does not reject::

    reject theta  <=>  max_m lo_m(c(theta)) > theta

where ``lo_m(c)`` is comparison ``m``'s folded lower limit at the one-sided tail ``Phi(-c)``
(Newcombe's for a difference, the adjusted log limit for a ratio). The interval errs when
this test rejects the true ``theta`` (the FAIL end lies above the truth) or when the PASS end
lies below it, so the two ends may share ``alpha`` differently at every ``theta`` as long as
the errors add up to at most ``alpha`` there (Neyman 1937; for a single ``|mu|`` this is the
folded-normal belt). The PASS end keeps ``alpha / 2`` and no multiplicity adjustment (only
the comparison attaining ``theta`` can breach it). It can only err when its width is below
``theta``: at most ``pi(theta) = max_m [Phi(-z) - Phi(z - 2 theta / se_m)]^+`` in the normal
model (``z`` its critical value). The FAIL end gets the rest, ``alpha - pi(theta)``: near
parity all of ``alpha``, far from it ``alpha / 2``, as before.

``c(theta)`` is the critical value that holds at ``theta`` whatever the groups' rates are,
the least-favourable configuration (Lehmann and Romano, *Testing Statistical Hypotheses*,
ch. 3): the ``1 - budget`` quantile of ``T = max_m (|D_m| - theta) / se_m`` taken at the worst
configuration with disparity ``theta``. For pairs the candidates are every split of the groups
into two clusters ``theta`` apart (the most pairs attain ``theta``; groups between the
clusters only add slack); against a reference every assignment of the others to
``-theta``, the reference's rate or ``+theta``. At ``theta = 0`` this is the simultaneous
critical value at parity of :mod:`bias_checks._simultaneous` (Tukey's, Dunnett's); far from
parity it is a one-sided value over the comparisons that can attain ``theta`` at once, which
is smaller: the interval is no longer conservative where one pair attains the gap.

``T`` is simulated on the same scrambled Sobol points as :mod:`bias_checks._simultaneous`
(fixed seed: an audit is reproducible) for a grid of ``theta`` (in units of the comparisons'
standard errors) and of budgets, once per shape of the sizes: sizes enter only relative to the
largest, rounded to ``2**(1/8)``, and in sorted order. ``theta`` between grid points takes the
larger critical value of its two neighbours, so the computed ``L`` does not exceed the belt's
by more than the interpolation between budgets (480 levels, ``c`` to about ``1e-5``).
A single comparison (two groups) has the closed form ``Phi(-c) + Phi(-c - 2 theta / se) =
budget``. Beyond ``MAX_WORK`` configurations times comparisons (six or more groups for pairs,
six or more against a reference) the parity value is used at every ``theta``: valid, and as
conservative as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import product
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

from bias_checks._inputs import FloatArray
from bias_checks._simultaneous import _normal_points

BeltStructure = Literal["pairs", "reference"]

POINTS = 2**13
"""Sobol points per configuration and ``theta``."""
MAX_WORK = 200
"""Largest configurations x comparisons simulated; beyond it the parity value is used."""
LEVELS = np.geomspace(1e-5, 0.5, 480)
"""Budgets at which critical values are tabulated (interpolated linearly in ``log``)."""
_MULTIPLES = np.concatenate([np.linspace(0.0, 2.0, 17), np.linspace(2.25, 5.0, 12), [6.0, 8.0]])
"""``theta`` grid in multiples of the smallest and of the largest comparison's sd."""


@dataclass(frozen=True)
class Table:
    """Critical values ``(D, LEVELS)`` of a shape of sizes at ``theta = delta / sqrt(n_max)``
    (per unit of variance)."""

    delta: FloatArray
    critical: FloatArray

    def at(self, budget: FloatArray) -> FloatArray:
        """Critical value at each grid ``delta`` for that point's budget ``(D,)``."""
        x = np.log(np.clip(budget, LEVELS[0], LEVELS[-1]))
        grid = np.log(LEVELS)
        j = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, LEVELS.size - 2)
        w = (x - grid[j]) / (grid[j + 1] - grid[j])
        rows = np.arange(self.delta.size)
        c: FloatArray = (1 - w) * self.critical[rows, j] + w * self.critical[rows, j + 1]
        return c


def _key(sizes: FloatArray) -> tuple[float, ...]:
    relative = np.asarray(sizes, dtype=np.float64) / float(np.max(sizes))
    return tuple(float(x) for x in 2.0 ** (np.round(np.log2(relative) * 8) / 8))


def table(structure: BeltStructure, sizes: FloatArray, reference: float = 0.0) -> Table | None:
    """The belt's table for these (effective) sizes, or None when it would be too costly.

    For ``reference`` the first size is the reference group's, the rest the compared groups'.
    """
    n = np.asarray(sizes, dtype=np.float64)
    if structure == "reference":
        n = np.concatenate([[reference], n])
        key = _key(n)
        key = (key[0], *sorted(key[1:]))
    else:
        key = tuple(sorted(_key(n)))
    if min(key) <= 0:
        return None
    return _table(structure, key)


def _comparisons(structure: BeltStructure, k: int) -> tuple[FloatArray, FloatArray]:
    """Comparison rows ``(M, k)`` and configurations ``(C, k)`` in units of ``theta``."""
    if structure == "pairs":
        i, j = np.triu_indices(k, 1)
        rows = np.zeros((i.size, k))
        rows[np.arange(i.size), i], rows[np.arange(i.size), j] = 1.0, -1.0
        configs = [(0.0, *bits) for bits in product((0.0, 1.0), repeat=k - 1) if any(bits)]
    else:
        rows = np.zeros((k - 1, k))
        rows[:, 0], rows[np.arange(k - 1), np.arange(1, k)] = -1.0, 1.0
        configs = []
        for signs in product((-1.0, 0.0, 1.0), repeat=k - 1):
            nonzero = [s for s in signs if s]
            if nonzero and nonzero[0] > 0:
                configs.append((0.0, *signs))
    return rows, np.asarray(configs, dtype=np.float64)


@lru_cache(maxsize=512)
def _table(structure: BeltStructure, relative: tuple[float, ...]) -> Table | None:
    k = len(relative)
    rows, configs = _comparisons(structure, k)
    if configs.shape[0] * rows.shape[0] > MAX_WORK:
        return None
    sd = 1.0 / np.sqrt(np.asarray(relative))
    se = np.sqrt((rows * rows) @ (sd * sd))
    delta = np.unique(np.concatenate([se.min() * _MULTIPLES, se.max() * _MULTIPLES]))
    if rows.shape[0] == 1:
        return Table(delta, _single(delta / se[0]))
    draws = _normal_points(k)[:, :POINTS].astype(np.float64) * sd[:, None]  # (k, N)
    base = rows @ draws  # (M, N): the comparisons' errors
    shift = configs @ rows.T  # (C, M): each comparison's true value over theta
    critical = np.empty((delta.size, LEVELS.size))
    ranks = np.ceil((1 - LEVELS) * POINTS).astype(np.intp) - 1
    for d, theta in enumerate(delta):
        t = np.abs(base[None, :, :] + theta * shift[:, :, None]) - theta
        t /= se[None, :, None]
        worst = t.max(axis=1)  # (C, N)
        worst.sort(axis=1)
        critical[d] = worst[:, ranks].max(axis=0)
    return Table(delta, critical)


def _single(ratio: FloatArray) -> FloatArray:
    """``c`` with ``Phi(-c) + Phi(-c - 2 r) = level`` for each ``r = theta / se`` and level."""
    r = ratio[:, None]
    low = np.broadcast_to(-ndtri(LEVELS), (ratio.size, LEVELS.size)).copy()
    high = np.broadcast_to(-ndtri(LEVELS / 2), (ratio.size, LEVELS.size)).copy()
    for _ in range(60):
        mid = (low + high) / 2
        over = ndtr(-mid) + ndtr(-mid - 2 * r) > LEVELS[None, :]
        low = np.where(over, mid, low)
        high = np.where(over, high, mid)
    out: FloatArray = high
    return out


def pass_error(theta: FloatArray, se: FloatArray, unsafe: float) -> FloatArray:
    """Largest probability, over which comparison attains ``theta``, that the PASS end
    (one-sided error ``unsafe``, no adjustment) lies below ``theta`` (normal model)."""
    z = float(-ndtri(unsafe))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(se[None, :] > 0, theta[:, None] / se[None, :], np.inf)
    miss = ndtr(-z) - ndtr(z - 2 * ratio)
    out: FloatArray = np.clip(miss, 0.0, None).max(axis=1)
    return out


def fail_end(
    tab: Table,
    lows: Callable[[FloatArray], FloatArray],
    *,
    unit: float,
    pass_se: FloatArray,
    alpha: float,
    share: float,
    unsafe: float,
) -> float:
    """The belt's FAIL end ``L``: the smallest ``theta`` whose test does not reject.

    ``lows(tails)`` gives every comparison's folded lower limit ``(M, D)`` at one-sided tails
    ``(D,)``, in the disparity's units (``-log`` for ratios); ``unit`` is ``theta`` per grid
    ``delta`` (``sqrt(v / n_max)`` with ``v`` the variance of one row); ``pass_se`` the
    standard errors of the comparisons that may attain ``theta``; ``share`` divides the FAIL
    end's error among the entries and components of a check.
    """
    theta = tab.delta * unit
    budget = (alpha - pass_error(theta, pass_se, unsafe)) / share
    c = tab.at(budget)
    reached = np.asarray(lows(ndtr(-c)), dtype=np.float64).max(axis=0)
    accepted = reached <= theta
    if accepted[0]:
        return 0.0
    if not accepted.any():
        return float(reached[-1])
    i = int(np.argmax(accepted))
    c_star = float(max(c[i - 1], c[i]))
    r = float(np.asarray(lows(np.array([ndtr(-c_star)])), dtype=np.float64).max())
    return float(np.clip(r, theta[i - 1], theta[i]))
