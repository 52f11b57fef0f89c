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
* :func:`score_ratio` — Miettinen and Nurminen's score interval for ``p1 / p2``, as
  ``confint_proportions_2indep(method="score", compare="ratio")`` (whose default includes
  their ``N / (N - 1)`` correction); 0 or infinite at an end where a count is zero.
* :func:`folded_difference` and :func:`folded_ratio` give intervals for ``|p1 - p2|`` and
  ``min(p1/p2, p2/p1)`` whose two ends have different error levels.
* :func:`fold_difference` and :func:`fold_ratio` turn an interval for a signed difference
  or a ratio into one for ``|p1 - p2|`` or ``min(p1/p2, p2/p1)``, the forms Fairlearn
  reports. The folded interval contains the folded truth whenever the signed one contains
  the signed truth, so coverage carries over and, unlike a bootstrap percentile interval of
  ``|p1 - p2|``, it reaches down to 0 (or up to 1) when the data are compatible with parity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import ndtri

from bias_checks._batched import remembered
from bias_checks._inputs import FloatArray
from bias_checks._roots import falling_root
from bias_checks._skewed_score import laud_corrected, scas_difference_ends

Bounds = tuple[FloatArray, FloatArray]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


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
    l1, u1 = wilson_ends(p1, n1, low_tail, high_tail)
    l2, u2 = wilson_ends(p2, n2, high_tail, low_tail)
    d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


@remembered
def outer_difference_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
) -> Bounds:
    """Limits for ``p1 - p2`` that are, at each end, the outer of Newcombe's and the SCAS
    limits (:mod:`bias_checks._skewed_score`): an end misses the truth only where both miss,
    so it errs at most the smaller of their errors. The end a PASS rests on: Newcombe's alone
    errs up to 6.3 % at a one-sided 2.5 % with one or two events in a small group beside a
    large one, SCAS alone up to 3.5 % at 15-20 rows, their outer end at most 2.9 % from 20
    rows on (``benchmarks/pass_end_small_counts.py``, exact)."""
    low, high = newcombe_ends(p1, n1, p2, n2, low_tail=low_tail, high_tail=high_tail)
    s_low, s_high = scas_difference_ends(
        p1, n1, p2, n2, low_z=z_tail(low_tail), high_z=z_tail(high_tail)
    )
    return np.minimum(low, s_low), np.maximum(high, s_high)


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


def _score_statistic(
    x1: FloatArray, n1: FloatArray, x2: FloatArray, n2: FloatArray, skewed: BoolArray
) -> Callable[[FloatArray, Any], FloatArray]:
    """Miettinen and Nurminen's score statistic for ``p1 / p2 = ratio``, as a function of the
    ratio and of which elements to take: ``p1 - ratio p2`` over its standard error at the rates
    restricted to the hypothesis (their maximum likelihood estimates, the smaller root of a
    quadratic), times the small-sample factor ``N / (N - 1)``. What does not depend on the
    ratio is computed once.

    The quadratic is ``N r q**2 - b q + c = 0`` with ``b = r A + B``, ``A = n1 + x2``,
    ``B = x1 + n2``; its discriminant ``b**2 - 4 N r c`` equals ``(r A - B)**2 + 4 r (n1 -
    x1)(n2 - x2)``, a sum of two non-negative terms, which keeps its precision where the first
    form cancels (``r`` near 1 with every row of a group an event). Where ``skewed``, the
    statistic is Laud's (2017) skewness-corrected one (SCAS; :func:`laud_corrected`, with the
    third moment ``q1(1-q1)(1-2q1)/n1**2 - r**3 q2(1-q2)(1-2q2)/n2**2``).
    """
    total, count = n1 + n2, x1 + x2
    first, second = n1 + x2, x1 + n2
    cross = 4 * np.clip((n1 - x1) * (n2 - x2), 0.0, None)
    factor = np.ones(np.shape(total))
    np.divide(total, total - 1, out=factor, where=total > 1)
    one_row = total <= 1  # one row in all: no ratio can be rejected
    p1, p2 = x1 / n1, x2 / n2

    def statistic(ratio: FloatArray, at: Any = ...) -> FloatArray:
        b = ratio * first[at] + second[at]
        root = np.sqrt((ratio * first[at] - second[at]) ** 2 + ratio * cross[at])
        q2 = np.zeros(np.shape(b))
        np.divide(2 * count[at], b + root, out=q2, where=b + root > 0)  # the smaller root
        q2 = np.minimum(np.maximum(q2, 0.0), np.minimum(1.0, 1.0 / ratio))  # the last rounding
        q1 = np.minimum(q2 * ratio, 1.0)
        var = (q1 * (1 - q1) / n1[at] + ratio * ratio * q2 * (1 - q2) / n2[at]) * factor[at]
        var[one_row[at]] = np.inf
        out = np.zeros(np.shape(var))
        np.divide(p1[at] - ratio * p2[at], np.sqrt(var), out=out, where=var > 0)
        skew = skewed[at]
        if not np.any(skew):
            return out
        third = q1 * (1 - q1) * (1 - 2 * q1) / n1[at] ** 2
        third = third - ratio**3 * q2 * (1 - q2) * (1 - 2 * q2) / n2[at] ** 2
        return np.where(skew & (var > 0), laud_corrected(out, third, var), out)

    return statistic


