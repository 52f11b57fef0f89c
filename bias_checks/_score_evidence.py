"""The evidence a check on a score metric is judged on: worst group and disparities.

Same standard as the rates (:mod:`bias_checks._judged`): only the end a FAIL rests on is
shared over the comparisons a number summarises, the other end stays at ``alpha / 2``.

* Worst group: each judged group's interval (:func:`bias_checks._scores.group_interval`),
  the FAIL end one-sided at Sidak's tail over the ``k`` independent groups.
* Disparities: each comparison's *signed* difference (or ratio, on the log scale) gets
  Zou & Donner's (2008) MOVER interval from the two groups' own intervals at the same tail
  (the summed-variance normal interval covered 87 % for AUC with 1.5 % positives; review of
  #17), folded to ``|d|`` or ``min(r, 1/r)``; the FAIL end at Bonferroni's
  ``alpha / (2 m)`` over the ``m`` comparisons, the other at
  ``alpha / 2``; the disparity lies between the extreme ends. ``to_overall`` takes the
  overall estimate's interval as if independent: the group is part of the overall rows, so
  the covariance is positive and the interval errs on the wide side.
* ``calibration_error`` is ``|d|`` and not smooth at 0, so comparisons of it use the box of
  the two groups' folded intervals (each end at half the comparison's tail): valid whatever
  the signs, and conservative.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bias_checks._disparities import OVERALL, Method, compare, first_max, first_min
from bias_checks._evidence import EvidenceRule
from bias_checks._groups import GroupTable
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._intervals import fold_difference, fold_ratio
from bias_checks._judged import Judged
from bias_checks._scores import SCORE_CI_METHODS, GroupScores, group_interval
from bias_checks._simultaneous import sidak_tail
from bias_checks.catalogue import MetricInfo

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def score_mask(
    table: GroupTable, scores: GroupScores, metric: str, rule: EvidenceRule
) -> BoolArray:
    """Groups (1, G) whose ``metric`` may be judged: ``min_group_size`` rows, the metric and
    its standard error defined, and ``min_denominator`` rows of each class for AUC."""
    value = scores.value(metric)
    se = scores.roc_auc_se if metric == "roc_auc" else scores.brier_score_se
    if metric == "calibration_error":
        se = scores.calibration_se
    ok = (
        np.isfinite(value)
        & np.isfinite(se)
        & (table.counts >= rule.min_group_size)
        & (scores.denominator(metric) >= max(rule.min_denominator, 1))
    )
    return np.asarray(ok, dtype=bool)[None, :]


def _judged_count(mask: BoolArray, control_of: IntArray, n_control: int) -> IntArray:
    return np.asarray(
        [[int(mask[0, control_of == c].sum()) for c in range(n_control)]], dtype=np.intp
    )


def score_base_evidence(
    metric: str,
    table: GroupTable,
    scores: GroupScores,
    *,
    upper: bool,
    rule: EvidenceRule,
    alpha: float,
    entries: int = 1,
) -> tuple[Judged, BoolArray]:
    """The worst judged group's value (1, C) of a score metric, with its interval."""
    mask = score_mask(table, scores, metric, rule)
    control_of, n_control = table.grouping.control_of, table.grouping.n_control
    shape = (1, n_control)
    value, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    first = np.zeros(shape, dtype=np.intp)
    values = scores.value(metric)
    for c in range(n_control):
        members = np.flatnonzero((control_of == c) & mask[0])
        if members.size == 0:
            continue
        safe = sidak_tail(alpha / 2 / max(entries, 1), members.size)
        wide = group_interval(scores, metric, safe)
        narrow = group_interval(scores, metric, alpha / 2)
        if upper:
            pick = members[first_max(values[members])]
            low[0, c], high[0, c] = wide[0][members].max(), narrow[1][members].max()
        else:
            pick = members[first_min(values[members])]
            low[0, c], high[0, c] = narrow[0][members].min(), wide[1][members].min()
        first[0, c], value[0, c] = pick, values[pick]
    judged = Judged(
        value,
        low,
        high,
        first,
        np.full(shape, OVERALL, dtype=np.intp),
        None,
        _judged_count(mask, control_of, n_control),
        SCORE_CI_METHODS[metric],
    )
    return judged, mask


