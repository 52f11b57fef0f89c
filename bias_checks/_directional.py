"""Directional disparities: every group against the reference (privileged) group, signed.

AIF360 compares an unprivileged group with the privileged one without folding:
``statistical_parity_difference = SR(g) - SR(ref)``, ``disparate_impact = SR(g) / SR(ref)``
(not clipped to 1; undefined when the reference selects nobody, where AIF360 returns 0 with a
warning) and ``average_odds_difference = ((FPR(g) - FPR(ref)) + (TPR(g) -
TPR(ref))) / 2``. With several unprivileged groups the disparity is the *smallest* of the
per-group values: the group the model disadvantages most against the reference (a negative
difference or a ratio below 1 means fewer favourable outcomes than the reference gets). The
sensible bound is therefore a lower one (``disparate_impact >= 0.8`` is the four-fifths rule).
Average odds difference is signed too, so a group with a lower TPR *and* a lower FPR than the
reference scores negative; a model that trades one for the other scores near 0 (AIF360's
definition; bound ``equalized_odds_difference`` as well to catch that).

Intervals follow :mod:`bias_checks._judged`, on ``theta = min_g d_g`` over the ``k - 1``
groups compared with the reference: the upper end (on which a FAIL of a lower bound rests)
is ``min_g hi_g`` and is breached if *any* group's upper limit is, so each sits at Dunnett's
simultaneous one-sided tail; the lower end ``min_g lo_g`` is breached only if the group
attaining ``theta`` breaches its own, at ``alpha / 2``. The differences are Newcombe's hybrid
score limits, the ratios the adjusted log limits. Average odds difference combines its two
Newcombe limits per group by MOVER (Zou and Donner 2008; TPR and FPR are on disjoint rows,
so independent), and Dunnett's correlations use each group's effective size for the mean,
``1 / (a / n_TPR + b / n_FPR)`` with ``a``, ``b`` the pooled ``p (1 - p)`` of each rate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bias_checks._disparities import Comparison
from bias_checks._groups import GroupTable
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._intervals import (
    outer_difference_ends,
    outer_ratio_ends,
)
from bias_checks._judged import Judged, Split
from bias_checks._rate_stats import RateStats
from bias_checks.catalogue import MetricInfo

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _signed(info: MetricInfo, values: list[FloatArray], g: Any, ref: int) -> FloatArray:
    """The directional value of groups ``g`` against ``ref`` (one label row per array)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if info.transform == "ratio":  # undefined (NaN) when the reference selects nobody
            ref_value = values[0][ref] if values[0][ref] > 0 else np.nan
            return np.asarray(values[0][g] / ref_value, dtype=np.float64)
        gaps = [v[g] - v[ref] for v in values]
        return np.asarray(sum(gaps) / len(gaps), dtype=np.float64)


def directional_point(table: GroupTable, info: MetricInfo, references: IntArray) -> Comparison:
    """The directional disparity (L, C) over every group, and the group attaining it.

    ``references`` (L, C) names the reference group; a group whose value is undefined (NaN)
    is skipped, as pandas does.
    """
    values = [table.values[base] for base in info.bases]
    n_labels = values[0].shape[0]
    n_control = table.grouping.n_control
    control_of = table.grouping.control_of
    out = np.full((n_labels, n_control), np.nan)
    first = np.zeros((n_labels, n_control), dtype=np.intp)
    second = np.asarray(references, dtype=np.intp).copy()
    for label in range(n_labels):
        rows = [v[label] for v in values]
        for c in range(n_control):
            ref = int(references[label, c])
            others = np.flatnonzero((control_of == c) & (np.arange(control_of.size) != ref))
            signed = _signed(info, rows, others, ref)
            if others.size == 0 or np.isnan(signed).all():
                continue
            worst = int(np.nanargmin(signed))
            out[label, c], first[label, c] = signed[worst], others[worst]
    return Comparison(out, first, second)


def _pooled_variance(stats: RateStats, label: int, members: IntArray) -> float:
    """``p (1 - p)`` of the rate pooled over ``members`` (Agresti-Coull shrunk, never 0)."""
    p = (stats.num[label, members].sum() + 2.0) / (stats.den[label, members].sum() + 4.0)
    return float(p * (1.0 - p))