_LOG_RANGE = 40.0
"""Limits are searched for between ``exp(-40)`` and ``exp(40)``; beyond, 0 and infinity."""


def score_ratio_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
) -> Bounds:
    """Score limits for the ratio ``p1 / p2`` with one-sided errors per end.

    The interval inverts Miettinen and Nurminen's score test (Miettinen, O. and Nurminen, M.
    (1985). Comparative analysis of two rates. Stat. Med. 4, 213-226): the lower end is the
    ratio at which the statistic equals ``z(low_tail)``, the upper the one at which it equals
    ``-z(high_tail)``. It keeps its coverage with few events, where the adjusted log interval
    does not (Fagerland, Lydersen and Laake (2015), Stat. Methods Med. Res. 24, 224-254). No
    library vectorises it (statsmodels solves Nam's quartic one pair at a time, with
    ``np.roots``), so the statistic, decreasing in the ratio, is solved on the log scale for
    every comparison and both ends at once (:func:`_invert`). A zero ``p1`` gives a lower end
    of 0, a zero ``p2`` an infinite upper end.
    """
    low, high = _score_limits(p1, n1, p2, n2, z_tail(low_tail), -z_tail(high_tail))
    return low, high


def score_ratio_at(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    tails: tuple[Level, ...],
    *,
    outer: tuple[bool, ...] = (),
) -> list[Bounds]:
    """Score limits for ``p1 / p2`` with both ends at each one-sided tail of ``tails``, all
    found in one search (each call of :func:`score_ratio_ends` is one search). Where
    ``outer`` marks a tail, its limits are the outer of Miettinen and Nurminen's and Laud's
    skewness-corrected ones (SCAS): the ends a PASS rests on, as for differences
    (:func:`outer_difference_ends`); each errs at most the smaller of the two's errors."""
    zs = [z_tail(tail) for tail in tails]
    marked = outer or (False,) * len(tails)
    skewed_zs = [z for z, mark in zip(zs, marked, strict=True) if mark]
    targets = [x for z in (*zs, *skewed_zs) for x in (z, -z)]
    flags = (False,) * (2 * len(zs)) + (True,) * (2 * len(skewed_zs))
    ends = _score_limits(p1, n1, p2, n2, *targets, skewed=flags)
    out, extra = [], 2 * len(zs)
    for i, mark in enumerate(marked):
        low, high = ends[2 * i], ends[2 * i + 1]
        if mark:
            low, high = np.minimum(low, ends[extra]), np.maximum(high, ends[extra + 1])
            extra += 2
        out.append((low, high))
    return out


@remembered
def _score_limits(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *targets: FloatArray,
    skewed: tuple[bool, ...] = (),
) -> tuple[FloatArray, ...]:
    """The ratios at which the score statistic equals each of ``targets`` (a lower end at
    ``+z``, an upper end at ``-z``), all found in one search; NaN where a size is not positive
    or a rate undefined. ``skewed`` marks the targets for Laud's corrected statistic (none by
    default)."""
    p1, n1, p2, n2, *levels = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (p1, n1, p2, n2, *targets))
    )
    valid = (n1 > 0) & (n2 > 0) & np.isfinite(p1) & np.isfinite(p2)
    x1 = np.where(valid, p1 * n1, 0.0)
    x2 = np.where(valid, p2 * n2, 0.0)
    m1, m2 = np.where(valid, n1, 1.0), np.where(valid, n2, 1.0)
    a1, b1, a2, b2 = (np.tile(x.ravel(), len(levels)) for x in (x1, m1, x2, m2))
    flags = np.repeat(np.asarray(skewed or (False,) * len(levels), dtype=bool), x1.size)
    target = np.concatenate([level.ravel() for level in levels])
    ends = _invert(a1, b1, a2, b2, target=target, skewed=flags)
    return tuple(
        np.where(valid, end.reshape(valid.shape), np.nan) for end in np.split(ends, len(levels))
    )


