"""Closed-form confidence intervals for rates, and for differences and ratios of two rates.

Every function is vectorised over numpy arrays. The symmetric forms take ``alpha`` (one
minus the two-sided confidence level); the ``*_ends`` forms take the one-sided error of each
end separately (``low_tail``: probability that the lower end lies above the truth;
``high_tail``: that the upper end lies below it), so that one end of an interval can be
adjusted for many comparisons while the other is not (see :mod:`bias_checks._judged`).
Sizes ``n`` are (effective) denominators: with sample weights, Kish's effective size
``(sum w)**2 / sum w**2`` of the rows in the denominator, so that the variance of a weighted
proportion ``p(1-p)/n_eff`` matches the design's. A size of zero gives NaN.

* :func:`wilson` — Wilson's score interval (Wilson 1927), as
  ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
* :func:`newcombe_difference` — Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe
  1998, method 10), as ``confint_proportions_2indep(method="newcomb", compare="diff")``.
* :func:`log_ratio` — the adjusted log interval for ``p1 / p2`` (0.5 added to counts and
  sizes; Pettigrew, Gart and Thomas 1986), as ``confint_proportions_2indep(
  method="log-adjusted", compare="ratio")``; it stays finite when a count is zero.
* :func:`folded_difference` and :func:`folded_ratio` give intervals for ``|p1 - p2|`` and
  ``min(p1/p2, p2/p1)`` whose two ends have different error levels.
* :func:`fold_difference` and :func:`fold_ratio` turn an interval for a signed difference
  or a ratio into one for ``|p1 - p2|`` or ``min(p1/p2, p2/p1)``, the forms Fairlearn
  reports. The folded interval contains the folded truth whenever the signed one contains
  the signed truth, so coverage carries over and, unlike a bootstrap percentile interval of
  ``|p1 - p2|``, it reaches down to 0 (or up to 1) when the data are compatible with parity.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from bias_checks._inputs import FloatArray

Bounds = tuple[FloatArray, FloatArray]


Level = float | np.ndarray[Any, Any]


def z_value(alpha: Level) -> FloatArray:
    """Two-sided standard normal quantile ``z`` with ``P(|Z| > z) = alpha``."""
    return z_tail(np.asarray(alpha, dtype=np.float64) / 2)


def z_tail(tail: Level) -> FloatArray:
    """One-sided standard normal quantile ``z`` with ``P(Z > z) = tail``."""
    # ndtri is the bare ufunc behind scipy.stats.norm.ppf, without its per-call overhead.
    return np.asarray(-ndtri(np.asarray(tail, dtype=np.float64)), dtype=np.float64)


def _wilson_end(q: FloatArray, n: FloatArray, z: FloatArray, sign: float) -> FloatArray:
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (q + z2 / (2 * n)) / denominator
    half = z * np.sqrt(q * (1 - q) / n + z2 / (4 * n * n)) / denominator
    return np.asarray(np.clip(centre + sign * half, 0.0, 1.0), dtype=np.float64)


def wilson_ends(
    p: np.ndarray[Any, Any], n: np.ndarray[Any, Any], low_tail: Level, high_tail: Level
) -> Bounds:
    """Wilson score limits with one-sided errors ``low_tail`` and ``high_tail``.

    Each end is the one-sided Wilson limit at its own level: the lower end equals the lower
    end of ``proportion_confint(method="wilson", alpha=2 * low_tail)``, the upper end the
    upper end of the same at ``alpha=2 * high_tail``.
    """
    p, n = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64))
    valid = (n > 0) & np.isfinite(p)
    safe_n = np.where(valid, n, 1.0)
    q = np.where(valid, np.clip(p, 0.0, 1.0), 0.0)
    low = np.where(q == 0.0, 0.0, _wilson_end(q, safe_n, z_tail(low_tail), -1.0))
    high = np.where(q == 1.0, 1.0, _wilson_end(q, safe_n, z_tail(high_tail), 1.0))
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def wilson(p: np.ndarray[Any, Any], n: np.ndarray[Any, Any], alpha: Level) -> Bounds:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (effective) rows."""
    half = np.asarray(alpha, dtype=np.float64) / 2
    return wilson_ends(p, n, half, half)


def newcombe_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
) -> Bounds:
    """Newcombe's hybrid score limits for ``p1 - p2`` with one-sided errors per end.

    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890 (method 10):
    ``[d - sqrt((p1-l1)**2 + (u2-p2)**2), d + sqrt((u1-p1)**2 + (p2-l2)**2)]`` with Wilson
    limits ``(l, u)`` of each rate. The lower end uses the Wilson limits ``l1, u2`` at
    ``low_tail``, the upper end ``u1, l2`` at ``high_tail`` (each end is a one-sided MOVER
    limit, Zou and Donner 2008, so the two levels are independent).
    """
    l1, _ = wilson_ends(p1, n1, low_tail, low_tail)
    _, u2 = wilson_ends(p2, n2, low_tail, low_tail)
    _, u1 = wilson_ends(p1, n1, high_tail, high_tail)
    l2, _ = wilson_ends(p2, n2, high_tail, high_tail)
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


