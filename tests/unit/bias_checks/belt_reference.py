"""An independent computation of the folded-normal belt's FAIL end for two groups.

Scipy's root finder and statsmodels' Newcombe interval, no code of ``bias_checks._belt``: the
engine's end must equal this one from below (its grid never makes the end narrower).
"""

from __future__ import annotations

from scipy.optimize import brentq
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep


def two_group_fail_end(
    c1: float, n1: float, c2: float, n2: float, *, alpha: float = 0.05, share: int = 1
) -> float:
    """Smallest ``theta`` not rejected: ``lo(c(theta)) <= theta``, where ``c(theta)`` solves
    ``Phi(-c) + Phi(-c - 2 theta / se) = (alpha - pi(theta)) / share`` and ``pi(theta) =
    max(0, Phi(-z) - Phi(z - 2 theta / se))`` is the PASS end's largest error at ``theta``."""
    pooled = (c1 + c2) / (n1 + n2)
    se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)) ** 0.5
    z = norm.isf(alpha / 2)

    def critical(theta: float) -> float:
        r = theta / se
        budget = (alpha - max(0.0, norm.sf(z) - norm.cdf(z - 2 * r))) / share
        return brentq(lambda c: norm.sf(c) + norm.sf(c + 2 * r) - budget, 0.0, 40.0, xtol=1e-13)

    def low(theta: float) -> float:
        tail = norm.sf(critical(theta))
        lo, hi = confint_proportions_2indep(c1, n1, c2, n2, method="newcomb", alpha=2 * tail)
        return 0.0 if lo <= 0 <= hi else min(abs(lo), abs(hi))

    if low(0.0) <= 0.0:
        return 0.0
    return brentq(lambda t: low(t) - t, 0.0, 1.0, xtol=1e-12)
