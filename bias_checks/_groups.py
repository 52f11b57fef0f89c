"""Per-grouping metric tables: values, bootstrap replicates, reliability and references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bias_checks._disparities import OVERALL
from bias_checks._engine import (
    RATE_DENOMINATORS,
    CellStats,
    GroupIndex,
    Grouping,
    classification_metrics,
    denominators,
    effective_denominators,
    regression_metrics,
)
from bias_checks._errors import InvalidParameterError, UnknownReferenceGroupError
from bias_checks._inputs import EncodedInput, FloatArray, IntArray
from bias_checks._uncertainty import percentile_interval, wilson_interval
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
    wilson: dict[str, tuple[FloatArray, FloatArray]]
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


def _reliability(
    values: dict[str, FloatArray],
    *,
    counts_cells: np.ndarray[Any, Any],
    sizes: np.ndarray[Any, Any],
    stats: CellStats,
    grouping: Grouping,
    weights: np.ndarray[Any, Any],
    label_index: Sequence[int],
    min_group_size: int,
    confidence_level: float,
    present_classes: BoolArray | None,
    classification: bool,
) -> tuple[dict[str, BoolArray], dict[str, BoolArray], dict[str, tuple[FloatArray, FloatArray]]]:
    """Which group values are defined, which are reliable, and Wilson intervals of rates."""
    big = sizes >= min_group_size
    defined: dict[str, BoolArray] = {}
    reliable: dict[str, BoolArray] = {}
    wilson: dict[str, tuple[FloatArray, FloatArray]] = {}
    if classification:
        dens = denominators(counts_cells, label_index)
        if stats.weights_sq is None:
            n_eff = {k: np.asarray(v, dtype=np.float64) for k, v in dens.items()}
        else:
            weights_sq = grouping.aggregate(stats.weights_sq, axis=0)
            n_eff = effective_denominators(weights, weights_sq, label_index)
    for metric, value in values.items():
        shape = value.shape
        if metric == "count":
            ok = np.ones(shape, dtype=bool)
            defined[metric], reliable[metric] = ok, ok
        elif classification and metric in RATE_DENOMINATORS:
            kind = RATE_DENOMINATORS[metric]
            rows = shape[0]  # label-free rates (accuracy) keep one row
            ok = np.asarray(dens[kind])[:rows] > 0
            defined[metric], reliable[metric] = ok, ok & big
            wilson[metric] = wilson_interval(value, n_eff[kind][:rows], confidence_level)
        elif metric == "balanced_accuracy":
            true_counts = counts_cells.sum(axis=-1)
            assert present_classes is not None
            defined[metric] = (true_counts > 0).any(axis=-1)[None, :]
            reliable[metric] = big & (true_counts[:, present_classes] > 0).all(axis=-1)[None, :]
        else:
            defined[metric] = np.broadcast_to(sizes > 0, shape)
            reliable[metric] = defined[metric] & big
    return defined, reliable, wilson


def build_table(
    *,
    encoded: EncodedInput,
    index: GroupIndex,
    grouping: Grouping,
    stats: CellStats,
    base_replicates: FloatArray | None,
    label_index: Sequence[int],
    min_group_size: int,
    confidence_level: float,
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

    defined, reliable, wilson = _reliability(
        values,
        counts_cells=counts_cells,
        sizes=sizes,
        stats=stats,
        grouping=grouping,
        weights=weights,
        label_index=label_index,
        min_group_size=min_group_size,
        confidence_level=confidence_level,
        present_classes=present_classes,
        classification=classification,
    )
    ci: dict[str, tuple[FloatArray, FloatArray]] = {}
    if replicates is not None:
        ci = {m: percentile_interval(r, confidence_level) for m, r in replicates.items()}
    group_keys, control_keys = decode_keys(index, grouping, n_control)
    return GroupTable(
        grouping=grouping,
        counts=sizes,
        weight=weight,
        true_counts=counts_cells.sum(axis=-1) if classification else None,
        pred_counts=counts_cells.sum(axis=-2) if classification else None,
        values=values,
        replicates=replicates,
        defined=defined,
        reliable=reliable,
        wilson=wilson,
        ci=ci,
        group_keys=group_keys,
        control_keys=control_keys,
    )


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
