"""The evidence a verdict is judged on: values, simultaneous intervals and pairs over the
groups that can be judged.

For a rate metric every interval is closed-form (see :mod:`bias_checks._intervals`) and holds
*simultaneously* over the comparisons a number summarises. Only one end needs the
multiplicity adjustment. Take ``theta = max |d_ij|`` over ``m`` comparisons with folded
intervals ``[lo_ij, hi_ij]`` and ``L = max lo_ij``, ``U = max hi_ij``: ``L > theta`` happens
if *any* comparison has ``lo_ij > |d_ij|`` (a union: each signed end sits at the one-sided
tail of the simultaneous critical value of all ``m`` comparisons, see
:mod:`bias_checks._simultaneous`; ``alpha / 2`` for one), while ``U < theta`` needs the
comparison attaining ``theta`` to have ``hi < |d*|`` (one comparison, ``alpha / 2`` with no
adjustment). So the *safe* end, the one that says "at least this bad" and on which FAIL
rests, is adjusted; the other end, on which PASS rests, is not. A fair model therefore FAILs
with probability at most ``alpha`` (at parity both signs of every comparison count), a model
beyond the bound PASSes with at most ``alpha / 2``, and power does not fall with the number of
groups. Ratios (``min / max``: lower is worse) mirror it: the upper end is adjusted. ``m`` is
``k(k-1)/2`` pairs for ``between_groups`` (Tukey), ``k`` groups for ``to_overall``, ``k - 1``
for ``to_reference`` (Dunnett) and ``k`` independent Wilson limits for the worst group of a
base rate (Sidak). Equalized odds shares the safe half over its two parts too (see
:func:`bias_checks._components.combine_components`).

``to_overall`` uses the identity ``p_g - p_all = (1 - s_g)(p_g - p_rest)``, where ``s_g`` is
the group's (weighted) share of the rate's denominator and ``p_rest`` the rate over the other
rows of the control level: the overall rate is not independent of the group, but the rest
is. The ratio ``p_g / p_all = t / (s_g t + 1 - s_g)`` with ``t = p_g / p_rest`` is
increasing in ``t``, so an interval for ``t`` maps onto one for the ratio.

Metrics that are not rates (balanced accuracy, regression errors) keep the stratified
percentile bootstrap of the judged groups' statistic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np

from bias_checks._batched import run_entries
from bias_checks._belt import belt_end
from bias_checks._belt_overall import overall_end
from bias_checks._disparities import OVERALL, Method, Transform, first_max, first_min
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._intervals import (
    fold_ratio,
    folded_difference,
    folded_ratio,
    ratio_reach,
    score_ratio_at,
    wilson_ends,
)
from bias_checks._rate_stats import RateStats
from bias_checks._simultaneous import Structure, comparison_tail, sidak_tail

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


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
    reach: FloatArray | None = None
    """The safe end before the fold clips it at parity; NaN unless the entry is one comparison
    of two rates."""


def _empty(shape: tuple[int, int], method: str) -> Judged:
    nan = np.full(shape, np.nan)
    zero = np.zeros(shape, dtype=np.intp)
    return Judged(
        nan, nan.copy(), nan.copy(), zero, zero.copy(), None, zero.copy(), method, nan.copy()
    )


@dataclass(frozen=True)
class Split:
    """One-sided error of each end of a disparity's interval.

    ``safe`` is the error of each sign of the end that says "at least this bad" (the lower
    end of a difference, the upper end of a ratio), shared over the comparisons a number
    summarises by their simultaneous critical value (:mod:`bias_checks._simultaneous`; at
    parity both signs count, so ``2 * safe`` is what all comparisons together may err);
    ``unsafe`` is the error of the other end, which no comparison but the one attaining the
    disparity can breach, so it is never shared over comparisons, entries or components.
    """

    safe: float
    unsafe: float

    @classmethod
    def of(cls, alpha: float, components: int = 1, entries: int = 1) -> Split:
        """Half of ``alpha`` to each end; the safe half shared by ``components`` and by the
        ``entries`` (labels, control levels) of a check, since any of them can FAIL it."""
        return cls(alpha / 2 / components / max(entries, 1), alpha / 2)

    @property
    def share(self) -> float:
        """How many ways the safe end's error is shared (components times entries)."""
        return self.unsafe / self.safe

    def tail(
        self,
        structure: Structure,
        sizes: FloatArray,
        *,
        reference: float = 0.0,
        shares: FloatArray | None = None,
        overall: float = 0.0,
    ) -> float:
        """One-sided tail of each comparison's safe end, simultaneous over the comparisons."""
        return comparison_tail(
            structure,
            sizes,
            alpha=2 * self.safe,
            reference=reference,
            shares=shares,
            overall=overall,
        )