def _invert(
    x1: FloatArray,
    n1: FloatArray,
    x2: FloatArray,
    n2: FloatArray,
    *,
    target: FloatArray,
    skewed: BoolArray,
) -> FloatArray:
    """The ratio at which the score statistic equals ``target``: 0 or infinity where it does
    not within ``exp(+-40)``.

    The search (:func:`falling_root`) starts from a bracket of two standard errors (at most
    one unit) of log ratio on either side of the adjusted log limit (Wald on the log scale,
    0.5 added to counts), widened to the edge on a side where it does not bracket (a rate of
    exactly 1 makes the statistic flat in places). The narrow bracket takes about half the
    steps of a unit-wide one with large groups.
    """

    statistic = _score_statistic(x1, n1, x2, n2, skewed)

    def f(t: FloatArray, at: Any = ...) -> FloatArray:
        return np.asarray(statistic(np.exp(t), at) - target[at], dtype=np.float64)

    c1, c2, s1, s2 = x1 + 0.5, x2 + 0.5, n1 + 0.5, n2 + 0.5
    sd = np.sqrt(1 / c1 - 1 / s1 + 1 / c2 - 1 / s2)
    guess = np.log((c1 / s1) / (c2 / s2)) - target * sd
    guess = np.clip(guess, 1 - _LOG_RANGE, _LOG_RANGE - 1)
    edges = np.full(guess.shape, _LOG_RANGE)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.clip(np.log(x1 / n1) - np.log(x2 / n2), -edges, edges)
    estimate = np.where(np.isnan(estimate), guess, estimate)
    b, none_below, none_above = falling_root(
        f, guess, np.minimum(2 * sd + 1e-3, 1.0), -edges, edges, recheck=skewed, estimate=estimate
    )
    out = np.exp(b)
    out[none_below] = 0.0
    out[none_above] = np.inf
    return out


def score_ratio(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    alpha: Level,
) -> Bounds:
    """Miettinen and Nurminen's score interval for the ratio ``p1 / p2`` (two-sided)."""
    half = np.asarray(alpha, dtype=np.float64) / 2
    return score_ratio_ends(p1, n1, p2, n2, low_tail=half, high_tail=half)


def outer_ratio_ends(
    p1: np.ndarray[Any, Any],
    n1: np.ndarray[Any, Any],
    p2: np.ndarray[Any, Any],
    n2: np.ndarray[Any, Any],
    *,
    low_tail: Level,
    high_tail: Level,
) -> Bounds:
    """Limits for ``p1 / p2`` that are, at each end, the outer of Miettinen and Nurminen's and
    the SCAS limits (the ratio's :func:`outer_difference_ends`), in one search."""
    (low, _), (_, high) = score_ratio_at(p1, n1, p2, n2, (low_tail, high_tail), outer=(True, True))
    return low, high


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

    Both ends fold :func:`outer_difference_ends` (the outer of Newcombe's and the SCAS
    limits), found in one search: the lower end with both tails at ``low_tail`` (at parity
    either tail can put it above 0, hence twice the tail), the upper end with both at
    ``high_tail`` (only the tail on the side of the true sign can put it below ``|p1 -
    p2|``). With ``clip=False`` the lower end is its *reach*: the signed end toward 0 seen
    from the estimate's side, negative when the sign is open (the folded end is its positive
    part).
    """
    shape = np.broadcast_shapes(*(np.shape(x) for x in (p1, n1, p2, n2, low_tail, high_tail)))
    tails = np.stack(
        [np.broadcast_to(np.asarray(t, dtype=np.float64), shape) for t in (low_tail, high_tail)]
    )
    lows, highs = outer_difference_ends(p1, n1, p2, n2, low_tail=tails, high_tail=tails)
    if clip:
        low, _ = fold_difference(lows[0], highs[0])
    else:
        d = np.asarray(p1, dtype=np.float64) - np.asarray(p2, dtype=np.float64)
        low = np.where(d >= 0, lows[0], -highs[0])
    _, high = fold_difference(lows[1], highs[1])
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
    ``clip=False`` the upper end is its reach, above 1 when the direction is open). The lower
    end, on which a PASS rests, and the upper, on which a FAIL rests, fold the outer of the
    score and SCAS limits (:func:`score_ratio_at`)."""
    (a, b), (c, d) = score_ratio_at(p1, n1, p2, n2, (low_tail, high_tail), outer=(True, True))
    low, _ = fold_ratio(a, b)
    return low, ratio_reach(c, d, p1, p2) if not clip else fold_ratio(c, d)[1]


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
