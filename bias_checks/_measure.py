"""What one threshold (or one reported disparity) is judged on, for any metric, and
Fairlearn's own disparity values over every group.

Rates get the closed-form simultaneous intervals of :mod:`bias_checks._judged`. Metrics that
are not rates (balanced accuracy, regression errors) get the percentile interval of the
stratified bootstrap of the same statistic over the judged groups; ``count`` is exact, so its
interval is the value itself.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bias_checks._components import combine_components, joint_fail_end
from bias_checks._directional import directional_judged, directional_point
from bias_checks._disparities import (
    AGGS,
    METHODS,
    OVERALL,
    Agg,
    Comparison,
    Method,
    Transform,
    combine_equalized_odds,
    compare,
)
from bias_checks._evidence import EvidenceRule
from bias_checks._groups import GroupTable, reference_groups, reliable_for
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._judged import Judged, rate_disparity, rate_extreme
from bias_checks._uncertainty import comparison_bounds, percentile_interval
from bias_checks.catalogue import METRICS, MetricInfo

if TYPE_CHECKING:
    from bias_checks._state import _Audit

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def judged_mask(table: GroupTable, bases: tuple[str, ...], rule: EvidenceRule) -> BoolArray:
    """Groups (L, G) that every base metric of a check may be judged on."""
    masks = [reliable_for(table, base, rule) for base in bases]
    rows = max(m.shape[0] for m in masks)
    out = np.ones((rows, table.grouping.n_groups), dtype=bool)
    for mask in masks:
        out &= mask
    return out


def _members_count(mask: BoolArray, control_of: IntArray, n_control: int) -> IntArray:
    out = np.zeros((mask.shape[0], n_control), dtype=np.intp)
    for c in range(n_control):
        out[:, c] = mask[:, control_of == c].sum(axis=1)
    return out


def _from_comparison(
    point: Comparison, low: FloatArray, high: FloatArray, n_judged: IntArray, method: str
) -> Judged:
    assert point.first is not None
    assert point.second is not None
    return Judged(point.value, low, high, point.first, point.second, None, n_judged, method)


def references_for(
    audit: _Audit,
    table: GroupTable,
    base: str,
    method: Method,
    judged: BoolArray | None = None,
) -> IntArray | None:
    """The reference group (L, C) of ``to_reference``.

    With ``judged``, ``majority`` and ``best`` choose among the judged groups only (a named
    reference stays as named and, if it cannot be judged, leaves the check INCONCLUSIVE).
    """
    if method != "to_reference":
        return None
    if judged is not None and isinstance(audit.reference_mode, str):
        counts = np.where(judged.any(axis=0), table.counts, -1)
        values = dict(table.values)
        values[base] = np.where(judged, table.values[base], np.nan)
        table = replace(table, counts=counts, values=values)
    return reference_groups(
        table, metric=base, mode=audit.reference_mode, index=audit.index, n_control=audit.n_control
    )


def _resampled(
    audit: _Audit,
    table: GroupTable,
    base: str,
    mask: BoolArray,
    *,
    method: Method,
    transform: Any,
    alpha: float,
    entries: int,
) -> Judged:
    """A disparity that is not of rates: bootstrap percentile, or exact for ``count``."""
    refs = references_for(audit, table, base, method, mask)
    overall = audit.overall.values[base]
    masked = np.where(mask, table.values[base], np.nan)
    kwargs = {
        "transform": transform,
        "method": method,
        "control_of": table.grouping.control_of,
        "reference": refs,
    }
    point = compare(masked, overall=overall, **kwargs)
    n_judged = _members_count(mask, table.grouping.control_of, table.grouping.n_control)
    if refs is not None:
        for label in range(refs.shape[0]):
            for c in range(refs.shape[1]):
                if not mask[label, refs[label, c]]:
                    n_judged[label, c] = 0
    if base == "count":
        return _from_comparison(point, point.value, point.value, n_judged, "exact")
    if table.replicates is None or audit.overall.replicates is None:
        nan = np.full(point.value.shape, np.nan)
        return _from_comparison(point, nan, nan, n_judged, "bootstrap")
    low, high = comparison_bounds(
        table.replicates[base],
        audit.overall.replicates[base],
        judged=mask,
        control_of=table.grouping.control_of,
        method=method,
        references=refs,
        ratio=transform == "ratio",
        alpha=alpha,
        entries=entries,
    )
    return _from_comparison(point, low, high, n_judged, "bootstrap")


def disparity_evidence(
    audit: _Audit,
    info: MetricInfo,
    table: GroupTable,
    *,
    method: Method,
    agg: Agg | None,
    rule: EvidenceRule,
    alpha: float,
    entries: int = 1,
) -> tuple[Judged, BoolArray]:
    """The judged disparity (L, C) and the judged-group mask (L, G).

    ``alpha`` is the check's error; the end a FAIL rests on is shared over its ``entries``
    (labels and control levels), the other end is not.
    """
    assert info.transform is not None
    mask = judged_mask(table, info.bases, rule)
    if info.signed:
        refs = references_for(audit, table, info.bases[0], "to_reference", mask)
        assert refs is not None
        judged = directional_judged(
            table,
            info,
            judged=mask,
            references=refs,
            alpha=alpha,
            entries=entries,
            reference_chosen=audit.reference_mode == "best",
        )
        return judged, mask
    parts = []
    for base in info.bases:
        if base in table.rates:
            parts.append(
                rate_disparity(
                    table.rates[base],
                    audit.overall.rates[base],
                    judged=mask,
                    control_of=table.grouping.control_of,
                    transform=info.transform,
                    method=method,
                    references=references_for(audit, table, base, method, mask),
                    alpha=alpha,
                    components=len(info.bases),
                    entries=entries,
                    reference_chosen=audit.reference_mode == "best",
                )
            )
        else:
            parts.append(
                _resampled(
                    audit,
                    table,
                    base,
                    mask,
                    method=method,
                    transform=info.transform,
                    alpha=alpha,
                    entries=entries,
                )
            )
    if len(parts) == 1:
        return parts[0], mask
    joint = None
    worst = (agg or "worst_case") == "worst_case"  # only the worst case uses the joint end
    if worst and method == "between_groups" and all(base in table.rates for base in info.bases):
        joint = joint_fail_end(
            *(table.rates[base] for base in info.bases),
            judged=mask,
            control_of=table.grouping.control_of,
            transform=info.transform,
            alpha=alpha,
            entries=entries,
        )
    combined = combine_components(
        parts[0], parts[1], info.transform, agg or "worst_case", joint=joint
    )
    return combined, mask


def base_evidence(
    audit: _Audit,
    metric: str,
    table: GroupTable,
    *,
    upper: bool,
    rule: EvidenceRule,
    alpha: float,
    entries: int = 1,
) -> tuple[Judged, BoolArray]:
    """The worst judged group's value of a base metric (L, C), and the judged-group mask.

    Rates share only the safe end of ``alpha`` over the ``entries``; the bootstrap percentile
    interval of the worst group's statistic is one interval, at ``alpha / entries``.
    """
    mask = judged_mask(table, (metric,), rule)
    control_of = table.grouping.control_of
    n_control = table.grouping.n_control
    if metric in table.rates:
        judged = rate_extreme(
            table.rates[metric],
            judged=mask,
            control_of=control_of,
            upper=upper,
            alpha=alpha,
            entries=entries,
        )
        return judged, mask
    reduce = np.fmax.reduce if upper else np.fmin.reduce
    values = np.where(mask, table.values[metric], np.nan)
    shape = (values.shape[0], n_control)
    value, low, high = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    first = np.zeros(shape, dtype=np.intp)
    for c in range(n_control):
        members = np.flatnonzero(control_of == c)
        block = values[:, members]
        if np.isnan(block).all():
            continue
        filled = np.where(np.isnan(block), -np.inf if upper else np.inf, block)
        first[:, c] = members[filled.argmax(axis=1) if upper else filled.argmin(axis=1)]
        value[:, c] = reduce(block, axis=1)
        if metric == "count":
            low[:, c], high[:, c] = value[:, c], value[:, c]
        elif table.replicates is not None:
            reps = np.where(mask[:, members], table.replicates[metric][:, :, members], np.nan)
            low[:, c], high[:, c] = percentile_interval(
                reduce(reps, axis=2), 1.0 - alpha / max(entries, 1)
            )
    n_judged = _members_count(mask, control_of, n_control)
    method = "exact" if metric == "count" else "bootstrap"
    second = np.full(shape, OVERALL, dtype=np.intp)
    return Judged(value, low, high, first, second, None, n_judged, method), mask


@dataclass(frozen=True)
class DisparityRecord:
    """Fairlearn's disparity over every group, for one metric, grouping, method and agg."""

    info: MetricInfo
    method: Method
    agg: Agg | None
    table: GroupTable
    point: Comparison
    references: np.ndarray[Any, Any] | None