def _folded(
    transform: Transform,
    p1: FloatArray,
    n1: FloatArray,
    p2: FloatArray,
    n2: FloatArray,
    *,
    safe: float,
    unsafe: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Folded ``(low, high)`` per comparison, and the safe end's reach before the fold;
    ``safe`` is the one-sided tail of each sign of the safe end, ``unsafe`` of the other."""
    if transform == "difference":
        reach, high = folded_difference(p1, n1, p2, n2, low_tail=safe, high_tail=unsafe, clip=False)
        return np.maximum(reach, 0.0), high, reach
    low, reach = folded_ratio(p1, n1, p2, n2, low_tail=unsafe, high_tail=safe, clip=False)
    return low, np.minimum(reach, 1.0), reach


def _single(reach: FloatArray) -> float:
    """The reach of a disparity that is one comparison; NaN for an extreme over several (the
    width of the comparison attaining it is not known, so no reach is claimed)."""
    return float(reach[0]) if reach.size == 1 else np.nan


def _between(
    p: FloatArray, n: FloatArray, members: IntArray, transform: Transform, split: Split
) -> tuple[float, float, float, float, int, int]:
    pairs = np.array(list(combinations(range(members.size), 2)), dtype=np.intp)
    i, j = pairs[:, 0], pairs[:, 1]
    pm, nm = p[members], n[members]
    top, bottom = first_max(pm), first_min(pm)
    safe = split.tail("pairs", nm)
    low, high, reach = _folded(
        transform, pm[i], nm[i], pm[j], nm[j], safe=safe, unsafe=split.unsafe
    )
    error = {"alpha": 2 * split.unsafe, "share": split.share}
    belt = partial(
        belt_end, transform, "pairs", (pm[i], nm[i], pm[j], nm[j]), pm=pm, nm=nm, **error
    )
    if transform == "difference":
        value = float(pm[top] - pm[bottom])
        ends = _belted(float(low.max()), transform, belt), float(high.max()), _single(reach)
        return value, *ends, int(members[top]), int(members[bottom])
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(pm[bottom] / pm[top])
    ends = float(low.min()), _belted(float(high.min()), transform, belt), _single(reach)
    return value, *ends, int(members[bottom]), int(members[top])


def _belted(parity: float, transform: Transform, belt: Callable[[], float | None]) -> float:
    """The FAIL end from the belt, or ``parity`` (the parity value's end) where the belt does
    not apply. At parity the belt's critical value is the parity value, so where that end
    already reaches parity (0 for a difference, 1 for a ratio) the belt's would too: its
    table is then not built (most fair audits)."""
    if np.isnan(parity) or (parity <= 0.0 if transform == "difference" else parity >= 1.0):
        return parity
    end = belt()
    return parity if end is None else end


def _to_target(
    p: FloatArray,
    n: FloatArray,
    members: IntArray,
    *,
    target: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    transform: Transform,
    safe: float,
    unsafe: float,
) -> tuple[float, float, float, float, int]:
    """Compare each member with a target: ``(p_target, n_target, share, p_point_target)``.

    ``share`` is zero for an independent target (a reference group); for the overall rate it
    is the group's share and the target is the rest of the control level. ``safe`` is the
    simultaneous one-sided tail of each comparison's safe end, ``unsafe`` of the other end.
    """
    p_t, n_t, share, point_t = target
    pm, nm = p[members], n[members]
    with np.errstate(divide="ignore", invalid="ignore"):
        if transform == "difference":
            low, high, reach = _folded(transform, pm, nm, p_t, n_t, safe=safe, unsafe=unsafe)
            scale = np.clip(1.0 - share, 0.0, None)  # |p_g - p_all| = (1 - s_g)|p_g - p_rest|
            low, high, reach = low * scale, high * scale, reach * scale
            gaps = np.abs(pm - point_t)
            worst = first_max(gaps)
            ends = float(low.max()), float(high.max()), _single(reach)
            return float(gaps[worst]), *ends, int(members[worst])
        signed = []
        for rest_low, rest_high in score_ratio_at(
            pm, nm, p_t, n_t, (unsafe, safe), outer=(True, True)
        ):
            r_low = rest_low / (share * rest_low + 1 - share)
            r_high = np.where(
                np.isinf(rest_high), 1 / share, rest_high / (share * rest_high + 1 - share)
            )
            signed.append((r_low, r_high))
        low = fold_ratio(*signed[0])[0]
        reach = ratio_reach(*signed[1], pm, point_t)
        ratios = pm / point_t
        ratios = np.where(ratios > 1, 1 / ratios, ratios)
    worst = first_min(ratios)
    ends = float(low.min()), float(np.minimum(reach, 1.0).min()), _single(reach)
    return float(ratios[worst]), *ends, int(members[worst])


_Entry = tuple[float, float, float, float, int, int]
"""One entry's value, low and high ends, reach, and the pair attaining the value."""
_BATCH = 512
"""Entries of :func:`rate_disparity` run side by side at most (each in a greenlet)."""


def _to_reference(
    row_p: FloatArray,
    row_n: FloatArray,
    members: IntArray,
    second: int,
    *,
    transform: Transform,
    split: Split,
    reference_chosen: bool,
) -> _Entry:
    """One entry of ``to_reference`` against group ``second`` (see :func:`rate_disparity`)."""
    others = members[members != second]
    target = (row_p[second], row_n[second], np.zeros(others.size), row_p[second])
    if reference_chosen:
        safe = split.tail("pairs", row_n[members])
    else:
        safe = split.tail("reference", row_n[others], reference=float(row_n[second]))
    value, low, high, reach, first = _to_target(
        row_p,
        row_n,
        others,
        target=target,
        transform=transform,
        safe=safe,
        unsafe=split.unsafe,
    )
    if reference_chosen:  # the belt is calibrated for a fixed reference
        return value, low, high, reach, first, second
    po, no = row_p[others], row_n[others]
    ref_p, ref_n = (
        np.full(others.size, row_p[second]),
        np.full(others.size, row_n[second]),
    )
    belt = partial(
        belt_end,
        transform,
        "reference",
        (po, no, ref_p, ref_n),
        pm=row_p[members],
        nm=row_n[members],
        alpha=2 * split.unsafe,
        share=split.share,
        reference=float(row_n[second]),
    )
    if transform == "difference":
        low = _belted(low, transform, belt)
    else:
        high = _belted(high, transform, belt)
    return value, low, high, reach, first, second


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
    entries: int = 1,
    reference_chosen: bool = False,
) -> Judged:
    """Disparity of one rate over the judged groups, with simultaneous intervals.

    ``alpha`` is the error allowed for the check; its safe end is shared over the check's
    ``entries`` (labels and control levels, any of which can FAIL it) and ``components`` (the
    rates an entry combines, 2 for equalized odds); its other end is not (a PASS needs every
    entry to PASS, so only an entry beyond the bound can wrongly PASS it).
    ``reference_chosen``: the references were chosen after seeing the data (``best``), so
    the safe end of ``to_reference`` is simultaneous over every pair of judged groups (the
    comparisons with whichever group turns out best are among them) and the belt, calibrated
    for a fixed reference, is not used: with Dunnett's value for a fixed reference, six fair
    groups of 100 rows covered 85.8 % (outside review, session 24).
    """
    split = Split.of(alpha, components, entries)
    n_labels, n_control = overall.num.shape
    out = _empty((n_labels, n_control), "newcombe" if transform == "difference" else "score_ratio")
    p, n = stats.p, stats.n_eff

    def entry(label: int, c: int, members: IntArray) -> _Entry | None:
        row_p, row_n = p[label], n[label]
        if method == "between_groups":
            value, low, high, reach, first, second = _between(
                row_p, row_n, members, transform, split
            )
        elif method == "to_overall":
            rest = overall.minus(stats, members, label, c)
            share = stats.den[label, members] / overall.den[label, c]
            target = (rest.p, rest.n_eff, share, overall.p[label, c])
            safe = split.tail(
                "overall",
                row_n[members],
                shares=share,
                overall=float(overall.n_eff[label, c]),
            )
            value, low, high, reach, first = _to_target(
                row_p,
                row_n,
                members,
                target=target,
                transform=transform,
                safe=safe,
                unsafe=split.unsafe,
            )
            if transform == "difference":  # the ratio keeps the parity value
                low = _belted(
                    low,
                    transform,
                    partial(
                        overall_end,
                        (row_p[members], row_n[members]),
                        (rest.p, rest.n_eff),
                        share,
                        float(overall.n_eff[label, c]),
                        alpha=2 * split.unsafe,
                        share=split.share,
                    ),
                )
            second = OVERALL
        else:
            assert references is not None
            second = int(references[label, c])
            if not judged[label, second]:
                return None
            return _to_reference(
                row_p,
                row_n,
                members,
                second,
                transform=transform,
                split=split,
                reference_chosen=reference_chosen,
            )
        return value, low, high, reach, first, second

    todo = []
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            out.n_judged[label, c] = members.size
            if members.size >= 2:
                todo.append((label, c, members))
    # Entries side by side, so that their limit searches run as one call (bias_checks._batched;
    # inside an audit's batch they join its searches instead); a few hundred at a time bound
    # the greenlets' memory.
    for start in range(0, len(todo), _BATCH):
        chunk = todo[start : start + _BATCH]
        found = run_entries([partial(entry, *item) for item in chunk])
        for (label, c, _), result in zip(chunk, found, strict=True):
            if result is None:
                continue
            value, low, high, reach, first, second = result
            out.value[label, c], out.low[label, c], out.high[label, c] = value, low, high
            assert out.reach is not None
            out.reach[label, c] = reach
            out.first[label, c], out.second[label, c] = first, second
    return out


def rate_extreme(
    stats: RateStats,
    *,
    judged: BoolArray,
    control_of: IntArray,
    upper: bool,
    alpha: float,
    entries: int = 1,
) -> Judged:
    """The worst judged group's rate (largest for an upper bound) with a simultaneous interval.

    The safe end (lower for the largest rate, upper for the smallest) is breached if any
    group's one-sided Wilson limit is; the groups are independent, so each limit is at Sidak's
    ``1 - (1 - alpha / 2)**(1/k)`` (``alpha / 2`` also shared over the check's ``entries``).
    The other end is breached only if the worst group's own limit is (``alpha / 2``).
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
            safe = sidak_tail(alpha / 2 / max(entries, 1), members.size)
            tails = (safe, alpha / 2) if upper else (alpha / 2, safe)
            low, high = wilson_ends(p[label, members], n[label, members], *tails)
            values = p[label, members]
            worst = int(np.argmax(values) if upper else np.argmin(values))
            reduce = np.max if upper else np.min
            out.value[label, c] = values[worst]
            out.low[label, c], out.high[label, c] = reduce(low), reduce(high)
            out.first[label, c], out.second[label, c] = members[worst], OVERALL
    return out
