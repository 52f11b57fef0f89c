"""Per-grouping metric tables: values, bootstrap replicates, reliability and references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bias_checks._disparities import OVERALL
from bias_checks._engine import (
    CellStats,
    GroupIndex,
    Grouping,
    classification_metrics,
    rate_parts,
    regression_metrics,
)
from bias_checks._errors import InvalidParameterError, UnknownReferenceGroupError
from bias_checks._evidence import EvidenceRule
from bias_checks._inputs import EncodedInput, FloatArray, IntArray
from bias_checks._intervals import wilson
from bias_checks._rate_stats import RateStats
from bias_checks._uncertainty import percentile_interval
from bias_checks.catalogue import METRICS

ReferenceMode = Literal["majority", "best"] | Mapping[str, Any]
GroupKey = tuple[tuple[str, Any], ...]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass
class GroupTable:
    """All per-group numbers of one grouping. Metric arrays have shape (L, G)."""

    grouping: Grouping
    counts: IntArray
    weight: FloatArray
    true_counts: IntArray | None
    pred_counts: IntArray | None
    values: dict[str, FloatArray]
    replicates: dict[str, FloatArray] | None
    defined: dict[str, BoolArray]
    reliable: dict[str, BoolArray]
    rates: dict[str, RateStats]
    all_classes: BoolArray | None
    ci: dict[str, tuple[FloatArray, FloatArray]]
    group_keys: tuple[GroupKey, ...]
    control_keys: tuple[GroupKey, ...]


def decode_keys(
    index: GroupIndex, grouping: Grouping, n_control: int
) -> tuple[tuple[GroupKey, ...], tuple[GroupKey, ...]]:
    """Turn a grouping's code rows into ``((feature, value), ...)`` keys: (groups, controls)."""
    features = index.features
    names = list(grouping.features)
    by_name = {f.name: f for f in features}
    groups = []
    controls = []
    for row in grouping.keys:
        control = tuple((features[j].name, features[j].levels[row[j]]) for j in range(n_control))
        group = tuple(
            (name, by_name[name].levels[row[n_control + i]]) for i, name in enumerate(names)
        )
        groups.append(group)
        controls.append(control)
    return tuple(groups), tuple(controls)


def _defined(
    values: dict[str, FloatArray],
    *,
    counts_cells: np.ndarray[Any, Any],
    sizes: np.ndarray[Any, Any],
    rates: dict[str, RateStats],
    present_classes: BoolArray | None,
) -> tuple[dict[str, BoolArray], BoolArray | None]:
    """Where each metric is defined, and (balanced accuracy) where every class is present."""
    defined: dict[str, BoolArray] = {}
    all_classes = None
    for metric, value in values.items():
        if metric == "count":
            defined[metric] = np.ones(value.shape, dtype=bool)
        elif metric in rates:
            defined[metric] = (rates[metric].den > 0) & (rates[metric].n_eff > 0)
        elif metric == "balanced_accuracy":
            true_counts = counts_cells.sum(axis=-1)
            assert present_classes is not None
            defined[metric] = (true_counts > 0).any(axis=-1)[None, :]
            all_classes = (true_counts[:, present_classes] > 0).all(axis=-1)[None, :]
        else:
            defined[metric] = np.broadcast_to(sizes > 0, value.shape)
    return defined, all_classes


def reliable_for(table: GroupTable, metric: str, rule: EvidenceRule) -> BoolArray:
    """Groups (L, G) whose ``metric`` may be judged under ``rule``.

    A group needs ``min_group_size`` rows and the metric defined; a rate also needs
    ``min_denominator`` (effective, with weights) rows in its denominator; balanced accuracy
    needs every class that occurs in the data. ``count`` is exact, not an estimate: every
    group is judged, whatever its size (a group the rule left out would let ``count >= n``
    PASS beside a group of fewer rows).
    """
    if metric == "count":
        return np.asarray(table.defined[metric], dtype=bool)
    ok = table.defined[metric] & (table.counts >= rule.min_group_size)
    if metric in table.rates:
        ok = ok & (table.rates[metric].n_eff >= max(rule.min_denominator, 1))
    if metric == "balanced_accuracy" and table.all_classes is not None:
        ok = ok & table.all_classes
    return np.asarray(ok, dtype=bool)