def _limits(
    info: MetricInfo,
    table: GroupTable,
    label: int,
    others: IntArray,
    ref: int,
    *,
    low_tail: float,
    high_tail: float,
) -> tuple[FloatArray, FloatArray]:
    """Per-group one-sided limits of the directional value against ``ref``: at each end the
    outer of Newcombe's (a ratio's score limits) and the skewness-corrected score limits
    (:func:`outer_difference_ends`), whose one-sided errors hold near 0 and 1."""
    parts = []
    ends = outer_ratio_ends if info.transform == "ratio" else outer_difference_ends
    for base in info.bases:
        r = table.rates[base]
        p, n = r.p[label], r.n_eff[label]
        parts.append(
            (
                p[others] - p[ref],
                *ends(p[others], n[others], p[ref], n[ref], low_tail=low_tail, high_tail=high_tail),
            )
        )
    if len(parts) == 1:
        return parts[0][1], parts[0][2]
    (d1, l1, h1), (d2, l2, h2) = parts
    value = (d1 + d2) / 2
    return value - np.hypot(d1 - l1, d2 - l2) / 2, value + np.hypot(h1 - d1, h2 - d2) / 2


def _sizes(info: MetricInfo, table: GroupTable, label: int, members: IntArray) -> FloatArray:
    """Effective sizes of the directional estimate per group, for Dunnett's correlations."""
    if len(info.bases) == 1:
        return np.asarray(table.rates[info.bases[0]].n_eff[label], dtype=np.float64)
    variance = np.zeros(table.grouping.n_groups)
    for base in info.bases:
        r = table.rates[base]
        n = np.where(r.n_eff[label] > 0, r.n_eff[label], np.nan)
        variance = variance + _pooled_variance(r, label, members) / n
    return np.asarray(1.0 / variance, dtype=np.float64)


def directional_judged(
    table: GroupTable,
    info: MetricInfo,
    *,
    judged: BoolArray,
    references: IntArray,
    alpha: float,
    entries: int = 1,
    reference_chosen: bool = False,
) -> Judged:
    """The directional disparity (L, C) over the judged groups, with simultaneous intervals.

    ``references`` (L, C) are chosen among the judged groups (a named reference that cannot
    be judged leaves the entry without a value: INCONCLUSIVE). ``alpha`` is the check's
    error; the upper end's half is shared over the ``entries`` (labels and control levels).
    ``reference_chosen`` (``best``): the upper end is simultaneous over every pair of judged
    groups, since the reference was picked as the extreme (see
    :func:`bias_checks._judged.rate_disparity`).
    """
    split = Split.of(alpha, 1, entries)
    n_labels, n_control = references.shape
    control_of = table.grouping.control_of
    nan = np.full((n_labels, n_control), np.nan)
    method = "score_ratio" if info.transform == "ratio" else "newcombe"
    out = Judged(
        nan.copy(),
        nan.copy(),
        nan.copy(),
        np.zeros((n_labels, n_control), dtype=np.intp),
        np.asarray(references, dtype=np.intp).copy(),
        None,
        np.zeros((n_labels, n_control), dtype=np.intp),
        method if len(info.bases) == 1 else f"{method}_mover",
    )
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            ref = int(references[label, c])
            if not judged[label, ref]:
                continue
            out.n_judged[label, c] = members.size
            others = members[members != ref]
            if others.size == 0:
                continue
            sizes = _sizes(info, table, label, members)
            if reference_chosen:
                safe = split.tail("pairs", sizes)
            else:
                safe = split.tail("reference", sizes[others], reference=float(sizes[ref]))
            low, high = _limits(
                info, table, label, others, ref, low_tail=split.unsafe, high_tail=safe
            )
            values = _signed(info, [table.values[b][label] for b in info.bases], others, ref)
            if np.isnan(values).all():  # a reference with no selections: no ratio
                continue
            worst = int(np.nanargmin(values))
            out.value[label, c] = values[worst]
            out.low[label, c], out.high[label, c] = float(low.min()), float(high.min())
            out.first[label, c] = others[worst]
    return out
