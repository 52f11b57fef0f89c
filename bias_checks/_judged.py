"""The evidence a verdict is judged on: values, simultaneous intervals and pairs over the
groups that can be judged.

For a rate metric every interval is closed-form (see :mod:`bias_checks._intervals`) and holds
*simultaneously* over the comparisons a number summarises. Only one end needs the
multiplicity adjustment. Take ``theta = max |d_ij|`` over ``m`` comparisons with folded
intervals ``[lo_ij, hi_ij]`` and ``L = max lo_ij``, ``U = max hi_ij``: ``L > theta`` happens
if *any* comparison has ``lo_ij > |d_ij|`` (a union, so each gets ``alpha / 2m``, Bonferroni),
while ``U < theta`` needs the comparison attaining ``theta`` to have ``hi < |d*|`` (one
comparison, ``alpha / 2`` with no adjustment). So the *safe* end, the one that says "at least
this bad" and on which FAIL rests, is adjusted; the other end, on which PASS rests, is not.
A fair model therefore FAILs with probability at most ``alpha`` (at parity both signs of every
comparison count), a model beyond the bound PASSes with at most ``alpha / 2``, and power does
not fall with the number of groups. Ratios (``min / max``: lower is worse) mirror it: the upper
end is adjusted. ``m`` is ``k(k-1)/2`` pairs for ``between_groups``, ``k`` groups for
``to_overall``, ``k - 1`` for ``to_reference`` and ``k`` Wilson limits for the worst group of
a base rate. Equalized odds shares the safe half over its two parts too (see
:func:`combine_components`).

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
    fold_ratio,
    folded_difference,
    folded_ratio,
    log_ratio_ends,
    wilson_ends,
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


@dataclass(frozen=True)
class Split:
    """One-sided error of each end of a disparity's interval.

    ``safe`` is the error of the end that says "at least this bad" (the lower end of a
    difference, the upper end of a ratio), shared by Bonferroni over the comparisons a number
    summarises; ``unsafe`` is the error of the other end, which no comparison but the one
    attaining the disparity can breach, so it is never shared over comparisons.
    """

    safe: float
    unsafe: float

    @classmethod
    def of(cls, alpha: float, components: int = 1) -> Split:
        """Half of ``alpha`` to each end; the safe half shared by ``components`` too."""
        return cls(alpha / 2 / components, alpha / 2)


def _folded(
    transform: Transform,
    p1: FloatArray,
    n1: FloatArray,
    p2: FloatArray,
    n2: FloatArray,
    *,
    split: Split,
    comparisons: int,
) -> tuple[FloatArray, FloatArray]:
    safe = split.safe / comparisons
    if transform == "difference":
        return folded_difference(p1, n1, p2, n2, low_tail=safe, high_tail=split.unsafe)
    return folded_ratio(p1, n1, p2, n2, low_tail=split.unsafe, high_tail=safe)


def _between(
    p: FloatArray, n: FloatArray, members: IntArray, transform: Transform, split: Split
) -> tuple[float, float, float, int, int]:
    pairs = np.array(list(combinations(range(members.size), 2)), dtype=np.intp)
    i, j = pairs[:, 0], pairs[:, 1]
    pm, nm = p[members], n[members]
    top, bottom = int(np.argmax(pm)), int(np.argmin(pm))
    low, high = _folded(transform, pm[i], nm[i], pm[j], nm[j], split=split, comparisons=len(pairs))
    if transform == "difference":
        value = float(pm[top] - pm[bottom])
        return value, float(low.max()), float(high.max()), int(members[top]), int(members[bottom])
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
    split: Split,
) -> tuple[float, float, float, int]:
    """Compare each member with a target: ``(p_target, n_target, share, p_point_target)``.

    ``share`` is zero for an independent target (a reference group); for the overall rate it
    is the group's share and the target is the rest of the control level.
    """
    p_t, n_t, share, point_t = target
    pm, nm = p[members], n[members]
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "difference":
            low, high = _folded(transform, pm, nm, p_t, n_t, split=split, comparisons=members.size)
            scale = np.clip(1.0 - share, 0.0, None)  # |p_g - p_all| = (1 - s_g)|p_g - p_rest|
            low, high = low * scale, high * scale
            gaps = np.abs(pm - point_t)
            worst = int(np.nanargmax(gaps))
            return float(gaps[worst]), float(low.max()), float(high.max()), int(members[worst])
        ends = []
        for tail in (split.unsafe, split.safe / members.size):
            r_low, r_high = log_ratio_ends(pm, nm, p_t, n_t, low_tail=tail, high_tail=tail)
            r_low = r_low / (share * r_low + 1 - share)
            r_high = np.where(np.isinf(r_high), 1 / share, r_high / (share * r_high + 1 - share))
            ends.append(fold_ratio(r_low, r_high))
        low, high = ends[0][0], ends[1][1]
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
    components: int = 1,
) -> Judged:
    """Disparity of one rate over the judged groups, with simultaneous intervals.

    ``alpha`` is the error allowed per entry (label and control level); ``components`` the
    number of rates the entry combines (2 for equalized odds), over which the safe end's
    error is shared too.
    """
    split = Split.of(alpha, components)
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
                value, low, high, first, second = _between(row_p, row_n, members, transform, split)
            elif method == "to_overall":
                rest = RateStats(
                    overall.num[label, c] - stats.num[label, members],
                    overall.den[label, c] - stats.den[label, members],
                    overall.den_sq[label, c] - stats.den_sq[label, members],
                )
                share = stats.den[label, members] / overall.den[label, c]
                target = (rest.p, rest.n_eff, share, overall.p[label, c])
                value, low, high, first = _to_target(
                    row_p, row_n, members, target=target, transform=transform, split=split
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
                    row_p, row_n, others, target=target, transform=transform, split=split
                )
            out.value[label, c], out.low[label, c], out.high[label, c] = value, low, high
            out.first[label, c], out.second[label, c] = first, second
    return out


def combine_components(tpr: Judged, fpr: Judged, transform: Transform, agg: Agg) -> Judged:
    """Equalized odds from its TPR and FPR parts.

    The parts come from :func:`rate_disparity` with ``components=2``: each safe end at a
    quarter of the error, each unsafe end at half. ``worst_case`` is the larger difference
    (smaller ratio) of the parts: its safe end is breached if either part's is (a union), its
    unsafe end only if the part attaining it breaches its own. ``mean`` averages the safe ends
    (breached only if a part's is) and combines the unsafe ends by MOVER (Zou and Donner
    2008, "Construction of confidence limits about effect measures", Stat. Med. 27,
    1693-1702): ``v + sqrt(sum (u_c - v_c)**2)`` for the sum of the two independent parts (TPR
    on positives, FPR on negatives), halved.
    """
    difference = transform == "difference"
    take_fpr = fpr.value > tpr.value if difference else fpr.value < tpr.value
    if agg == "worst_case":
        value = np.where(take_fpr, fpr.value, tpr.value)
        pick = np.fmax if difference else np.fmin
        low, high = pick(tpr.low, fpr.low), pick(tpr.high, fpr.high)
    else:
        value = (tpr.value + fpr.value) / 2
        if difference:
            low = (tpr.low + fpr.low) / 2
            spread = np.hypot(tpr.high - tpr.value, fpr.high - fpr.value)
            high = value + spread / 2
        else:
            high = (tpr.high + fpr.high) / 2
            spread = np.hypot(tpr.value - tpr.low, fpr.value - fpr.low)
            low = value - spread / 2
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
    """The worst judged group's rate (largest for an upper bound) with a simultaneous interval.

    The safe end (lower for the largest rate, upper for the smallest) is breached if any
    group's Wilson limit is, so it is shared over the ``k`` groups (``alpha / 2k`` each); the
    other end only if the worst group's own limit is (``alpha / 2``).
    """
    n_labels, n_control = judged.shape[0], int(control_of.max()) + 1
    out = _empty((n_labels, n_control), "wilson")
    p, n = stats.p, stats.n_eff
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            out.n_judged[label, c] = members.size
            if members.size == 0:
                continue
            safe = alpha / 2 / members.size
            tails = (safe, alpha / 2) if upper else (alpha / 2, safe)
            low, high = wilson_ends(p[label, members], n[label, members], *tails)
            values = p[label, members]
            worst = int(np.argmax(values) if upper else np.argmin(values))
            reduce = np.max if upper else np.min
            out.value[label, c] = values[worst]
            out.low[label, c], out.high[label, c] = reduce(low), reduce(high)
            out.first[label, c], out.second[label, c] = members[worst], OVERALL
    return out
