"""Assembling an audit's result objects from its computed state
(:class:`bias_checks._state._Audit`): group sizes, metrics by group, overall metrics,
disparities, checks and warnings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from bias_checks._batched import run_batched
from bias_checks._checks import Measurement, Threshold, judge, rows_needed
from bias_checks._disparities import Agg, Method
from bias_checks._errors import InvalidParameterError
from bias_checks._evidence import EvidenceRule
from bias_checks._groups import GroupTable
from bias_checks._judged import Judged
from bias_checks._measure import (
    DisparityRecord,
    base_evidence,
    disparity_evidence,
    references_for,
)
from bias_checks._results import (
    AuditWarning,
    CheckResult,
    Disparity,
    GroupMetric,
    GroupSize,
    OverallMetric,
)
from bias_checks._rounding import round_ends
from bias_checks._score_evidence import (
    score_base_evidence,
    score_disparity_evidence,
    score_mask,
)
from bias_checks._scores import SCORE_CI_METHODS
from bias_checks._state import _Audit, interval, labels_for
from bias_checks.catalogue import METRICS, MetricInfo

SMALL_GROUP_MESSAGE = (
    "Group has fewer rows than the evidence rule's min_group_size; its metrics are not judged."
)
UNDEFINED_RATE_MESSAGE = "Group has no rows in a rate's denominator; that rate is undefined there."
BOOTSTRAP_DISABLED_MESSAGE = (
    "n_boot=0: no bootstrap intervals; checks on balanced accuracy and regression errors "
    "are inconclusive (rates keep their closed-form intervals)."
)
SCORES_WEIGHTED_MESSAGE = (
    "Score metrics and the cutoff sweep do not take sample_weight yet; they are left out of "
    "this weighted audit."
)
NO_THRESHOLDS_MESSAGE = "No thresholds were given; the verdict PASS is vacuous."
MISSING_COMBINATIONS_MESSAGE = (
    "Some combinations of sensitive feature values do not occur in the data."
)


def group_sizes(audit: _Audit) -> list[GroupSize]:
    out = []
    classes = audit.encoded.classes
    for table in audit.tables:
        for g, key in enumerate(table.group_keys):
            true_counts: tuple[tuple[Any, int], ...] = ()
            pred_counts: tuple[tuple[Any, int], ...] = ()
            if table.true_counts is not None and table.pred_counts is not None:
                true_counts = tuple(
                    (c, int(n)) for c, n in zip(classes, table.true_counts[g], strict=True)
                )
                pred_counts = tuple(
                    (c, int(n)) for c, n in zip(classes, table.pred_counts[g], strict=True)
                )
            out.append(
                GroupSize(
                    grouping=table.grouping.features,
                    control=table.control_keys[g],
                    group=key,
                    count=int(table.counts[g]),
                    weight=float(table.weight[g]),
                    true_label_counts=true_counts,
                    predicted_label_counts=pred_counts,
                    small=bool(table.counts[g] < audit.min_group_size),
                )
            )
    return out


def group_metrics(audit: _Audit) -> list[GroupMetric]:
    out = []
    for table in audit.tables:
        for metric in audit.metric_names:
            labels = labels_for(metric, audit.encoded)
            values = table.values[metric]
            for row, label in enumerate(labels):
                for g, key in enumerate(table.group_keys):
                    ci = None
                    if metric in table.ci:
                        ci = interval(
                            table.ci[metric][0][row, g],
                            table.ci[metric][1][row, g],
                            _ci_method(table, metric),
                        )
                    out.append(
                        GroupMetric(
                            metric=metric,
                            label=label,
                            grouping=table.grouping.features,
                            control=table.control_keys[g],
                            group=key,
                            value=float(values[row, g]),
                            ci=ci,
                            defined=bool(table.defined[metric][row, g]),
                            reliable=bool(table.reliable[metric][row, g]),
                        )
                    )
    return out


def _ci_method(table: GroupTable, metric: str) -> str:
    if metric in SCORE_CI_METHODS:
        return SCORE_CI_METHODS[metric]
    return "wilson" if metric in table.rates else "bootstrap"


def overall_metrics(audit: _Audit) -> list[OverallMetric]:
    out = []
    table = audit.overall
    for metric in audit.metric_names:
        for row, label in enumerate(labels_for(metric, audit.encoded)):
            for c, key in enumerate(table.control_keys):
                ci = None
                if metric in table.ci:
                    ci = interval(
                        table.ci[metric][0][row, c],
                        table.ci[metric][1][row, c],
                        _ci_method(table, metric),
                    )
                out.append(
                    OverallMetric(metric, label, key, float(table.values[metric][row, c]), ci)
                )
    return out


def audit_warnings(audit: _Audit, has_thresholds: bool) -> list[AuditWarning]:
    out = []
    for table in audit.tables:
        for g, key in enumerate(table.group_keys):
            details = (
                ("grouping", list(table.grouping.features)),
                ("control", dict(table.control_keys[g])),
                ("group", dict(key)),
            )
            if table.counts[g] < audit.min_group_size:
                out.append(
                    AuditWarning(
                        "small_group",
                        SMALL_GROUP_MESSAGE,
                        (
                            *details,
                            ("count", int(table.counts[g])),
                            ("min_group_size", audit.min_group_size),
                        ),
                    )
                )
            if audit.classification:
                undefined = sorted(
                    metric
                    for metric in ("true_positive_rate", "false_positive_rate", "precision")
                    if not table.defined[metric][:, g].all()
                )
                if undefined:
                    out.append(
                        AuditWarning(
                            "undefined_rate",
                            UNDEFINED_RATE_MESSAGE,
                            (*details, ("metrics", undefined)),
                        )
                    )
    combinations = math.prod(len(f.levels) for f in audit.encoded.sensitive)
    intersections = audit.tables[0]
    present = len({k for k in intersections.group_keys})
    if len(audit.encoded.sensitive) > 1 and present < combinations:
        out.append(
            AuditWarning(
                "missing_combinations",
                MISSING_COMBINATIONS_MESSAGE,
                (("present", present), ("possible", combinations)),
            )
        )
    if audit.n_boot == 0:
        out.append(AuditWarning("bootstrap_disabled", BOOTSTRAP_DISABLED_MESSAGE))
    if audit.weighted_scores:
        out.append(AuditWarning("scores_unweighted", SCORES_WEIGHTED_MESSAGE))
    if not has_thresholds:
        out.append(AuditWarning("no_thresholds", NO_THRESHOLDS_MESSAGE))
    return out


def disparity_results(audit: _Audit, disparities: Sequence[DisparityRecord]) -> list[Disparity]:
    """Every disparity: Fairlearn's value and pair, and the judged value, interval and pair."""
    out = []
    found = run_batched(
        [
            partial(
                evidence,
                audit,
                record.info,
                record.table,
                method=record.method,
                agg=record.agg,
                upper=record.info.bound == "upper",
                rule=audit.rule,
            )
            for record in disparities
        ]
    )
    for record, (judged, mask) in zip(disparities, found, strict=True):
        table, info = record.table, record.info
        assert record.point.first is not None
        assert record.point.second is not None
        for label_row, label in enumerate(labels_for(info.bases[0], audit.encoded)):
            for control in range(table.grouping.n_control):
                reference = None
                if record.references is not None:
                    reference = table.group_keys[int(record.references[label_row, control])]
                component = 0
                if record.point.component is not None:
                    component = int(record.point.component[label_row, control])
                pair = audit.pair_of(
                    info,
                    table=table,
                    first=int(record.point.first[label_row, control]),
                    second=int(record.point.second[label_row, control]),
                    component=component,
                    label_row=label_row,
                    control=control,
                )
                out.append(
                    Disparity(
                        metric=info.name,
                        method=record.method,
                        agg=record.agg,
                        grouping=table.grouping.features,
                        label=label,
                        control=audit.overall.control_keys[control],
                        value=float(record.point.value[label_row, control]),
                        pair=pair,
                        judged_value=float(judged.value[label_row, control]),
                        ci=interval(
                            judged.low[label_row, control],
                            judged.high[label_row, control],
                            judged.method,
                        ),
                        judged_pair=audit.judged_pair(info, table, judged, label_row, control),
                        reference=reference,
                        unreliable_groups=audit.unreliable_refs(
                            info, table, mask, label_row, control
                        ),
                    )
                )
    return out


