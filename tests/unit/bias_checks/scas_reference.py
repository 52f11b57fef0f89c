"""An independent computation of the skewness-corrected score (SCAS) limits of ``p1 - p2``.

Laud (2017), from Gart and Nam (1990): one element at a time, the constrained maximum
likelihood rates found by scipy's root finder on the likelihood's derivative (not the
Farrington-Manning cubic the engine solves in closed form), the corrected statistic as the
root of Laud's quadratic by ``numpy.roots``, and the limit by ``brentq``. No code of
``bias_checks._skewed_score``. Also the PASS end the engine reports: the outer of this and
statsmodels' Newcombe interval.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep

_EDGE = 1e-15


def constrained(x1: float, n1: float, x2: float, n2: float, d: float) -> tuple[float, float]:
    """The rates ``(q1, q2)``, ``q1 - q2 = d``, that maximise the binomial likelihood."""
    low, high = max(0.0, -d), min(1.0, 1.0 - d)

    def slope(q2: float) -> float:  # derivative of the log likelihood in q2; it falls
        q1 = q2 + d
        out = 0.0
        for x, n, q in ((x1, n1, q1), (x2, n2, q2)):
            out += (x / q if x > 0 else 0.0) - ((n - x) / (1 - q) if n > x else 0.0)
        return out

    a, b = low + _EDGE, high - _EDGE
    if slope(a) <= 0:
        return low + d, low
    if slope(b) >= 0:
        return high + d, high
    q2 = brentq(slope, a, b, xtol=1e-16, rtol=8.9e-16, maxiter=500)
    return q2 + d, q2


def corrected(x1: float, n1: float, x2: float, n2: float, d: float) -> float:
    """Laud's skewness-corrected score statistic at ``p1 - p2 = d``."""
    q1, q2 = constrained(x1, n1, x2, n2, d)
    total = n1 + n2
    variance = (q1 * (1 - q1) / n1 + q2 * (1 - q2) / n2) * total / (total - 1)
    third = q1 * (1 - q1) * (1 - 2 * q1) / n1**2 - q2 * (1 - q2) * (1 - 2 * q2) / n2**2
    standard = (x1 / n1 - x2 / n2 - d) / np.sqrt(variance)
    skew = third / (6 * variance**1.5)
    if skew == 0:
        return float(standard)
    roots = np.roots([skew, 1.0, -(standard + skew)])  # zeta + skew (zeta^2 - 1) = standard
    real = roots[np.abs(roots.imag) < 1e-12].real
    return float(real[np.argmin(np.abs(real - standard))])


def scas_limits(x1: float, n1: float, x2: float, n2: float, tail: float) -> tuple[float, float]:
    """SCAS lower and upper limits of ``p1 - p2``, each at the one-sided ``tail``."""
    z = norm.isf(tail)
    return _root(x1, n1, x2, n2, z), _root(x1, n1, x2, n2, -z)


def _root(x1: float, n1: float, x2: float, n2: float, target: float) -> float:
    """Where the corrected statistic, which falls in ``d``, crosses ``target``; -1 or 1
    where it does not within ``(-1, 1)`` (a rate difference of exactly -1 or 1 observed)."""
    a, b = -1 + 1e-9, 1 - 1e-9
    if corrected(x1, n1, x2, n2, a) <= target:
        return -1.0
    if corrected(x1, n1, x2, n2, b) >= target:
        return 1.0
    return float(brentq(lambda d: corrected(x1, n1, x2, n2, d) - target, a, b, xtol=1e-14))


def outer_ends(x1: float, n1: float, x2: float, n2: float, tail: float) -> tuple[float, float]:
    """The signed limits of both ends: the outer of Newcombe's and SCAS's at ``tail``."""
    low, high = confint_proportions_2indep(
        x1, n1, x2, n2, method="newcomb", compare="diff", alpha=2 * tail
    )
    s_low, s_high = scas_limits(x1, n1, x2, n2, tail)
    return min(float(low), s_low), max(float(high), s_high)


def folded_pass_end(x1: float, n1: float, x2: float, n2: float, tail: float) -> float:
    """Upper end of ``|p1 - p2|`` from :func:`outer_ends`."""
    low, high = outer_ends(x1, n1, x2, n2, tail)
    return max(abs(low), abs(high))


