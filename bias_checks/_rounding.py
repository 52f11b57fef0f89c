"""Interval ends rounded outward to a fixed number of significant digits.

numpy evaluates ``exp`` and ``log`` with code chosen for the CPU it runs on (AVX2, AVX-512,
...), and OpenBLAS picks its kernels the same way, so the same audit computed on two machines
can give interval ends that differ in their last bit or two. Reports are hashed and anchored
on chain, and anyone re-running an audit must get the same bytes. Interval ends are therefore
rounded to :data:`END_DIGITS` significant digits, outward (the lower end down, the upper end
up), so the interval still contains everything it contained before, and the verdict is judged
on the rounded ends it shows. Rounding is idempotent and maps 0 and 1 to themselves, so ends
within ``[0, 1]`` stay there.

The decimal module does the rounding: it is exact, where scaling by a power of ten in binary
floating point is not. A float counts as already rounded when it is the nearest float to a
decimal of :data:`END_DIGITS` digits, so ``0.3`` stays ``0.3``.
"""

from __future__ import annotations

import math
from decimal import Context, Decimal
from typing import Any

import numpy as np

END_DIGITS = 12
"""Significant digits of every reported interval end (except exact ones)."""

SAME = 1e-12
"""Relative difference below which two computed values are the same value: sums added in
another order (another dataframe engine) differ in their last bits, and must not name another
group, nor turn a value on its bound into one beside it."""


def round_down(x: float, digits: int = END_DIGITS) -> float:
    """The largest float at most ``x`` that is a decimal of ``digits`` significant digits."""
    return _round(x, digits, up=False)


def round_up(x: float, digits: int = END_DIGITS) -> float:
    """The smallest float at least ``x`` that is a decimal of ``digits`` significant digits."""
    return _round(x, digits, up=True)


def _round(x: float, digits: int, *, up: bool) -> float:
    x = float(x)
    if x == 0.0 or not math.isfinite(x):
        return x
    context = Context(prec=digits)
    nearest = context.plus(Decimal(x))
    if (float(nearest) < x) if up else (float(nearest) > x):
        nearest = nearest.next_plus(context) if up else nearest.next_minus(context)
    rounded = float(nearest)
    return rounded if math.isfinite(rounded) else x  # beyond the largest float


def round_ends(
    low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """:func:`round_down` of every lower end and :func:`round_up` of every upper end."""
    lows = np.asarray(low, dtype=np.float64)
    highs = np.asarray(high, dtype=np.float64)
    return (
        np.array([round_down(v) for v in lows.ravel()]).reshape(lows.shape),
        np.array([round_up(v) for v in highs.ravel()]).reshape(highs.shape),
    )