# ----- evidence ------------------------------------------------------------------------


def evidence(
    audit: _Audit,
    info: MetricInfo,
    table: GroupTable,
    *,
    method: Method,
    agg: Agg | None,
    upper: bool,
    rule: EvidenceRule,
) -> tuple[Judged, np.ndarray[Any, Any]]:
    """What a check or disparity of ``info`` on ``table`` is judged on, and the judged mask."""
    entries = len(labels_for(info.bases[0], audit.encoded)) * table.grouping.n_control
    alpha = 1.0 - rule.confidence_level  # shared over the entries on the FAIL end only
    if info.needs_scores:
        scores = audit.scores_of(table)
        if info.kind == "base":
            return score_base_evidence(
                info.name, table, scores, upper=upper, rule=rule, alpha=alpha, entries=entries
            )
        mask = score_mask(table, scores, info.bases[0], rule)
        return score_disparity_evidence(
            info,
            table,
            scores,
            audit.scores_of(audit.overall),
            method=method,
            references=references_for(audit, table, info.bases[0], method, mask),
            rule=rule,
            alpha=alpha,
            entries=entries,
        )
    if info.kind == "base":
        return base_evidence(
            audit, info.name, table, upper=upper, rule=rule, alpha=alpha, entries=entries
        )
    return disparity_evidence(
        audit, info, table, method=method, agg=agg, rule=rule, alpha=alpha, entries=entries
    )