def _signed_ends(
    metric: str,
    ratio: bool,
    one: tuple[GroupScores, IntArray],
    two: tuple[GroupScores, IntArray],
    tail: float,
) -> tuple[FloatArray, FloatArray]:
    """Signed interval (M,) of ``one - two`` (or ``one / two``), each end erring ``tail``."""
    (s1, i1), (s2, i2) = one, two
    if metric == "calibration_error":
        lo1, hi1 = (end[i1] for end in group_interval(s1, metric, tail / 2))
        lo2, hi2 = (end[i2] for end in group_interval(s2, metric, tail / 2))
        if not ratio:
            return lo1 - hi2, hi1 - lo2
        with np.errstate(divide="ignore", invalid="ignore"):
            return lo1 / hi2, np.where(lo2 > 0, hi1 / lo2, np.inf)
    v1, v2 = s1.value(metric)[i1], s2.value(metric)[i2]
    (l1, u1), (l2, u2) = group_interval(s1, metric, tail), group_interval(s2, metric, tail)
    return _mover(ratio, (v1, l1[i1], u1[i1]), (v2, l2[i2], u2[i2]))


def _mover(
    ratio: bool,
    one: tuple[FloatArray, FloatArray, FloatArray],
    two: tuple[FloatArray, FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """Zou and Donner's (2008) MOVER interval of ``v1 - v2`` (of ``log v1 - log v2`` for a
    ratio) from each group's own interval ``(value, low, high)`` at the same tail."""
    (v1, l1, u1), (v2, l2, u2) = one, two
    if ratio:
        with np.errstate(divide="ignore", invalid="ignore"):
            v1, l1, u1, v2, l2, u2 = (np.log(x) for x in (v1, l1, u1, v2, l2, u2))
    with np.errstate(invalid="ignore"):
        d = v1 - v2
        low = d - np.sqrt((v1 - l1) ** 2 + (u2 - v2) ** 2)
        high = d + np.sqrt((u1 - v1) ** 2 + (v2 - l2) ** 2)
        if not ratio:
            return low, high
        # A value of 0 (a Brier score or calibration error of 0) is -inf on the log scale,
        # where MOVER is undefined: the box of the two intervals is valid and conservative.
        low = np.where(np.isnan(low), l1 - u2, low)
        high = np.where(np.isnan(high), u1 - l2, high)
    return np.exp(low), np.exp(high)


def score_disparity_evidence(
    info: MetricInfo,
    table: GroupTable,
    scores: GroupScores,
    overall: GroupScores,
    *,
    method: Method,
    references: IntArray | None,
    rule: EvidenceRule,
    alpha: float,
    entries: int = 1,
) -> tuple[Judged, BoolArray]:
    """The judged disparity (1, C) of a score metric and the judged-group mask (1, G)."""
    metric = info.bases[0]
    ratio = info.transform == "ratio"
    mask = score_mask(table, scores, metric, rule)
    control_of, n_control = table.grouping.control_of, table.grouping.n_control
    masked = np.where(mask, scores.value(metric)[None, :], np.nan)
    point = compare(
        masked,
        transform="ratio" if ratio else "difference",
        method=method,
        control_of=control_of,
        overall=overall.value(metric)[None, :],
        reference=references,
    )
    assert point.first is not None
    assert point.second is not None
    n_judged = _judged_count(mask, control_of, n_control)
    low, high = np.full((1, n_control), np.nan), np.full((1, n_control), np.nan)
    for c in range(n_control):
        members = np.flatnonzero((control_of == c) & mask[0])
        if method == "between_groups":
            pairs = [(i, j) for k, i in enumerate(members) for j in members[k + 1 :]]
            one = (scores, np.asarray([i for i, _ in pairs], dtype=np.intp))
            two = (scores, np.asarray([j for _, j in pairs], dtype=np.intp))
        elif method == "to_overall":
            one = (scores, members)
            two = (overall, np.full(members.size, c, dtype=np.intp))
        else:
            assert references is not None
            ref = int(references[0, c])
            if not mask[0, ref]:
                n_judged[0, c] = 0
                continue
            others = members[members != ref]
            one = (scores, others)
            two = (scores, np.full(others.size, ref, dtype=np.intp))
        m = one[1].size
        if members.size < (1 if method == "to_overall" else 2) or m == 0:
            continue
        wide = _signed_ends(metric, ratio, one, two, alpha / 2 / m / max(entries, 1))
        narrow = _signed_ends(metric, ratio, one, two, alpha / 2)
        if ratio:
            lows, highs = fold_ratio(*narrow)[0], fold_ratio(*wide)[1]
            low[0, c], high[0, c] = np.min(lows), np.min(highs)
        else:
            lows, highs = fold_difference(*wide)[0], fold_difference(*narrow)[1]
            low[0, c], high[0, c] = np.max(lows), np.max(highs)
    method_name = SCORE_CI_METHODS[metric]
    judged = Judged(point.value, low, high, point.first, point.second, None, n_judged, method_name)
    return judged, mask
