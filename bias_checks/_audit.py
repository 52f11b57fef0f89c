"""``audit_predictions``: the one call for the common case."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import numpy as np

from bias_checks._assemble import (
    audit_warnings,
    disparity_results,
    group_metrics,
    group_sizes,
    interval,
    label_index,
    labels_for,
    overall_metrics,
)
from bias_checks._checks import Measurement, Threshold, judge, overall_verdict, rows_needed
from bias_checks._disparities import (
    OVERALL,
    Agg,
    Method,
)
from bias_checks._engine import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    GroupIndex,
    build_group_index,
    classification_cells,
    make_grouping,
    regression_cells,
)
from bias_checks._errors import (
    InvalidParameterError,
    InvalidThresholdError,
    MetricNotApplicableError,
)
from bias_checks._evidence import EvidenceRule
from bias_checks._fallback import custom_metric_results
from bias_checks._groups import GroupTable, ReferenceMode, build_table
from bias_checks._inputs import EncodedInput, TaskMode, encode_input
from bias_checks._judged import Judged
from bias_checks._measure import base_evidence, disparity_evidence, fairlearn_disparities
from bias_checks._results import (
    AuditResult,
    CheckResult,
    CustomMetricResult,
    GroupRef,
)
from bias_checks._uncertainty import bootstrap_classification, bootstrap_regression
from bias_checks.catalogue import METRICS, MetricInfo


def _check_parameters(*, n_boot: int, evidence: Any, thresholds: Sequence[Threshold]) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise InvalidParameterError(parameter="n_boot", value=repr(n_boot))
    if not isinstance(evidence, EvidenceRule):
        raise InvalidParameterError(parameter="evidence", value=repr(evidence))
    for threshold in thresholds:
        if not isinstance(threshold, Threshold):
            raise InvalidThresholdError(threshold=repr(threshold))


class _Audit:
    def __init__(
        self,
        encoded: EncodedInput,
        *,
        rule: EvidenceRule,
        n_boot: int,
        random_state: int | None,
        reference_group: ReferenceMode,
    ) -> None:
        self.encoded = encoded
        self.n_control = len(encoded.control)
        self.rule = rule
        self.min_group_size = rule.min_group_size
        self.n_boot = n_boot
        self.reference_mode = reference_group
        self.index: GroupIndex = build_group_index(encoded.control + encoded.sensitive)
        self.classification = encoded.task != "regression"
        self.metric_names = CLASSIFICATION_METRICS if self.classification else REGRESSION_METRICS
        self.label_index = label_index(encoded) if self.classification else [0]
        rng = np.random.default_rng(random_state)
        if self.classification:
            stats = classification_cells(encoded, self.index)
            replicates = None
            if n_boot:
                replicates = bootstrap_classification(
                    stats.counts,
                    stats.weights,
                    n_boot=n_boot,
                    rng=rng,
                    weighted=encoded.sample_weight is not None,
                )
            present = stats.counts.sum(axis=(0, 2)) > 0
            if encoded.task == "binary":
                present = np.ones_like(present)
        else:
            stats = regression_cells(encoded, self.index, moments=n_boot > 0)
            replicates = None
            if n_boot:
                assert stats.moments is not None
                replicates = bootstrap_regression(
                    stats.counts, stats.weights, stats.moments, n_boot=n_boot, rng=rng
                )
            present = None
        self.stats = stats
        n_sensitive = len(encoded.sensitive)
        column_sets: list[list[int]] = [list(range(n_sensitive))]
        if n_sensitive > 1:
            column_sets += [[i] for i in range(n_sensitive)]

        def table(columns: list[int]) -> GroupTable:
            return build_table(
                encoded=encoded,
                index=self.index,
                grouping=make_grouping(self.index, self.n_control, columns),
                stats=stats,
                base_replicates=replicates,
                label_index=self.label_index,
                rule=rule,
                present_classes=present,
            )

        self.overall = table([])
        self.tables = [table(columns) for columns in column_sets]
        self.disparities = fairlearn_disparities(self)

    # ----- groupings -------------------------------------------------------------------
    def table_for(self, features: Sequence[str] | None) -> GroupTable:
        if features is None:
            return self.tables[0]
        wanted = tuple(features)
        for table in self.tables:
            if table.grouping.features == wanted or (
                len(wanted) == len(self.encoded.sensitive)
                and sorted(wanted) == sorted(table.grouping.features)
            ):
                return table
        raise InvalidParameterError(parameter="features", value=repr(wanted))

    def members(self, table: GroupTable, control: int) -> np.ndarray[Any, Any]:
        return np.flatnonzero(table.grouping.control_of == control)

    # ----- evidence ----------------------------------------------------------------------
    def evidence(
        self,
        info: MetricInfo,
        table: GroupTable,
        *,
        method: Method,
        agg: Agg | None,
        upper: bool,
        rule: EvidenceRule,
    ) -> tuple[Judged, np.ndarray[Any, Any]]:
        entries = len(labels_for(info.bases[0], self.encoded)) * table.grouping.n_control
        alpha = 1.0 - rule.confidence_level  # shared over the entries on the FAIL end only
        if info.kind == "base":
            return base_evidence(
                self, info.name, table, upper=upper, rule=rule, alpha=alpha, entries=entries
            )
        return disparity_evidence(
            self, info, table, method=method, agg=agg, rule=rule, alpha=alpha, entries=entries
        )

    def group_ref(self, table: GroupTable, group: int, metric: str, label_row: int) -> GroupRef:
        if group == OVERALL:
            return GroupRef(None, int(self.encoded.n_rows), math.nan)
        row = min(label_row, table.values[metric].shape[0] - 1)
        return GroupRef(
            table.group_keys[group],
            int(table.counts[group]),
            float(table.values[metric][row, group]),
        )

    def _overall_ref(self, metric: str, label_row: int, control: int) -> GroupRef:
        count = int(self.overall.counts[control])
        row = min(label_row, self.overall.values[metric].shape[0] - 1)
        return GroupRef(None, count, float(self.overall.values[metric][row, control]))

    def pair_of(
        self,
        info: MetricInfo,
        *,
        table: GroupTable,
        first: int,
        second: int,
        component: int,
        label_row: int,
        control: int,
    ) -> tuple[GroupRef, GroupRef]:
        base = info.bases[component]
        one = self.group_ref(table, first, base, label_row)
        if second == OVERALL:
            return one, self._overall_ref(base, label_row, control)
        return one, self.group_ref(table, second, base, label_row)

    def judged_pair(
        self, info: MetricInfo, table: GroupTable, judged: Judged, label_row: int, control: int
    ) -> tuple[GroupRef, GroupRef] | None:
        if math.isnan(judged.value[label_row, control]):
            return None
        component = 0 if judged.component is None else int(judged.component[label_row, control])
        return self.pair_of(
            info,
            table=table,
            first=int(judged.first[label_row, control]),
            second=int(judged.second[label_row, control]),
            component=component,
            label_row=label_row,
            control=control,
        )

    def unreliable_refs(
        self, info: MetricInfo, table: GroupTable, mask: Any, label_row: int, control: int
    ) -> tuple[GroupRef, ...]:
        return tuple(
            self.group_ref(table, int(g), info.bases[0], label_row)
            for g in self.members(table, control)
            if not mask[label_row, g]
        )

    # ----- checks ----------------------------------------------------------------------
    def check(self, threshold: Threshold) -> CheckResult:
        info = METRICS[threshold.metric]
        table = self.table_for(threshold.features)
        rule = threshold.evidence or self.rule
        upper = threshold.direction == "upper"
        method: Method = threshold.method
        agg: Agg | None = threshold.agg if len(info.bases) == 2 else None
        judged, mask = self.evidence(info, table, method=method, agg=agg, upper=upper, rule=rule)
        needed = 1 if info.kind == "base" else 2
        measurement = Measurement(
            judged.value.ravel(),
            judged.low.ravel(),
            judged.high.ravel(),
            (judged.n_judged >= needed).ravel(),
        )
        decision = judge(threshold, measurement)
        label_row, control = divmod(decision.entry, table.grouping.n_control)
        value = float(judged.value[label_row, control])
        low, high = float(judged.low[label_row, control]), float(judged.high[label_row, control])
        needed_rows = None
        if decision.reason == "interval_straddles_bound":
            members = self.members(table, control)
            judged_members = members[mask[label_row, members]]
            smallest = int(table.counts[judged_members].min())
            needed_rows = rows_needed(threshold, value, low, high, smallest)
        labels = labels_for(info.bases[0], self.encoded)
        return CheckResult(
            threshold=threshold,
            verdict=decision.verdict,
            reason=decision.reason,
            value=value,
            ci=interval(low, high, judged.method),
            label=labels[label_row] if label_row < len(labels) else None,
            control=table.control_keys[self.members(table, control)[0]],
            pair=self.judged_pair(info, table, judged, label_row, control),
            unreliable_groups=self.unreliable_refs(info, table, mask, label_row, control),
            value_all_groups=self._value_all_groups(info, table, threshold, label_row, control),
            n_judged_groups=int(judged.n_judged[label_row, control]),
            rows_needed=needed_rows,
            evidence_rule=rule,
        )

    def _value_all_groups(
        self, info: MetricInfo, table: GroupTable, threshold: Threshold, label_row: int, c: int
    ) -> float:
        if info.kind == "base":
            block = table.values[info.name][label_row, self.members(table, c)]
            if np.isnan(block).all():
                return math.nan
            return float(np.nanmax(block) if threshold.direction == "upper" else np.nanmin(block))
        agg = threshold.agg if len(info.bases) == 2 else None
        for record in self.disparities:
            if (
                record.info is info
                and record.method == threshold.method
                and record.agg == agg
                and record.table is table
            ):
                return float(record.point.value[label_row, c])
        raise InvalidParameterError(metric=threshold.metric)


def _check_thresholds(thresholds: Sequence[Threshold], encoded: EncodedInput) -> None:
    task = "regression" if encoded.task == "regression" else "classification"
    names = [f.name for f in encoded.sensitive]
    for threshold in thresholds:
        if METRICS[threshold.metric].task != task:
            raise MetricNotApplicableError(metric=threshold.metric, task=encoded.task)
        features = threshold.features
        if features is not None and not (
            sorted(features) == sorted(names) or (len(features) == 1 and features[0] in names)
        ):
            raise InvalidParameterError(parameter="features", value=list(features))


def audit_predictions(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    thresholds: Sequence[Threshold] = (),
    evidence: EvidenceRule | None = None,
    control_features: Any | None = None,
    sample_weight: Any | None = None,
    task: TaskMode = "auto",
    pos_label: Hashable | None = None,
    reference_group: ReferenceMode = "majority",
    n_boot: int = 1000,
    random_state: int | None = 0,
    custom_metrics: Mapping[str, Callable[..., float]] | None = None,
    y_score: Any | None = None,
) -> AuditResult:
    """Audit predictions for fairness: metrics by group, disparities, CIs, checks, verdict.

    Every count-based metric is derived from per-group weighted confusion counts computed in
    one pass, and equals Fairlearn's :class:`~fairlearn.metrics.MetricFrame` on the same
    inputs. Groups are the intersections of all sensitive features present in the data, plus
    each feature's marginal groups when there are several.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels (or numeric targets for regression).
    sensitive_features : array-like, Series, DataFrame or dict of 1-D arrays
        One or more sensitive features, named as Fairlearn names them.
    thresholds : sequence of Threshold, default ()
        The bounds to check. Each gets PASS when its whole confidence interval lies within
        the bound, FAIL when it lies wholly beyond, INCONCLUSIVE otherwise.
    evidence : EvidenceRule, optional
        Confidence level, minimum group size and denominator, and what INCONCLUSIVE does at
        the gate; ``None`` means ``EvidenceRule()``. A threshold's own rule overrides it.
    control_features : array-like, Series, DataFrame or dict, optional
        Fairlearn control features: disparities are computed within each control level.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights. ``count`` stays unweighted, as in Fairlearn.
    task : {"auto", "binary", "multiclass", "regression"}, default "auto"
        ``auto`` picks regression for non-integral float targets, else binary for at most
        two labels and multiclass (one-vs-rest rates) otherwise.
    pos_label : scalar, optional
        The positive label of a binary task; by default 1 if the labels are within
        {0, 1} or {-1, 1}.
    reference_group : {"majority", "best"} or mapping, default "majority"
        The group that ``method="to_reference"`` compares with: the largest group, the
        best-performing group for each metric, or ``{feature: value}`` naming one.
    n_boot : int, default 1000
        Bootstrap replicates for the intervals of metrics that are not rates (balanced
        accuracy, regression errors); 0 disables them (checks on them are then INCONCLUSIVE).
        Rates and their disparities use closed-form intervals and need no replicates.
    random_state : int or None, default 0
        Seed of the bootstrap; the same seed gives identical results.
    custom_metrics : mapping of str to callable, optional
        Extra metrics computed by Fairlearn's MetricFrame (for example ``roc_auc_score``),
        called as ``f(y_true, y_score_or_pred[, sample_weight=...])``. No CIs; not checkable.
    y_score : array-like of shape (n,), optional
        Scores passed to ``custom_metrics`` instead of ``y_pred``.

    Returns
    -------
    AuditResult

    Raises
    ------
    BiasChecksInputError
        A specific subclass for each kind of bad input (length mismatch, NaN in labels or
        features, non-binary labels, unknown metric, empty input, ...).

    Examples
    --------
    >>> from bias_checks import EvidenceRule, Threshold, audit_predictions
    >>> result = audit_predictions(
    ...     [1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 1],
    ...     sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...     thresholds=[Threshold("demographic_parity_difference", 0.5)],
    ...     evidence=EvidenceRule(min_group_size=1, min_denominator=1), n_boot=0,
    ... )
    >>> round(result.disparity("demographic_parity_difference")[0].value, 4)
    0.6667
    >>> result.verdict.value
    'INCONCLUSIVE'
    >>> result.checks[0].rows_needed > 3
    True
    """
    thresholds = tuple(thresholds)
    rule = EvidenceRule() if evidence is None else evidence
    _check_parameters(n_boot=n_boot, evidence=rule, thresholds=thresholds)
    encoded = encode_input(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        control_features=control_features,
        sample_weight=sample_weight,
        task=task,
        pos_label=pos_label,
    )
    _check_thresholds(thresholds, encoded)
    audit = _Audit(
        encoded,
        rule=rule,
        n_boot=n_boot,
        random_state=random_state,
        reference_group=reference_group,
    )
    checks = [audit.check(t) for t in thresholds]
    custom: tuple[CustomMetricResult, ...] = ()
    if custom_metrics:
        custom = custom_metric_results(
            custom_metrics, y_true, y_score if y_score is not None else y_pred, encoded
        )
    reference = reference_group if isinstance(reference_group, str) else dict(reference_group)
    bootstrap = (
        "none"
        if n_boot == 0
        else ("stratified_multinomial_cells" if audit.classification else "stratified_normal_sums")
    )
    config = (
        ("n_boot", n_boot),
        ("random_state", random_state),
        ("reference_group", reference),
        ("bootstrap", bootstrap),
        ("ci_method", "closed_form_rates_failing_end_bonferroni_percentile_bootstrap_otherwise"),
    )
    weights = encoded.sample_weight
    return AuditResult(
        task=encoded.task,
        classes=encoded.classes,
        pos_label=encoded.pos_label,
        n_rows=encoded.n_rows,
        total_weight=float(encoded.n_rows if weights is None else weights.sum()),
        weighted=weights is not None,
        sensitive_features=tuple(f.name for f in encoded.sensitive),
        control_features=tuple(f.name for f in encoded.control),
        config=config,
        groups=tuple(group_sizes(audit)),
        overall=tuple(overall_metrics(audit)),
        metrics=tuple(group_metrics(audit)),
        disparities=tuple(disparity_results(audit)),
        checks=tuple(checks),
        verdict=overall_verdict([c.verdict for c in checks]),
        warnings=tuple(audit_warnings(audit, bool(thresholds))),
        evidence_rule=rule,
        custom_metrics=tuple(custom),
    )
