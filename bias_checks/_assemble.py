"""Assembling an audit's result objects: group sizes, metrics by group, overall metrics
and warnings, from the computed tables of :class:`bias_checks._audit._Audit`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bias_checks._engine import LABEL_FREE_METRICS
from bias_checks._inputs import EncodedInput
from bias_checks._results import (
    AuditWarning,
    Disparity,
    GroupMetric,
    GroupSize,
    Interval,
    OverallMetric,
)

if TYPE_CHECKING:
    from bias_checks._audit import _Audit

SMALL_GROUP_MESSAGE = (
    "Group has fewer rows than the evidence rule's min_group_size; its metrics are not judged."
)
UNDEFINED_RATE_MESSAGE = "Group has no rows in a rate's denominator; that rate is undefined there."
BOOTSTRAP_DISABLED_MESSAGE = (
    "n_boot=0: no bootstrap intervals; checks on balanced accuracy and regression errors "
    "are inconclusive (rates keep their closed-form intervals)."
)
NO_THRESHOLDS_MESSAGE = "No thresholds were given; the verdict PASS is vacuous."
MISSING_COMBINATIONS_MESSAGE = (
    "Some combinations of sensitive feature values do not occur in the data."
)


def label_index(encoded: EncodedInput) -> list[int]:
    if encoded.task == "binary":
        return [encoded.classes.index(encoded.pos_label)]
    return list(range(len(encoded.classes)))


def labels_for(metric: str, encoded: EncodedInput) -> list[Any]:
    if metric in LABEL_FREE_METRICS or encoded.task == "regression":
        return [None]
    if encoded.task == "binary":
        return [encoded.pos_label]
    return list(encoded.classes)


def interval(low: float, high: float, method: str) -> Interval | None:
    if math.isnan(low) or math.isnan(high):
        return None
    return Interval(float(low), float(high), method)


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
                            "wilson" if metric in table.rates else "bootstrap",
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
                        "wilson" if metric in table.rates else "bootstrap",
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
    if not has_thresholds:
        out.append(AuditWarning("no_thresholds", NO_THRESHOLDS_MESSAGE))
    return out


def disparity_results(audit: _Audit) -> list[Disparity]:
    """Every disparity: Fairlearn's value and pair, and the judged value, interval and pair."""
    out = []
    for record in audit.disparities:
        table, info = record.table, record.info
        judged, mask = audit.evidence(
            info,
            table,
            method=record.method,
            agg=record.agg,
            upper=info.bound == "upper",
            rule=audit.rule,
        )
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