def fairlearn_disparities(audit: _Audit, *, directional: bool = False) -> list[DisparityRecord]:
    """Fairlearn's value and pair of every catalogue disparity, over every group.

    The directional metrics (``MetricInfo.signed``) are included only with ``directional``:
    when the audit names a reference group or checks one of them, so an audit that does
    neither gives the same report bytes as before they existed.
    """
    task = "classification" if audit.classification else "regression"
    records = []
    for info in METRICS.values():
        if info.kind != "disparity" or info.task != task or (info.signed and not directional):
            continue
        if info.needs_scores and not audit.has_scores:
            continue
        for table in audit.tables:
            for method in METHODS:
                records += _disparity(audit, info, table, method)
    return records


def _disparity(
    audit: _Audit, info: MetricInfo, table: GroupTable, method: Method
) -> list[DisparityRecord]:
    assert info.transform is not None
    if info.signed:  # directional: always against the reference group
        if method != "to_reference":
            return []
        refs = references_for(audit, table, info.bases[0], method)
        assert refs is not None
        point = directional_point(table, info, refs)
        return [DisparityRecord(info, method, None, table, point, refs)]
    transform: Transform = info.transform
    references = None
    parts = []
    for base in info.bases:
        refs = references_for(audit, table, base, method)
        references = refs if references is None else references
        parts.append(
            compare(
                table.values[base],
                transform=transform,
                method=method,
                control_of=table.grouping.control_of,
                overall=audit.overall.values[base],
                reference=refs,
            )
        )
    if len(parts) == 1:
        return [DisparityRecord(info, method, None, table, parts[0], references)]
    return [
        DisparityRecord(
            info,
            method,
            agg,
            table,
            combine_equalized_odds(parts[0], parts[1], transform, agg),
            references,
        )
        for agg in AGGS
    ]