def build_table(
    *,
    encoded: EncodedInput,
    index: GroupIndex,
    grouping: Grouping,
    stats: CellStats,
    base_replicates: FloatArray | None,
    label_index: Sequence[int],
    rule: EvidenceRule,
    present_classes: BoolArray | None,
) -> GroupTable:
    """Aggregate base-group statistics into this grouping and derive every metric."""
    n_control = len(encoded.control)
    classification = encoded.task != "regression"
    counts_f = grouping.aggregate(stats.counts, axis=0)
    counts_cells = np.rint(counts_f).astype(np.int64)
    weights = grouping.aggregate(stats.weights, axis=0)
    replicates = None
    if classification:
        values = classification_metrics(weights, counts_cells, label_index)
        sizes = counts_cells.sum(axis=(-1, -2))
        weight = weights.sum(axis=(-1, -2))
        if base_replicates is not None:
            rep_cells = grouping.aggregate(base_replicates, axis=1)
            replicates = classification_metrics(rep_cells, counts_cells, label_index)
    else:
        values = regression_metrics(weights, counts_cells)
        sizes = counts_cells
        weight = weights[:, 0]
        if base_replicates is not None:
            replicates = regression_metrics(
                grouping.aggregate(base_replicates, axis=1), counts_cells
            )

    rates: dict[str, RateStats] = {}
    if classification:
        squares = counts_cells
        if stats.weights_sq is not None:
            squares = grouping.aggregate(stats.weights_sq, axis=0)
        sums = rate_parts(weights, label_index)
        sq = rate_parts(np.asarray(squares, dtype=np.float64), label_index)
        noise: dict[str, tuple[FloatArray, FloatArray]] = {}
        if stats.noise_variance is not None:
            noise = rate_parts(grouping.aggregate(stats.noise_variance, axis=0), label_index)
        weighted = stats.weights_sq is not None
        rates = {
            m: RateStats(
                num,
                den,
                sq[m][1],
                noise_num=noise[m][0] if m in noise else None,
                noise_den=noise[m][1] if m in noise else None,
                num_sq=sq[m][0] if weighted else None,
            )
            for m, (num, den) in sums.items()
        }
    defined, all_classes = _defined(
        values,
        counts_cells=counts_cells,
        sizes=sizes,
        rates=rates,
        present_classes=present_classes,
    )
    alpha = 1.0 - rule.confidence_level
    ci: dict[str, tuple[FloatArray, FloatArray]] = {
        m: wilson(r.p, r.n_eff, alpha) for m, r in rates.items()
    }
    if replicates is not None:
        for m, r in replicates.items():
            if m not in ci and m != "count":
                ci[m] = percentile_interval(r, rule.confidence_level)
    group_keys, control_keys = decode_keys(index, grouping, n_control)
    table = GroupTable(
        grouping=grouping,
        counts=sizes,
        weight=weight,
        true_counts=counts_cells.sum(axis=-1) if classification else None,
        pred_counts=counts_cells.sum(axis=-2) if classification else None,
        values=values,
        replicates=replicates,
        defined=defined,
        reliable={},
        rates=rates,
        all_classes=all_classes,
        ci=ci,
        group_keys=group_keys,
        control_keys=control_keys,
    )
    table.reliable = {m: reliable_for(table, m, rule) for m in values}
    return table


def _named_reference_codes(
    index: GroupIndex, n_control: int, grouping: Grouping, named: Mapping[str, Any]
) -> list[int]:
    codes = []
    for name in grouping.features:
        feature = next(f for f in index.features[n_control:] if f.name == name)
        if name not in named or named[name] not in feature.levels:
            raise UnknownReferenceGroupError(feature=name)
        codes.append(feature.levels.index(named[name]))
    return codes


def reference_groups(
    table: GroupTable,
    *,
    metric: str,
    mode: ReferenceMode,
    index: GroupIndex,
    n_control: int,
) -> IntArray:
    """The reference group (L, C) of one metric in one grouping."""
    grouping = table.grouping
    values = table.values[metric]
    n_labels = values.shape[0]
    out = np.full((n_labels, grouping.n_control), OVERALL, dtype=np.intp)
    named_codes = None
    if not isinstance(mode, str):
        named_codes = np.asarray(_named_reference_codes(index, n_control, grouping, mode))
    elif mode not in ("majority", "best"):
        raise InvalidParameterError(parameter="reference_group", value=repr(mode))
    for c in range(grouping.n_control):
        members = np.flatnonzero(grouping.control_of == c)
        if named_codes is not None:
            match = members[(grouping.keys[members, n_control:] == named_codes).all(axis=1)]
            if match.size == 0:
                raise UnknownReferenceGroupError(control_level=c)
            out[:, c] = match[0]
        elif mode == "majority":
            out[:, c] = members[int(np.argmax(table.counts[members]))]
        else:
            block = values[:, members]
            if METRICS[metric].higher_is_better:
                best = np.where(np.isnan(block), -np.inf, block).argmax(axis=1)
            else:
                best = np.where(np.isnan(block), np.inf, block).argmin(axis=1)
            out[:, c] = members[best]
    return out
