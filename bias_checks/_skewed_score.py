"""The skewness-corrected asymptotic score (SCAS) limits for a difference of two rates.

Laud, P. J. (2017). Equal-tailed confidence intervals for comparison of rates.
Pharmaceutical Statistics 16, 334-348 (developed from Gart and Nam 1990, Biometrics 46,
637-643). A limit ``d`` of ``p1 - p2`` at the one-sided tail ``Phi(-z)`` solves

    S(d) / sqrt(V(d)) = sign * z + mu3(d) / (6 V(d)**1.5) * (z**2 - 1)

(``sign`` is +1 for the lower limit, -1 for the upper), where ``S(d) = p1 - p2 - d`` is the
score, ``(q1, q2)`` the rates that maximise the likelihood under ``q1 - q2 = d`` (the
Farrington-Manning cubic, solved in closed form), ``V(d) = (q1(1-q1)/n1 + q2(1-q2)/n2) N/(N-1)``
its variance with Miettinen and Nurminen's correction (``N = n1 + n2``) and ``mu3(d) =
q1(1-q1)(1-2q1)/n1**2 - q2(1-q2)(1-2q2)/n2**2`` its third central moment. The skewness term
is what Newcombe's interval lacks: with one or two events in a small group beside a large one
its upper end erred 6.3 % at a one-sided 2.5 % (``benchmarks/pass_end_small_counts.py``),
these limits 1.9 %.

No maintained Python library has these limits (the R package ``ratesci`` does); statsmodels'
score interval for a difference is Miettinen and Nurminen's without the skewness term, and
its constrained estimate has an open bug (statsmodels issue 10269). Hence this module: the
limits are found by bisection on ``[-1, 1]``, where the corrected statistic falls as ``d``
grows. Counts may be fractional (effective sizes of weighted data).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bias_checks._inputs import FloatArray

_STEPS = 56
"""Bisection steps on ``[-1, 1]``: the bracket ends within ``2**-55`` of the limit."""


def _constrained(
    x1: FloatArray, n1: FloatArray, x2: FloatArray, n2: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The rates ``(q1, q2)`` with ``q1 - q2 = d`` that maximise the binomial likelihood: the
    root in ``[0, 1]`` of Farrington and Manning's (1990) cubic in ``q2``, in its
    trigonometric form."""
    total, events = n1 + n2, x1 + x2
    b = ((n1 + 2 * n2) * d - total - events) / total
    c = ((n2 * d - total - 2 * x2) * d + events) / total
    e = x2 * d * (1 - d) / total
    v = (b / 3) ** 3 - b * c / 6 + e / 2
    u = np.copysign(np.sqrt(np.maximum(0.0, (b / 3) ** 2 - c / 3)), v)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = np.where(u == 0, 0.0, v / u**3)
    w = (np.pi + np.arccos(np.clip(cosine, -1.0, 1.0))) / 3
    q2 = np.clip(2 * u * np.cos(w) - b / 3, 0.0, 1.0)
    return np.clip(q2 + d, 0.0, 1.0), q2


def _excess(
    x1: FloatArray,
    n1: FloatArray,
    x2: FloatArray,
    n2: FloatArray,
    *,
    d: FloatArray,
    target: FloatArray,
) -> FloatArray:
    """The corrected statistic at ``d`` minus ``target``: positive below the limit, negative
    (or NaN, where the variance is 0 and the score is not) above it."""
    q1, q2 = _constrained(x1, n1, x2, n2, d)
    total = n1 + n2
    variance = (q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) * total / (total - 1)
    third = q1 * (1 - q1) * (1 - 2 * q1) / n1**2 - q2 * (1 - q2) * (1 - 2 * q2) / n2**2
    score = x1 / n1 - x2 / n2 - d
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        standard = np.where(score == 0, 0.0, score / np.sqrt(variance))
        skew = np.where(third == 0, 0.0, third / (6 * variance**1.5))
        # Laud's quadratic: the corrected statistic zeta solves zeta + skew (zeta**2 - 1) =
        # standard; the root that tends to ``standard`` as the skew vanishes, written without
        # cancellation. A negative discriminant (possible only far in a tail) gives the
        # vertex ``-1 / (2 skew)``, as ``ratesci`` does.
        discriminant = 1 + 4 * skew * (standard + skew)
        root = np.sqrt(np.maximum(0.0, discriminant))
        zeta = np.where(
            discriminant >= 0,
            2 * (standard + skew) / (1 + root),
            -0.5 / np.where(skew == 0, 1, skew),
        )
    return np.asarray(zeta - target, dtype=np.float64)


def scas_difference_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_z: FloatArray,
    high_z: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """SCAS limits of ``p1 - p2``: the lower at the one-sided normal quantile ``low_z``, the
    upper at ``high_z`` (each the ``z`` with ``P(Z > z)`` the end's error); NaN where a size
    is not positive or a rate undefined. Each limit is the end of its final bracket on the
    outer side, so it never lies inside the exact root."""
    p1, n1, p2, n2, low_z, high_z = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (p1, n1, p2, n2, low_z, high_z))
    )
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    m1, m2 = np.where(valid, n1, 1.0), np.where(valid, n2, 1.0)
    x1 = np.where(valid, p1, 0.0) * m1
    x2 = np.where(valid, p2, 0.0) * m2
    shape = x1.shape
    # Both limits in one search: the lower (statistic = +z) and the upper (= -z) side by side.
    a1, b1, a2, b2 = (np.concatenate([x.ravel(), x.ravel()]) for x in (x1, m1, x2, m2))
    target = np.concatenate([low_z.ravel(), -high_z.ravel()])
    lo, hi = np.full(target.shape, -1.0), np.full(target.shape, 1.0)
    for _ in range(_STEPS):
        mid = (lo + hi) / 2
        below = _excess(a1, b1, a2, b2, d=mid, target=target) > 0
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    low, high = lo[: lo.size // 2].reshape(shape), hi[hi.size // 2 :].reshape(shape)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)
