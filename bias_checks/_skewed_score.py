"""The skewness-corrected asymptotic score (SCAS) limits for a difference of two rates.

Laud, P. J. (2017). Equal-tailed confidence intervals for comparison of rates.
Pharmaceutical Statistics 16, 334-348 (developed from Gart and Nam 1990, Biometrics 46,
637-643). A limit ``d`` of ``p1 - p2`` at the one-sided tail ``Phi(-z)`` is where the
corrected statistic ``zeta(d)`` equals ``z`` (the lower limit) or ``-z`` (the upper);
``zeta`` is the root of ``zeta + s (zeta**2 - 1) = S(d) / sqrt(V(d))``, ``s = mu3(d) / (6
V(d)**1.5)``, that tends to the plain score statistic as ``s`` vanishes. ``S(d) = p1 - p2 -
d`` is the score, ``(q1, q2)`` the rates that maximise the likelihood under ``q1 - q2 = d``
(the Farrington-Manning cubic, solved in closed form), ``V(d) = (q1(1-q1)/n1 + q2(1-q2)/n2)
N/(N-1)`` its variance with Miettinen and Nurminen's correction (``N = n1 + n2``) and
``mu3(d) = q1(1-q1)(1-2q1)/n1**2 - q2(1-q2)(1-2q2)/n2**2`` its third central moment. The
skewness term is what Newcombe's interval lacks: with one or two events in a small group
beside a large one its upper end erred 6.3 % at a one-sided 2.5 %
(``benchmarks/pass_end_small_counts.py``), these limits 1.9 %.

No maintained Python library has these limits (the R package ``ratesci`` does); statsmodels'
score interval for a difference is Miettinen and Nurminen's without the skewness term, and
its constrained estimate has an open bug (statsmodels issue 10269). Hence this module: the
limits are found on ``(-1, 1)``, where the corrected statistic falls as ``d`` grows (but
for a hair at either end, see :func:`laud_corrected`), by the engine's vectorised root
finder (:mod:`bias_checks._roots`). Counts may be fractional
(effective sizes of weighted data). :func:`laud_corrected` also corrects the ratio's score
statistic (:mod:`bias_checks._intervals`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bias_checks._inputs import FloatArray
from bias_checks._roots import falling_root

_EDGE = 1e-12
"""The search runs over ``[-1 + _EDGE, 1 - _EDGE]``, where the constrained rates are inside."""


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
    w = (np.pi + np.arccos(np.minimum(np.maximum(cosine, -1.0), 1.0))) / 3
    q2 = np.minimum(np.maximum(2 * u * np.cos(w) - b / 3, 0.0), 1.0)
    return np.minimum(np.maximum(q2 + d, 0.0), 1.0), q2


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
    with np.errstate(divide="ignore", invalid="ignore"):
        standard = np.where(score == 0, 0.0, score / np.sqrt(variance))
    return laud_corrected(standard, third, variance) - target


def laud_corrected(standard: FloatArray, third: FloatArray, variance: FloatArray) -> FloatArray:
    """Laud's skewness-corrected score statistic from the standardised score, the third
    central moment of the score and its variance (at the constrained rates): the root
    ``zeta`` of ``zeta + s (zeta**2 - 1) = standard``, ``s = third / (6 variance**1.5)``, that
    tends to ``standard`` as ``s`` vanishes, written without cancellation. A negative
    discriminant, possible only far in a tail (at a limit it is ``(1 + 2 s z)**2``), gives the
    vertex ``-1 / (2 s)``. Within a hair of ``d = -1`` or ``1`` with no events in a group, ``s``
    and the score grow alike and ``zeta`` turns back towards a finite value; the search takes
    the crossing nearest the estimate (:func:`bias_checks._roots.falling_root`)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        skew = np.where((third == 0) | ~np.isfinite(variance), 0.0, third / (6 * variance**1.5))
        discriminant = 1 + 4 * skew * (standard + skew)
        root = np.sqrt(np.maximum(0.0, discriminant))
        zeta = np.where(
            discriminant >= 0,
            2 * (standard + skew) / (1 + root),
            -0.5 / np.where(skew == 0, 1, skew),
        )
        zeta = np.where(skew == 0, standard, zeta)  # exactly, infinite scores included
    return np.asarray(zeta, dtype=np.float64)


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
    is not positive or a rate undefined; -1 or 1 where the data reach that end (a difference
    of -1 or 1 observed)."""
    p1, n1, p2, n2, low_z, high_z = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (p1, n1, p2, n2, low_z, high_z))
    )
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    m1, m2 = np.where(valid, n1, 1.0), np.where(valid, n2, 1.0)
    r1, r2 = np.where(valid, p1, 0.0), np.where(valid, p2, 0.0)
    shape = r1.shape
    # Both limits in one search: the lower (statistic = +z) and the upper (= -z) side by side.
    a1, b1, a2, b2 = (np.concatenate([x.ravel(), x.ravel()]) for x in (r1 * m1, m1, r2 * m2, m2))
    target = np.concatenate([low_z.ravel(), -high_z.ravel()])

    def f(d: FloatArray, at: Any = ...) -> FloatArray:
        return _excess(a1[at], b1[at], a2[at], b2[at], d=d, target=target[at])

    # Start from the Wald limit with half an event added to each group, within 2 sds of it.
    q1, q2 = (a1 + 0.5) / (b1 + 1), (a2 + 0.5) / (b2 + 1)
    sd = np.sqrt(q1 * (1 - q1) / b1 + q2 * (1 - q2) / b2)
    width = np.minimum(2 * sd + 1e-3, 0.25)
    edge = np.full(target.shape, 1 - _EDGE)
    guess = np.clip(a1 / b1 - a2 / b2 - target * sd, width - edge, edge - width)
    recheck = np.ones(target.shape, dtype=bool)
    estimate = np.clip(a1 / b1 - a2 / b2, -edge, edge)
    root, none_below, none_above = falling_root(
        f, guess, width, -edge, edge, recheck=recheck, estimate=estimate
    )
    root = np.where(none_below, -1.0, np.where(none_above, 1.0, root))
    low, high = root[: root.size // 2].reshape(shape), root[root.size // 2 :].reshape(shape)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)
