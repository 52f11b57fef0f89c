"""The evidence a verdict is judged on: values, simultaneous intervals and pairs over the
groups that can be judged.

For a rate metric every interval is closed-form (see :mod:`bias_checks._intervals`) and holds
*simultaneously* over the comparisons a number summarises, by Bonferroni's inequality: with
``k`` judged groups, ``max - min`` and ``min / max`` are bounded through all ``k(k-1)/2``
pairwise intervals at level ``alpha / (k(k-1)/2)``; ``to_overall`` and ``to_reference``
through ``k`` (or ``k - 1``) comparisons at ``alpha / k``; the worst group of a base metric
through ``k`` Wilson intervals at ``alpha / k``. If every pairwise interval covers its truth
(probability at least ``1 - alpha``), the extreme over pairs is covered too.

``to_overall`` uses the identity ``p_g - p_all = (1 - s_g)(p_g - p_rest)``, where ``s_g`` is
the group's (weighted) share of the rate's denominator and ``p_rest`` the rate over the other
rows of the control level: the overall rate is not independent of the group, but the rest
is. The ratio ``p_g / p_all = t / (s_g t + 1 - s_g)`` with ``t = p_g / p_rest`` is
increasing in ``t``, so an interval for ``t`` maps onto one for the ratio.

Metrics that are not rates (balanced accuracy, regression errors) keep the stratified
percentile bootstrap of the judged groups' statistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from bias_checks._disparities import OVERALL, Agg, Method, Transform
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._intervals import (
    fold_difference,
    fold_ratio,
    log_ratio,
    newcombe_difference,
    wilson,
)

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True)
class RateStats:
    """Numerator, denominator and denominator weight squares (L, G) of one rate metric."""

    num: FloatArray
    den: FloatArray
    den_sq: FloatArray

    @property
    def p(self) -> FloatArray:
        out = np.full(self.num.shape, np.nan)
        np.divide(self.num, self.den, out=out, where=self.den > 0)
        return out

    @property
    def n_eff(self) -> FloatArray:
        """Kish effective size ``(sum w)**2 / sum w**2`` (the row count without weights)."""
        out = np.zeros(self.den.shape)
        np.divide(self.den**2, self.den_sq, out=out, where=self.den_sq > 0)
        return out


@dataclass(frozen=True)
class Judged:
    """Per-entry evidence, arrays of shape (L, C); NaN where fewer than two groups judge."""

    value: FloatArray
    low: FloatArray
    high: FloatArray
    first: IntArray
    second: IntArray
    component: IntArray | None
    n_judged: IntArray
    method: str


def _empty(shape: tuple[int, int], method: str) -> Judged:
    nan = np.full(shape, np.nan)
    zero = np.zeros(shape, dtype=np.intp)
    return Judged(nan, nan.copy(), nan.copy(), zero, zero.copy(), None, zero.copy(), method)


def _between(
    p: FloatArray, n: FloatArray, members: IntArray, transform: Transform, alpha: float
) -> tuple[float, float, float, int, int]:
    pairs = np.array(list(combinations(range(members.size), 2)), dtype=np.intp)
    i, j = pairs[:, 0], pairs[:, 1]
    a = alpha / len(pairs)
    pm, nm = p[members], n[members]
    top, bottom = int(np.argmax(pm)), int(np.argmin(pm))
    if transform == "difference":
        low, high = fold_difference(*newcombe_difference(pm[i], nm[i], pm[j], nm[j], a))
        value = float(pm[top] - pm[bottom])
        return value, float(low.max()), float(high.max()), int(members[top]), int(members[bottom])
    low, high = fold_ratio(*log_ratio(pm[i], nm[i], pm[j], nm[j], a))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(pm[bottom] / pm[top])
    return value, float(low.min()), float(high.min()), int(members[bottom]), int(members[top])


def _to_target(
    p: FloatArray,
    n: FloatArray,
    members: IntArray,
    *,
    target: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    transform: Transform,
    alpha: float,
) -> tuple[float, float, float, int]:
    """Compare each member with a target: ``(p_target, n_target, share, p_point_target)``.

    ``share`` is zero for an independent target (a reference group); for the overall rate it
    is the group's share and the target is the rest of the control level.
    """
    p_t, n_t, share, point_t = target
    a = alpha / members.size
    pm, nm = p[members], n[members]
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "difference":
            low, high = newcombe_difference(pm, nm, p_t, n_t, a)
            scale = 1.0 - share
            low, high = fold_difference(
                np.where(scale > 0, low * scale, 0.0), np.where(scale > 0, high * scale, 0.0)
            )
            gaps = np.abs(pm - point_t)
            worst = int(np.nanargmax(gaps))
            return float(gaps[worst]), float(low.max()), float(high.max()), int(members[worst])
        low, high = log_ratio(pm, nm, p_t, n_t, a)
        low = low / (share * low + 1 - share)
        high = np.where(np.isinf(high), 1 / share, high / (share * high + 1 - share))
        low, high = fold_ratio(low, high)
        ratios = pm / point_t
        ratios = np.where(ratios > 1, 1 / ratios, ratios)
    worst = int(np.nanargmin(ratios)) if not np.isnan(ratios).all() else 0
    return float(ratios[worst]), float(low.min()), float(high.min()), int(members[worst])


def rate_disparity(
    stats: RateStats,
    overall: RateStats,
    *,
    judged: BoolArray,
    control_of: IntArray,
    transform: Transform,
    method: Method,
    references: IntArray | None,
    alpha: float,
) -> Judged:
    """Disparity of one rate over the judged groups, with simultaneous intervals.

    ``alpha`` is the error allowed per entry (label and control level).
    """
    n_labels, n_control = overall.num.shape
    out = _empty((n_labels, n_control), "newcombe" if transform == "difference" else "log_ratio")
    p, n = stats.p, stats.n_eff
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            out.n_judged[label, c] = members.size
            if members.size < 2:
                continue
            row_p, row_n = p[label], n[label]
            if method == "between_groups":
                value, low, high, first, second = _between(row_p, row_n, members, transform, alpha)
            elif method == "to_overall":
                rest = RateStats(
                    overall.num[label, c] - stats.num[label, members],
                    overall.den[label, c] - stats.den[label, members],
                    overall.den_sq[label, c] - stats.den_sq[label, members],
                )
                share = stats.den[label, members] / overall.den[label, c]
                target = (rest.p, rest.n_eff, share, overall.p[label, c])
                value, low, high, first = _to_target(
                    row_p, row_n, members, target=target, transform=transform, alpha=alpha
                )
                second = OVERALL
            else:
                assert references is not None
                second = int(references[label, c])
                if not judged[label, second]:
                    continue
                others = members[members != second]
                target = (row_p[second], row_n[second], np.zeros(others.size), row_p[second])
                value, low, high, first = _to_target(
                    row_p, row_n, others, target=target, transform=transform, alpha=alpha
                )
            out.value[label, c], out.low[label, c], out.high[label, c] = value, low, high
            out.first[label, c], out.second[label, c] = first, second
    return out


def combine_components(tpr: Judged, fpr: Judged, transform: Transform, agg: Agg) -> Judged:
    """Equalized odds from its TPR and FPR parts (each judged at half the error)."""
    difference = transform == "difference"
    if agg == "worst_case":
        take_fpr = fpr.value > tpr.value if difference else fpr.value < tpr.value
        value = np.where(take_fpr, fpr.value, tpr.value)
        pick = np.fmax if difference else np.fmin
        low, high = pick(tpr.low, fpr.low), pick(tpr.high, fpr.high)
    else:
        take_fpr = fpr.value > tpr.value if difference else fpr.value < tpr.value
        value = (tpr.value + fpr.value) / 2
        low, high = (tpr.low + fpr.low) / 2, (tpr.high + fpr.high) / 2
    undefined = np.isnan(tpr.value) | np.isnan(fpr.value)
    nan = np.full(value.shape, np.nan)
    return Judged(
        np.where(undefined, nan, value),
        np.where(undefined, nan, low),
        np.where(undefined, nan, high),
        np.where(take_fpr, fpr.first, tpr.first),
        np.where(take_fpr, fpr.second, tpr.second),
        take_fpr.astype(np.intp),
        np.minimum(tpr.n_judged, fpr.n_judged),
        f"{tpr.method}_bonferroni_over_components",
    )


def rate_extreme(
    stats: RateStats, *, judged: BoolArray, control_of: IntArray, upper: bool, alpha: float
) -> Judged:
    """The worst judged group's rate (largest for an upper bound) with a simultaneous interval."""
    n_labels, n_control = judged.shape[0], int(control_of.max()) + 1
    out = _empty((n_labels, n_control), "wilson")
    p, n = stats.p, stats.n_eff
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            out.n_judged[label, c] = members.size
            if members.size == 0:
                continue
            low, high = wilson(p[label, members], n[label, members], alpha / members.size)
            values = p[label, members]
            worst = int(np.argmax(values) if upper else np.argmin(values))
            reduce = np.max if upper else np.min
            out.value[label, c] = values[worst]
            out.low[label, c], out.high[label, c] = reduce(low), reduce(high)
            out.first[label, c], out.second[label, c] = members[worst], OVERALL
    return out