# ----- checks --------------------------------------------------------------------------


def check_result(
    audit: _Audit, threshold: Threshold, disparities: Sequence[DisparityRecord]
) -> CheckResult:
    """Judge ``threshold`` on the audit: its verdict, reason and the evidence behind it."""
    info = METRICS[threshold.metric]
    table = audit.table_for(threshold.features)
    rule = threshold.evidence or audit.rule
    upper = threshold.direction == "upper"
    method: Method = threshold.method
    agg: Agg | None = threshold.agg if len(info.bases) == 2 and not info.signed else None
    judged, mask = evidence(audit, info, table, method=method, agg=agg, upper=upper, rule=rule)
    needed = 1 if info.kind == "base" else 2
    lows, highs = judged.low, judged.high
    if judged.method != "exact":  # judged on the ends the report shows
        lows, highs = round_ends(lows, highs)
    measurement = Measurement(
        judged.value.ravel(), lows.ravel(), highs.ravel(), (judged.n_judged >= needed).ravel()
    )
    decision = judge(threshold, measurement)
    label_row, control = divmod(decision.entry, table.grouping.n_control)
    value = float(judged.value[label_row, control])
    low, high = float(lows[label_row, control]), float(highs[label_row, control])
    needed_rows = None
    if decision.reason == "interval_straddles_bound":
        members = audit.members(table, control)
        judged_members = members[mask[label_row, members]]
        smallest = int(table.counts[judged_members].min())
        needed_rows = rows_needed(threshold, value, low, high, smallest)
    labels = labels_for(info.bases[0], audit.encoded)
    return CheckResult(
        threshold=threshold,
        verdict=decision.verdict,
        reason=decision.reason,
        value=value,
        ci=interval(low, high, judged.method),
        label=labels[label_row] if label_row < len(labels) else None,
        control=table.control_keys[audit.members(table, control)[0]],
        pair=audit.judged_pair(info, table, judged, label_row, control),
        unreliable_groups=audit.unreliable_refs(info, table, mask, label_row, control),
        value_all_groups=_value_all_groups(
            audit,
            disparities,
            info=info,
            table=table,
            threshold=threshold,
            label_row=label_row,
            c=control,
        ),
        n_judged_groups=int(judged.n_judged[label_row, control]),
        rows_needed=needed_rows,
        evidence_rule=rule,
    )


def _value_all_groups(
    audit: _Audit,
    disparities: Sequence[DisparityRecord],
    *,
    info: MetricInfo,
    table: GroupTable,
    threshold: Threshold,
    label_row: int,
    c: int,
) -> float:
    if info.kind == "base":
        block = table.values[info.name][label_row, audit.members(table, c)]
        if np.isnan(block).all():
            return math.nan
        return float(np.nanmax(block) if threshold.direction == "upper" else np.nanmin(block))
    agg = threshold.agg if len(info.bases) == 2 and not info.signed else None
    for record in disparities:
        if (
            record.info is info
            and record.method == threshold.method
            and record.agg == agg
            and record.table is table
        ):
            return float(record.point.value[label_row, c])
    raise InvalidParameterError(metric=threshold.metric)
