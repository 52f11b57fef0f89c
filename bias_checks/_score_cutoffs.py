"""Per-group cutoffs: a mapping from group value to cutoff becomes one cutoff per row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bias_checks._engine import build_group_index
from bias_checks._errors import (
    CUTOFF_MISSING_GROUP,
    INVALID_CUTOFF,
    InvalidParameterError,
    NanInSensitiveFeaturesError,
)
from bias_checks._inputs import FloatArray, encode_features

GroupCutoffs = tuple[tuple[tuple[tuple[str, Any], ...], float], ...]


def _finite(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParameterError(INVALID_CUTOFF, cutoff=repr(value))
    return float(value)


def row_cutoffs(
    cutoffs: Mapping[Any, float], sensitive_features: Any, n_rows: int
) -> tuple[FloatArray, GroupCutoffs]:
    """Each row's cutoff, from ``{group value: cutoff}`` (a tuple of values, in feature
    order, with several sensitive features); and the mapping as ``((group, cutoff), ...)``
    for the report. Every group present needs a cutoff."""
    features = encode_features(
        sensitive_features,
        n_rows=n_rows,
        base_name="sensitive_feature_",
        missing_error=NanInSensitiveFeaturesError,
    )
    index = build_group_index(features)
    per_group = np.empty(index.n_groups)
    used = []
    for g, codes in enumerate(index.keys):
        values = tuple(f.levels[c] for f, c in zip(features, codes, strict=True))
        key = values[0] if len(values) == 1 else values
        if key not in cutoffs:
            raise InvalidParameterError(CUTOFF_MISSING_GROUP, group=repr(key))
        per_group[g] = _finite(cutoffs[key])
        group = tuple((f.name, v) for f, v in zip(features, values, strict=True))
        used.append((group, float(per_group[g])))
    return per_group[index.row_group], tuple(used)
