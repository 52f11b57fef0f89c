"""Closed-form confidence intervals for rates, and for differences and ratios of two rates.

Every function is vectorised over numpy arrays and takes ``alpha`` (one minus the
confidence level, already divided by the number of simultaneous comparisons where that
applies). Sizes ``n`` are (effective) denominators: with sample weights, Kish's effective
size ``(sum w)**2 / sum w**2`` of the rows in the denominator, so that the variance of a
weighted proportion ``p(1-p)/n_eff`` matches the design's. A size of zero gives NaN.

* :func:`wilson` — Wilson's score interval (Wilson 1927), as
  ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
* :func:`newcombe_difference` — Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe
  1998, method 10), as ``confint_proportions_2indep(method="newcomb", compare="diff")``.
* :func:`log_ratio` — the adjusted log interval for ``p1 / p2`` (0.5 added to counts and
  sizes; Pettigrew, Gart and Thomas 1986), as ``confint_proportions_2indep(
  method="log-adjusted", compare="ratio")``; it stays finite when a count is zero.
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


def z_value(alpha: float | np.ndarray[Any, Any]) -> FloatArray:
    """Two-sided standard normal quantile ``z`` with ``P(|Z| > z) = alpha``."""
    # ndtri is the bare ufunc behind scipy.stats.norm.ppf, without its per-call overhead.
    return np.asarray(-ndtri(np.asarray(alpha, dtype=np.float64) / 2), dtype=np.float64)


def wilson(
    p: np.ndarray[Any, Any], n: np.ndarray[Any, Any], alpha: float | np.ndarray[Any, Any]
) -> Bounds:
    """Wilson score interval for a proportion ``p`` observed on ``n`` (effective) rows."""
    p, n = np.broadcast_arrays(np.asarray(p, dtype=np.float64), np.asarray(n, dtype=np.float64))
    z = z_value(alpha)
    z2 = z * z
    valid = (n > 0) & np.isfinite(p)
    safe_n = np.where(valid, n, 1.0)
    q = np.where(valid, np.clip(p, 0.0, 1.0), 0.0)
    denominator = 1 + z2 / safe_n
    centre = (q + z2 / (2 * safe_n)) / denominator
    half = z * np.sqrt(q * (1 - q) / safe_n + z2 / (4 * safe_n * safe_n)) / denominator
    low = np.where(q == 0.0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(q == 1.0, 1.0, np.clip(centre + half, 0.0, 1.0))
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def newcombe_difference(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    alpha: float | np.ndarray[Any, Any],
) -> Bounds:
    """Newcombe's hybrid score interval for the signed difference ``p1 - p2``.

    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. Statistics in Medicine 17, 873-890 (method 10):
    ``[d - sqrt((p1-l1)**2 + (u2-p2)**2), d + sqrt((u1-p1)**2 + (p2-l2)**2)]`` with Wilson
    limits ``(l, u)`` of each rate.
    """
    l1, u1 = wilson(p1, n1, alpha)
    l2, u2 = wilson(p2, n2, alpha)
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


def log_ratio(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    alpha: float | np.ndarray[Any, Any],
) -> Bounds:
    """Adjusted log interval for the ratio ``p1 / p2`` (0.5 added to counts and sizes).

    Pettigrew, H. M., Gart, J. J. and Thomas, D. G. (1986). The bias and higher cumulants of
    the logarithm of a binomial variate. Biometrika 73, 425-435; recommended for the ratio
    in Fagerland, Lydersen and Laake (2015), Stat. Methods Med. Res. 24, 224-254.
    """
    n1 = np.asarray(n1, dtype=np.float64)
    n2 = np.asarray(n2, dtype=np.float64)
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    c1 = np.where(valid, p1 * n1, 0.0) + 0.5
    c2 = np.where(valid, p2 * n2, 0.0) + 0.5
    m1, m2 = n1 + 0.5, n2 + 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log((c1 / m1) / (c2 / m2))
        half = z_value(alpha) * np.sqrt(1 / c1 - 1 / m1 + 1 / c2 - 1 / m2)
    return np.where(valid, np.exp(centre - half), np.nan), np.where(
        valid, np.exp(centre + half), np.nan
    )


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