def newcombe_difference(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    alpha: Level,
) -> Bounds:
    """Newcombe's hybrid score interval for the signed difference ``p1 - p2`` (two-sided)."""
    half = np.asarray(alpha, dtype=np.float64) / 2
    return newcombe_ends(p1, n1, p2, n2, low_tail=half, high_tail=half)


def log_ratio_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
) -> Bounds:
    """Adjusted log limits for the ratio ``p1 / p2`` with one-sided errors per end.

    0.5 is added to counts and sizes: Pettigrew, H. M., Gart, J. J. and Thomas, D. G. (1986).
    The bias and higher cumulants of the logarithm of a binomial variate. Biometrika 73,
    425-435; recommended for the ratio in Fagerland, Lydersen and Laake (2015), Stat. Methods
    Med. Res. 24, 224-254.
    """
    n1 = np.asarray(n1, dtype=np.float64)
    n2 = np.asarray(n2, dtype=np.float64)
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    c1 = np.where(valid, p1 * n1, 0.0) + 0.5
    c2 = np.where(valid, p2 * n2, 0.0) + 0.5
    m1, m2 = n1 + 0.5, n2 + 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log((c1 / m1) / (c2 / m2))
        se = np.sqrt(1 / c1 - 1 / m1 + 1 / c2 - 1 / m2)
        low = np.exp(centre - z_tail(low_tail) * se)
        high = np.exp(centre + z_tail(high_tail) * se)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def log_ratio(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    alpha: Level,
) -> Bounds:
    """Adjusted log interval for the ratio ``p1 / p2`` (two-sided)."""
    half = np.asarray(alpha, dtype=np.float64) / 2
    return log_ratio_ends(p1, n1, p2, n2, low_tail=half, high_tail=half)


def folded_difference(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
    clip: bool = True,
) -> Bounds:
    """Interval for ``|p1 - p2|`` whose lower end errs at most ``2 * low_tail`` and upper end
    at most ``high_tail``.

    The lower end is the fold of Newcombe's interval with both tails at ``low_tail`` (at
    parity either tail can put it above 0, hence twice the tail); the upper end the fold of
    the one with both tails at ``high_tail`` (only the tail on the side of the true sign can
    put it below ``|p1 - p2|``). With ``clip=False`` the lower end is its *reach*: the signed
    end toward 0 seen from the estimate's side, negative when the sign is open (the folded
    end is its positive part).
    """
    signed = newcombe_ends(p1, n1, p2, n2, low_tail=low_tail, high_tail=low_tail)
    if clip:
        low, _ = fold_difference(*signed)
    else:
        d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
        low = np.where(d >= 0, signed[0], -signed[1])
    _, high = fold_difference(
        *newcombe_ends(p1, n1, p2, n2, low_tail=high_tail, high_tail=high_tail)
    )
    return low, high


def folded_ratio(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
    clip: bool = True,
) -> Bounds:
    """Interval for ``min(p1/p2, p2/p1)`` whose lower end errs at most ``low_tail`` and upper
    end at most ``2 * high_tail`` (the mirror of :func:`folded_difference`: parity is 1; with
    ``clip=False`` the upper end is its reach, above 1 when the direction is open)."""
    low, _ = fold_ratio(*log_ratio_ends(p1, n1, p2, n2, low_tail=low_tail, high_tail=low_tail))
    signed = log_ratio_ends(p1, n1, p2, n2, low_tail=high_tail, high_tail=high_tail)
    return low, ratio_reach(*signed, p1, p2) if not clip else fold_ratio(*signed)[1]


def ratio_reach(
    low: np.ndarray[Any, Any],
    high: np.ndarray[Any, Any],
    p1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
) -> FloatArray:
    """Upper end of ``min(r, 1/r)`` from ``[low, high]`` for ``r = p1/p2``, before the fold
    clips it at 1: the signed end toward 1 seen from the estimate's side."""
    with np.errstate(divide="ignore", invalid="ignore"):
        below = np.asarray(p1, dtype=np.float64) <= np.asarray(p2, dtype=np.float64)
        return np.asarray(np.where(below, high, 1.0 / low), dtype=np.float64)


def fold_difference(low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]) -> Bounds:
    """Interval for ``|d|`` from an interval ``[low, high]`` for ``d``."""
    straddles = (low <= 0) & (high >= 0)
    folded_low = np.where(straddles, 0.0, np.minimum(np.abs(low), np.abs(high)))
    folded_high = np.maximum(np.abs(low), np.abs(high))
    return folded_low, folded_high


def fold_ratio(low: np.ndarray[Any, Any], high: np.ndarray[Any, Any]) -> Bounds:
    """Interval for ``min(r, 1/r)`` from an interval ``[low, high]`` for a ratio ``r > 0``."""
    with np.errstate(divide="ignore"):
        inv_low, inv_high = 1.0 / high, 1.0 / low
    straddles = (low <= 1) & (high >= 1)
    below = high < 1
    folded_low = np.where(straddles, np.minimum(low, inv_low), np.where(below, low, inv_low))
    folded_high = np.where(straddles, 1.0, np.where(below, high, inv_high))
    return folded_low, folded_high
