"""The computed state of one audit: encoded input, group index, confusion cells, bootstrap
replicates and the group tables, plus the group references that results point to.

:mod:`bias_checks._measure` judges evidence on it, :mod:`bias_checks._assemble` turns it
into result objects, and :func:`bias_checks.audit_predictions` builds it. It imports neither,
so the three form no cycle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from bias_checks._disparities import OVERALL
from bias_checks._engine import (
    CLASSIFICATION_METRICS,
    LABEL_FREE_METRICS,
    REGRESSION_METRICS,
    CellStats,
    GroupIndex,
    build_group_index,
    classification_cells,
    make_grouping,
    regression_cells,
)
from bias_checks._errors import InvalidParameterError, TooManyGroupsError
from bias_checks._evidence import EvidenceRule
from bias_checks._groups import GroupTable, ReferenceMode, build_table
from bias_checks._inputs import EncodedInput
from bias_checks._judged import Judged
from bias_checks._results import GroupRef, Interval
from bias_checks._rounding import round_down, round_up
from bias_checks._scores import GroupScores, group_interval, group_scores
from bias_checks._scores_counted import ScoreCounts, counted_group_scores, index_groups
from bias_checks._uncertainty import bootstrap_classification, bootstrap_regression
from bias_checks.catalogue import SCORE_METRICS, MetricInfo


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
    """The reported interval: ends rounded outward (see :mod:`bias_checks._rounding`) unless
    exact, so the same audit gives the same report bytes on every CPU."""
    if math.isnan(low) or math.isnan(high):
        return None
    if method == "exact":
        return Interval(float(low), float(high), method)
    return Interval(round_down(low), round_up(high), method)


class _Audit:
    def __init__(
        self,
        encoded: EncodedInput,
        *,
        rule: EvidenceRule,
        n_boot: int,
        random_state: int | None,
        reference_group: ReferenceMode,
        max_groups: int,
        counted: tuple[GroupIndex, CellStats] | None = None,
        counted_scores: ScoreCounts | None = None,
    ) -> None:
        """``counted`` gives the group index and cells already summed (an audit from
        counts); otherwise they are computed from ``encoded``'s rows. ``counted_scores``
        gives the score statistics of such an audit (:mod:`bias_checks._scores_counted`).
        More than ``max_groups`` groups is :class:`TooManyGroupsError`, before any metric."""
        self.encoded = encoded
        self.n_control = len(encoded.control)
        self.rule = rule
        self.min_group_size = rule.min_group_size
        self.n_boot = n_boot
        self.random_state = random_state
        self.reference_mode = reference_group
        self.index: GroupIndex = (
            build_group_index(encoded.control + encoded.sensitive)
            if counted is None
            else counted[0]
        )
        if self.index.n_groups > max_groups:
            names = [f.name for f in encoded.control + encoded.sensitive]
            raise TooManyGroupsError.of(names, self.index.n_groups, max_groups)
        self.classification = encoded.task != "regression"
        self.metric_names = CLASSIFICATION_METRICS if self.classification else REGRESSION_METRICS
        self.label_index = label_index(encoded) if self.classification else [0]
        rng = np.random.default_rng(random_state)
        if self.classification:
            stats = classification_cells(encoded, self.index) if counted is None else counted[1]
            replicates = None
            if n_boot:
                replicates = bootstrap_classification(
                    stats.counts,
                    stats.weights,
                    n_boot=n_boot,
                    rng=rng,
                    weighted=stats.weights_sq is not None,
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
        self.scores: list[tuple[GroupTable, GroupScores]] = []
        self.counted_scores = counted_scores
        #: Scores given with weights: score metrics are omitted (and refused in checks).
        self.weighted_scores = (
            encoded.y_score is not None and encoded.sample_weight is not None
        ) or (counted_scores is not None and counted_scores.weighted)
        if encoded.y_score is not None and encoded.sample_weight is None and counted is None:
            self._add_scores(encoded.y_score)
        elif counted_scores is not None and not counted_scores.weighted:
            self._add_counted_scores(counted_scores)

    # ----- score metrics ----------------------------------------------------------------
    def _add_scores(self, y_score: np.ndarray[Any, Any]) -> None:
        """Score metrics of every table, stored beside its label metrics."""
        positive = self.encoded.y_true == self.label_index[0]
        for table in [self.overall, *self.tables]:
            row_group = table.grouping.members[self.index.row_group]
            scores = group_scores(positive, y_score, row_group, table.grouping.n_groups)
            self._store_scores(table, scores)
        self.metric_names = (*self.metric_names, *sorted(SCORE_METRICS))

    def counted_index_groups(self, counted: ScoreCounts) -> np.ndarray[Any, Any]:
        """The group index row of each of ``counted``'s groups."""
        features = self.index.features
        lookup = {
            tuple(f.levels[int(c)] for f, c in zip(features, row, strict=True)): g
            for g, row in enumerate(self.index.keys)
        }
        return index_groups(lookup, counted.keys)

    def _add_counted_scores(self, counted: ScoreCounts) -> None:
        base = self.counted_index_groups(counted)
        for table in [self.overall, *self.tables]:
            group_of = table.grouping.members[base]
            scores = counted_group_scores(counted, group_of, table.grouping.n_groups)
            self._store_scores(table, scores)
        self.metric_names = (*self.metric_names, *sorted(SCORE_METRICS))

    def _store_scores(self, table: GroupTable, scores: GroupScores) -> None:
        alpha = 1.0 - self.rule.confidence_level
        for metric in sorted(SCORE_METRICS):
            value = scores.value(metric)[None, :]
            table.values[metric] = value
            table.defined[metric] = np.isfinite(value)
            table.reliable[metric] = np.isfinite(value) & (table.counts >= self.rule.min_group_size)
            low, high = group_interval(scores, metric, alpha / 2)
            table.ci[metric] = (low[None, :], high[None, :])
        self.scores.append((table, scores))

    @property
    def has_scores(self) -> bool:
        return bool(self.scores)

    def scores_of(self, table: GroupTable) -> GroupScores:
        return next(scores for known, scores in self.scores if known is table)

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

    # ----- group references ---------------------------------------------------------
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
