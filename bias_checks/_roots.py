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

from bias_checks._inputs import FloatArray, IntArray

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]

Falling = Callable[..., FloatArray]
"""``f(x, at=...)``: the function at ``x`` for the elements ``at`` (all by default)."""


def falling_root(
    f: Falling,
    guess: FloatArray,
    width: float | FloatArray,
    low_edge: FloatArray,
    high_edge: FloatArray,
    *,
    recheck: BoolArray | None = None,
    estimate: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray, BoolArray]:
    """The root of each element of ``f`` between ``low_edge`` and ``high_edge``, and where
    there is none: ``(root, below, above)``, ``below`` where ``f`` is not positive even at
    ``low_edge`` (the root lies below the range) and ``above`` where it is still positive at
    ``high_edge`` (the root there is meaningless; the caller maps those elements).

    The search starts from the bracket ``guess -+ width``, widened to the edge on the side
    where it does not bracket, and narrows it by the Illinois variant of regula falsi
    (superlinear, and never leaves the bracket) until its steps fall below ``1e-13``, each
    element on its own: an element stops at its own convergence, so its root does not depend
    on which others are searched with it (:mod:`bias_checks._batched` searches many numbers'
    limits together). Elements it has not pinned by then (a statistic flat in places) are
    bisected.

    ``recheck`` marks elements whose function need not fall all the way to the edges (the
    skewness-corrected statistic turns back towards a finite value within a hair of them, an
    independent review found). Where such an element seems to have no root, the search walks
    from ``estimate`` (inside the range, where the statistic is 0) towards that edge, halving
    the distance each step, and takes the first crossing it meets: the one nearest the
    estimate.
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
    none_below, none_above = f_min <= 0, f_max > 0
    walked = np.zeros(n, dtype=bool)
    if recheck is not None and estimate is not None:
        for side, edge, nothing in ((True, low_edge, none_below), (False, high_edge, none_above)):
            at, bracket = _walk(f, estimate, edge, recheck & nothing, positive=side)
            nothing[at] = False
            walked[at] = True
            for whole, part in zip((a, fa, b, fb), bracket, strict=True):
                whole[at] = part
    none = none_below | none_above  # no root in range: held still, mapped by the caller
    a, b, fa, fb = (np.where(none, 0.0, x) for x in (a, b, fa, fb))
    step = np.full(b.shape, np.inf)
    done = none.copy()  # each element stops at its own convergence: its root is its own
    for _ in range(14):
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(fb != fa, b - fb * (b - a) / (fb - fa), b)
        fc = f(c)
        move = ~done
        flip = move & (fc * fb < 0)
        step = np.where(move, np.abs(c - b), step)
        a, fa = np.where(flip, b, a), np.where(flip, fb, np.where(move, fa / 2, fa))
        b, fb = np.where(move, c, b), np.where(move, fc, fb)
        done |= (step <= 1e-13) | (fb == 0)
        if done.all():
            break
    with np.errstate(invalid="ignore"):
        open_ = (np.abs(b - a) > 1e-12) & (fb != 0) & np.isfinite(fb) & ~none
    # A bracket from the walk may bend sharply: there a tiny step is checked for a crossing.
    slow = np.flatnonzero(open_ & ((step > 1e-13) | ~_crosses(f, b, open_ & walked)))
    if slow.size:
        lo, hi = np.minimum(a[slow], b[slow]), np.maximum(a[slow], b[slow])
        for _ in range(60):
            mid = (lo + hi) / 2
            up = f(mid, slow) > 0
            lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
        b[slow] = (lo + hi) / 2
    return b, none_below, none_above


def _crosses(f: Falling, x: FloatArray, which: BoolArray) -> BoolArray:
    """Whether ``f`` changes sign within ``1e-12`` (relative) of ``x``, for the elements
    ``which`` (True elsewhere): regula falsi's steps can shrink below its tolerance short of
    a root where the function bends sharply (a bracket from :func:`_walk`)."""
    at = np.flatnonzero(which)
    out = np.ones(x.shape, dtype=bool)
    if at.size:
        delta = 1e-12 * np.maximum(1.0, np.abs(x[at]))
        left, right = np.split(f(np.concatenate([x[at] - delta, x[at] + delta]), np.tile(at, 2)), 2)
        out[at] = (left > 0) & (right <= 0)
    return out


def _walk(
    f: Falling, estimate: FloatArray, edge: FloatArray, suspect: BoolArray, *, positive: bool
) -> tuple[IntArray, tuple[FloatArray, FloatArray, FloatArray, FloatArray]]:
    """For the ``suspect`` elements, step from ``estimate`` towards ``edge`` halving the
    distance until ``f`` is positive (``positive``, a root below the estimate) or not
    positive (a root above it). Returns the elements where it is and their brackets ``(a,
    f(a), b, f(b))``, ``f(a) > 0 >= f(b)``: the last step and the point before it."""
    at = np.flatnonzero(suspect)
    found: list[tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]] = []
    inner = np.broadcast_to(estimate, suspect.shape)[at]
    f_inner = f(inner, at) if at.size else inner
    for _ in range(60):
        if at.size == 0:
            break
        x = (inner + edge[at]) / 2
        fx = f(x, at)
        crossed = fx > 0 if positive else fx <= 0
        found.append((at[crossed], x[crossed], fx[crossed], inner[crossed], f_inner[crossed]))
        at, inner, f_inner = at[~crossed], x[~crossed], fx[~crossed]
    if not found:
        empty = np.zeros(0)
        return np.zeros(0, dtype=np.intp), (empty, empty, empty, empty)
    where, outer, f_outer, last, f_last = (np.concatenate(c) for c in zip(*found, strict=True))
    if positive:  # the root lies between the outer point (f > 0) and the last inner one
        return where, (outer, f_outer, last, f_last)
    return where, (last, f_last, outer, f_outer)
