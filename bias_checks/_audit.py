"""``audit_predictions``: the one call for the common case."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bias_checks._assemble import (
    audit_warnings,
    group_metrics,
    group_sizes,
    interval,
    label_index,
    labels_for,
    overall_metrics,
)
from bias_checks._checks import Measurement, Threshold, judge, overall_verdict
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
from bias_checks._fallback import custom_metric_results
from bias_checks._groups import GroupKey, GroupTable, ReferenceMode, build_table, reference_groups
from bias_checks._inputs import EncodedInput, FloatArray, TaskMode, encode_input
from bias_checks._results import (
    AuditResult,
    CheckResult,
    CustomMetricResult,
    Disparity,
    GroupRef,
)
from bias_checks._uncertainty import (
    bootstrap_classification,
    bootstrap_regression,
    percentile_interval,
)
from bias_checks.catalogue import METRICS, MetricInfo


@dataclass(frozen=True)
class _DisparityRecord:
    info: MetricInfo
    method: str
    agg: str | None
    table: GroupTable
    point: Comparison
    replicates: FloatArray | None
    reliable_value: FloatArray
    judgeable: np.ndarray[Any, Any]
    unreliable: tuple[tuple[tuple[GroupKey, ...], ...], ...]
    references: np.ndarray[Any, Any] | None


def _check_parameters(
    *, min_group_size: int, n_boot: int, confidence_level: float, thresholds: Sequence[Threshold]
) -> None:
    if not isinstance(min_group_size, int) or min_group_size < 0:
        raise InvalidParameterError(parameter="min_group_size", value=repr(min_group_size))
    if not isinstance(n_boot, int) or n_boot < 0:
        raise InvalidParameterError(parameter="n_boot", value=repr(n_boot))
    if not 0.0 < confidence_level < 1.0:
        raise InvalidParameterError(parameter="confidence_level", value=repr(confidence_level))
    for threshold in thresholds:
        if not isinstance(threshold, Threshold):
            raise InvalidThresholdError(threshold=repr(threshold))


class _Audit:
    def __init__(
        self,
        encoded: EncodedInput,
        *,
        min_group_size: int,
        n_boot: int,
        confidence_level: float,
        random_state: int | None,
        reference_group: ReferenceMode,
    ) -> None:
        self.encoded = encoded
        self.n_control = len(encoded.control)
        self.min_group_size = min_group_size
        self.n_boot = n_boot
        self.confidence_level = confidence_level
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
                min_group_size=min_group_size,
                confidence_level=confidence_level,
                present_classes=present,
            )

        self.overall = table([])
        self.tables = [table(columns) for columns in column_sets]
        self.disparities = self._all_disparities()

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

    def _members(self, table: GroupTable, control: int) -> np.ndarray[Any, Any]:
        return np.flatnonzero(table.grouping.control_of == control)

    # ----- disparities -----------------------------------------------------------------
    def _all_disparities(self) -> list[_DisparityRecord]:
        task = "classification" if self.classification else "regression"
        records = []
        for info in METRICS.values():
            if info.kind != "disparity" or info.task != task:
                continue
            for table in self.tables:
                for method in METHODS:
                    records += self._disparity(info, table, method)
        return records

    def _disparity(
        self, info: MetricInfo, table: GroupTable, method: Method
    ) -> list[_DisparityRecord]:
        assert info.transform is not None
        transform: Transform = info.transform
        references = None
        parts_point, parts_reps, parts_reliable = [], [], []
        for base in info.bases:
            refs = None
            if method == "to_reference":
                refs = reference_groups(
                    table,
                    metric=base,
                    mode=self.reference_mode,
                    index=self.index,
                    n_control=self.n_control,
                )
                references = refs if references is None else references

            def run(values: FloatArray, overall: FloatArray, refs: Any = refs) -> Comparison:
                return compare(
                    values,
                    transform=transform,
                    method=method,
                    control_of=table.grouping.control_of,
                    overall=overall,
                    reference=refs,
                )

            values = table.values[base]
            parts_point.append(run(values, self.overall.values[base]))
            masked = np.where(table.reliable[base], values, np.nan)
            parts_reliable.append(run(masked, self.overall.values[base]))
            if table.replicates is not None and self.overall.replicates is not None:
                parts_reps.append(run(table.replicates[base], self.overall.replicates[base]))
        judgeable, unreliable = self._judgeability(info, table)
        aggs: Sequence[Agg | None] = AGGS if len(info.bases) == 2 else (None,)
        out = []
        for agg in aggs:
            if agg is None:
                point, reliable = parts_point[0], parts_reliable[0]
                reps = parts_reps[0].value if parts_reps else None
            else:
                point = combine_equalized_odds(parts_point[0], parts_point[1], transform, agg)
                reliable = combine_equalized_odds(
                    parts_reliable[0], parts_reliable[1], transform, agg
                )
                reps = None
                if parts_reps:
                    reps = combine_equalized_odds(
                        parts_reps[0], parts_reps[1], transform, agg
                    ).value
            out.append(
                _DisparityRecord(
                    info,
                    method,
                    agg,
                    table,
                    point,
                    reps,
                    reliable.value,
                    judgeable,
                    unreliable,
                    references,
                )
            )
        return out

    def _judgeability(
        self, info: MetricInfo, table: GroupTable
    ) -> tuple[np.ndarray[Any, Any], tuple[tuple[tuple[GroupKey, ...], ...], ...]]:
        n_labels = max(table.reliable[b].shape[0] for b in info.bases)
        ok = np.ones((table.grouping.n_groups,), dtype=bool)[None, :].repeat(n_labels, axis=0)
        for base in info.bases:
            ok = ok & table.reliable[base]
        judgeable = np.zeros((n_labels, table.grouping.n_control), dtype=bool)
        unreliable = []
        for label in range(n_labels):
            row = []
            for c in range(table.grouping.n_control):
                members = self._members(table, c)
                judgeable[label, c] = bool(ok[label, members].all())
                row.append(tuple(table.group_keys[g] for g in members if not ok[label, g]))
            unreliable.append(tuple(row))
        return judgeable, tuple(unreliable)

    # ----- base-metric checks ----------------------------------------------------------
    def _base_measurement(
        self, metric: str, table: GroupTable, upper: bool
    ) -> tuple[Measurement, np.ndarray[Any, Any]]:
        values = table.values[metric]
        reliable = table.reliable[metric]
        n_labels, n_control = values.shape[0], table.grouping.n_control
        worst = np.zeros((n_labels, n_control), dtype=np.intp)
        value = np.empty((n_labels, n_control))
        reliable_value = np.empty_like(value)
        judgeable = np.zeros_like(value, dtype=bool)
        low = np.full_like(value, np.nan)
        high = np.full_like(value, np.nan)
        reduce = np.fmax.reduce if upper else np.fmin.reduce
        for c in range(n_control):
            members = self._members(table, c)
            block = values[:, members]
            filled = np.where(np.isnan(block), -np.inf if upper else np.inf, block)
            worst[:, c] = members[filled.argmax(axis=1) if upper else filled.argmin(axis=1)]
            value[:, c] = reduce(block, axis=1)
            reliable_value[:, c] = reduce(np.where(reliable[:, members], block, np.nan), axis=1)
            judgeable[:, c] = reliable[:, members].all(axis=1)
            if table.replicates is not None:
                lo, hi = percentile_interval(
                    reduce(table.replicates[metric][:, :, members], axis=2), self.confidence_level
                )
                low[:, c], high[:, c] = lo, hi
        measurement = Measurement(
            value.ravel(), low.ravel(), high.ravel(), reliable_value.ravel(), judgeable.ravel()
        )
        return measurement, worst

    # ----- outputs ---------------------------------------------------------------------
    def group_ref(self, table: GroupTable, group: int, metric: str, label_row: int) -> GroupRef:
        if group == OVERALL:
            return GroupRef(None, int(self.encoded.n_rows), math.nan)
        return GroupRef(
            table.group_keys[group],
            int(table.counts[group]),
            float(table.values[metric][label_row, group]),
        )

    def check(self, threshold: Threshold) -> CheckResult:
        info = METRICS[threshold.metric]
        table = self.table_for(threshold.features)
        if info.kind == "base":
            measurement, worst = self._base_measurement(
                threshold.metric, table, threshold.direction == "upper"
            )
            decision = judge(threshold, measurement)
            label_row, control = divmod(decision.entry, table.grouping.n_control)
            group = int(worst[label_row, control])
            pair: tuple[GroupRef, GroupRef] | None = (
                self.group_ref(table, group, threshold.metric, label_row),
                self._overall_ref(threshold.metric, label_row, control),
            )
            members = self._members(table, control)
            unreliable = tuple(
                table.group_keys[g]
                for g in members
                if not table.reliable[threshold.metric][label_row, g]
            )
        else:
            record = self._find(threshold, table)
            ci_low, ci_high = self._disparity_ci(record)
            measurement = Measurement(
                record.point.value.ravel(),
                ci_low.ravel(),
                ci_high.ravel(),
                record.reliable_value.ravel(),
                record.judgeable.ravel(),
            )
            decision = judge(threshold, measurement)
            label_row, control = divmod(decision.entry, table.grouping.n_control)
            pair = self._pair(record, label_row, control)
            unreliable = record.unreliable[label_row][control]
        labels = labels_for(info.bases[0], self.encoded)
        return CheckResult(
            threshold=threshold,
            verdict=decision.verdict,
            reason=decision.reason,
            value=float(measurement.values[decision.entry]),
            judged_value=decision.judged_value,
            ci=interval(
                measurement.ci_low[decision.entry], measurement.ci_high[decision.entry], "bootstrap"
            ),
            label=labels[label_row] if label_row < len(labels) else None,
            control=table.control_keys[self._members(table, control)[0]],
            pair=pair,
            unreliable_groups=unreliable,
        )

    def _overall_ref(self, metric: str, label_row: int, control: int) -> GroupRef:
        count = int(self.overall.counts[control])
        return GroupRef(None, count, float(self.overall.values[metric][label_row, control]))

    def _find(self, threshold: Threshold, table: GroupTable) -> _DisparityRecord:
        agg = threshold.agg if len(METRICS[threshold.metric].bases) == 2 else None
        for record in self.disparities:
            if (
                record.info.name == threshold.metric
                and record.method == threshold.method
                and record.agg == agg
                and record.table is table
            ):
                return record
        raise InvalidParameterError(metric=threshold.metric)

    def _disparity_ci(self, record: _DisparityRecord) -> tuple[FloatArray, FloatArray]:
        if record.replicates is None:
            nan = np.full(record.point.value.shape, np.nan)
            return nan, nan
        return percentile_interval(record.replicates, self.confidence_level)

    def _pair(
        self, record: _DisparityRecord, label_row: int, control: int
    ) -> tuple[GroupRef, GroupRef]:
        assert record.point.first is not None
        assert record.point.second is not None
        component = 0
        if record.point.component is not None:
            component = int(record.point.component[label_row, control])
        base = record.info.bases[component]
        first = int(record.point.first[label_row, control])
        second = int(record.point.second[label_row, control])
        one = self.group_ref(record.table, first, base, label_row)
        if second == OVERALL:
            return one, self._overall_ref(base, label_row, control)
        return one, self.group_ref(record.table, second, base, label_row)

    def disparity_results(self) -> list[Disparity]:
        out = []
        for record in self.disparities:
            table = record.table
            labels = labels_for(record.info.bases[0], self.encoded)
            low, high = self._disparity_ci(record)
            for label_row, label in enumerate(labels):
                for control in range(table.grouping.n_control):
                    reference = None
                    if record.references is not None:
                        reference = table.group_keys[int(record.references[label_row, control])]
                    out.append(
                        Disparity(
                            metric=record.info.name,
                            method=record.method,
                            agg=record.agg,
                            grouping=table.grouping.features,
                            label=label,
                            control=self.overall.control_keys[control],
                            value=float(record.point.value[label_row, control]),
                            ci=interval(
                                low[label_row, control], high[label_row, control], "bootstrap"
                            ),
                            pair=self._pair(record, label_row, control),
                            reference=reference,
                            unreliable_groups=record.unreliable[label_row][control],
                        )
                    )
        return out


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
    control_features: Any | None = None,
    sample_weight: Any | None = None,
    task: TaskMode = "auto",
    pos_label: Hashable | None = None,
    reference_group: ReferenceMode = "majority",
    min_group_size: int = 30,
    n_boot: int = 1000,
    confidence_level: float = 0.95,
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
        The bounds to check.
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
    min_group_size : int, default 30
        Groups with fewer rows are flagged and never judged as fair.
    n_boot : int, default 1000
        Bootstrap replicates for confidence intervals; 0 disables them.
    confidence_level : float, default 0.95
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
    >>> from bias_checks import Threshold, audit_predictions
    >>> result = audit_predictions(
    ...     [1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 1],
    ...     sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...     thresholds=[Threshold("demographic_parity_difference", 0.7)],
    ...     min_group_size=1, n_boot=0,
    ... )
    >>> round(result.disparity("demographic_parity_difference")[0].value, 4)
    0.6667
    >>> result.verdict.value
    'PASS'
    """
    thresholds = tuple(thresholds)
    _check_parameters(
        min_group_size=min_group_size,
        n_boot=n_boot,
        confidence_level=confidence_level,
        thresholds=thresholds,
    )
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
        min_group_size=min_group_size,
        n_boot=n_boot,
        confidence_level=confidence_level,
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
        ("confidence_level", float(confidence_level)),
        ("min_group_size", min_group_size),
        ("reference_group", reference),
        ("bootstrap", bootstrap),
        ("ci_method", "percentile"),
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
        disparities=tuple(audit.disparity_results()),
        checks=tuple(checks),
        verdict=overall_verdict([c.verdict for c in checks]),
        warnings=tuple(audit_warnings(audit, bool(thresholds))),
        custom_metrics=tuple(custom),
    )
