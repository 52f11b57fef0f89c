"""One vectorised root finder for the score limits: where a falling function crosses zero.

Every score limit (Miettinen and Nurminen's for a ratio, the skewness-corrected ones for a
difference or a ratio) is the point where a statistic that falls in the parameter equals a
normal quantile, for many comparisons and tails at once. scipy's root finders take one
scalar function at a time, and a Python loop over a report's few hundred limits costs more
than the audit; hence this search, which works on whole arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from bias_checks._inputs import FloatArray

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

Falling = Callable[..., FloatArray]
"""``f(x, at=...)``: the function at ``x`` for the elements ``at`` (all by default)."""


def falling_root(
    f: Falling,
    guess: FloatArray,
    width: float | FloatArray,
    low_edge: FloatArray,
    high_edge: FloatArray,
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """The root of each element of ``f`` between ``low_edge`` and ``high_edge``, and where
    there is none: ``(root, below, above)``, ``below`` where ``f`` is not positive even at
    ``low_edge`` (the root lies below the range) and ``above`` where it is still positive at
    ``high_edge`` (the root there is meaningless; the caller maps those elements).

    The search starts from the bracket ``guess -+ width``, widened to the edge on the side
    where it does not bracket, and narrows it by the Illinois variant of regula falsi
    (superlinear, and never leaves the bracket) until its steps fall below ``1e-13``. Elements
    it has not pinned by then (a statistic flat in places) are bisected.
    """
    n = guess.size
    f_low, f_high, f_min, f_max = np.split(
        f(
            np.concatenate([guess - width, guess + width, low_edge, high_edge]),
            np.tile(np.arange(n), 4),
        ),
        4,
    )
    below, above = f_low <= 0, f_high > 0  # the root lies below, or above, the first bracket
    a = np.where(below, low_edge, np.where(above, guess + width, guess - width))
    fa = np.where(below, f_min, np.where(above, f_high, f_low))
    b = np.where(below, guess - width, np.where(above, high_edge, guess + width))
    fb = np.where(below, f_low, np.where(above, f_max, f_high))
    none = (f_min <= 0) | (f_max > 0)  # no root in range: held still, mapped by the caller
    a, b, fa, fb = (np.where(none, 0.0, x) for x in (a, b, fa, fb))
    step = np.full(b.shape, np.inf)
    for _ in range(14):
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(fb != fa, b - fb * (b - a) / (fb - fa), b)
        fc = f(c)
        flip = fc * fb < 0
        step = np.abs(c - b)
        a, fa = np.where(flip, b, a), np.where(flip, fb, fa / 2)
        b, fb = c, fc
        if np.all((step <= 1e-13) | (fb == 0)):
            break
    slow = np.flatnonzero((step > 1e-13) & (np.abs(b - a) > 1e-12) & (fb != 0))
    if slow.size:
        lo, hi = np.minimum(a[slow], b[slow]), np.maximum(a[slow], b[slow])
        for _ in range(60):
            mid = (lo + hi) / 2
            up = f(mid, slow) > 0
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        b[slow] = (lo + hi) / 2
    return b, f_min <= 0, f_max > 0