def constrained_ratio(x1: float, n1: float, x2: float, n2: float, r: float) -> tuple[float, float]:
    """The rates ``(q1, q2)``, ``q1 = r q2``, that maximise the binomial likelihood."""
    high = min(1.0, 1.0 / r)

    def slope(q2: float) -> float:  # derivative of the log likelihood in q2; it falls
        out = 0.0
        for x, n, q, scale in ((x1, n1, r * q2, r), (x2, n2, q2, 1.0)):
            out += scale * ((x / q if x > 0 else 0.0) - ((n - x) / (1 - q) if n > x else 0.0))
        return out

    a, b = _EDGE, high * (1 - 1e-15)
    if slope(a) <= 0:
        return 0.0, 0.0
    if slope(b) >= 0:
        return r * high, high
    q2 = brentq(slope, a, b, xtol=1e-17, rtol=8.9e-16, maxiter=500)
    return r * q2, q2


def corrected_ratio(x1: float, n1: float, x2: float, n2: float, r: float) -> float:
    """Laud's skewness-corrected score statistic at ``p1 / p2 = r``."""
    q1, q2 = constrained_ratio(x1, n1, x2, n2, r)
    total = n1 + n2
    variance = (q1 * (1 - q1) / n1 + r * r * q2 * (1 - q2) / n2) * total / (total - 1)
    third = q1 * (1 - q1) * (1 - 2 * q1) / n1**2 - r**3 * q2 * (1 - q2) * (1 - 2 * q2) / n2**2
    standard = (x1 / n1 - r * x2 / n2) / np.sqrt(variance)
    skew = third / (6 * variance**1.5)
    if skew == 0:
        return float(standard)
    roots = np.roots([skew, 1.0, -(standard + skew)])
    real = roots[np.abs(roots.imag) < 1e-12].real
    return float(real[np.argmin(np.abs(real - standard))])


def scas_ratio_limits(
    x1: float, n1: float, x2: float, n2: float, tail: float
) -> tuple[float, float]:
    """SCAS lower and upper limits of ``p1 / p2``, each at ``tail``: 0 or infinity where the
    statistic does not cross within ``exp(+-30)`` (a count of zero)."""
    z = norm.isf(tail)

    def root(target: float) -> float:
        def f(t: float) -> float:
            return corrected_ratio(x1, n1, x2, n2, float(np.exp(t))) - target

        if f(-30) <= 0:
            return 0.0
        if f(30) >= 0:
            return float(np.inf)
        return float(np.exp(brentq(f, -30, 30, xtol=1e-14)))

    return root(z), root(-z)


def ratio_outer_ends(
    x1: float, n1: float, x2: float, n2: float, tail: float
) -> tuple[float, float]:
    """The limits of ``p1 / p2`` (both ends): the outer of statsmodels' Miettinen-Nurminen
    limits and the SCAS limits, each at ``tail`` (both counts not zero)."""
    low, high = confint_proportions_2indep(
        x1, n1, x2, n2, method="score", compare="ratio", alpha=2 * tail
    )
    s_low, s_high = scas_ratio_limits(x1, n1, x2, n2, tail)
    return min(float(low), s_low), max(float(high), s_high)


def folded_ratio_pass_end(x1: float, n1: float, x2: float, n2: float, tail: float) -> float:
    """Lower end of ``min(p1/p2, p2/p1)`` from :func:`ratio_outer_ends`."""
    if x1 == x2 == 0:
        return 0.0
    low, high = ratio_outer_ends(x1, n1, x2, n2, tail)
    if low <= 1 <= high:
        return min(low, 1 / high)
    return low if high < 1 else 1 / high


def folded_fail_end(x1: float, n1: float, x2: float, n2: float, tail: float) -> float:
    """Lower end of ``|p1 - p2|`` (the end a FAIL rests on) from :func:`outer_ends`."""
    low, high = outer_ends(x1, n1, x2, n2, tail)
    return 0.0 if low <= 0 <= high else min(abs(low), abs(high))


def folded_ratio_fail_end(x1: float, n1: float, x2: float, n2: float, tail: float) -> float:
    """Upper end of ``min(p1/p2, p2/p1)`` (the end a FAIL rests on) from
    :func:`ratio_outer_ends`."""
    low, high = ratio_outer_ends(x1, n1, x2, n2, tail)
    if low <= 1 <= high:
        return 1.0
    return high if high < 1 else 1 / low
