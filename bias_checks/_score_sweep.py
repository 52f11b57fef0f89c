"""Each group's selection rate, TPR and FPR across cutoffs on the scores."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bias_checks._engine import build_group_index, make_grouping
from bias_checks._errors import InvalidParameterError
from bias_checks._groups import decode_keys
from bias_checks._inputs import EncodedInput, FloatArray, IntArray, encode_input

GroupKey = tuple[tuple[str, Any], ...]
SWEEP_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")
DEFAULT_STEPS = 21
INVALID_CUTOFFS = "cutoffs must be a non-empty sequence of finite numbers."


@dataclass(frozen=True)
class GroupSweep:
    """One group's rates at each cutoff (NaN where the rate's denominator is empty)."""

    group: GroupKey
    count: int
    selection_rate: tuple[float, ...]
    true_positive_rate: tuple[float, ...]
    false_positive_rate: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": dict(self.group),
            "count": self.count,
            "selection_rate": list(self.selection_rate),
            "true_positive_rate": list(self.true_positive_rate),
            "false_positive_rate": list(self.false_positive_rate),
        }


@dataclass(frozen=True)
class CutoffSweep:
    """Rates of every group (intersections of the sensitive features) across ``cutoffs``;
    a score at or above a cutoff is a positive prediction."""

    grouping: tuple[str, ...]
    cutoffs: tuple[float, ...]
    groups: tuple[GroupSweep, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": list(self.grouping),
            "cutoffs": list(self.cutoffs),
            "groups": [g.to_dict() for g in self.groups],
        }


def _cutoffs(scores: FloatArray, cutoffs: Sequence[float] | None) -> FloatArray:
    if cutoffs is None:
        if scores.min() >= 0 and scores.max() <= 1:
            return np.linspace(0.0, 1.0, DEFAULT_STEPS)
        return np.unique(np.quantile(scores, np.linspace(0.0, 1.0, DEFAULT_STEPS)))
    try:
        out = np.asarray(cutoffs, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidParameterError(INVALID_CUTOFFS, cutoffs=repr(cutoffs)) from None
    if out.ndim != 1 or out.size == 0 or not np.isfinite(out).all():
        raise InvalidParameterError(INVALID_CUTOFFS, cutoffs=repr(cutoffs))
    return np.sort(out)


def _share_at_or_above(sorted_scores: FloatArray, cutoffs: FloatArray) -> FloatArray:
    if sorted_scores.size == 0:
        return np.full(cutoffs.shape, np.nan)
    below = np.searchsorted(sorted_scores, cutoffs, side="left")
    return (sorted_scores.size - below) / sorted_scores.size


def sweep_encoded(
    encoded: EncodedInput,
    row_group: IntArray,
    keys: Sequence[GroupKey],
    grouping: tuple[str, ...],
    cutoffs: Sequence[float] | None = None,
) -> CutoffSweep:
    """The sweep of already encoded input over the groups ``row_group`` indexes."""
    assert encoded.y_score is not None
    scores = encoded.y_score
    points = _cutoffs(scores, cutoffs)
    positive = encoded.y_true == encoded.classes.index(encoded.pos_label)
    order = np.lexsort((scores, row_group))  # by group, then by score: one sort for all
    bounds = np.searchsorted(row_group[order], np.arange(len(keys) + 1))
    out = []
    for g, key in enumerate(keys):
        rows = order[bounds[g] : bounds[g + 1]]
        s, pos = scores[rows], positive[rows]
        out.append(
            GroupSweep(
                key,
                int(rows.size),
                tuple(_share_at_or_above(s, points).tolist()),
                tuple(_share_at_or_above(s[pos], points).tolist()),
                tuple(_share_at_or_above(s[~pos], points).tolist()),
            )
        )
    return CutoffSweep(grouping, tuple(points.tolist()), tuple(out))


def cutoff_sweep(
    y_true: Any,
    y_score: Any,
    *,
    sensitive_features: Any,
    cutoffs: Sequence[float] | None = None,
    pos_label: Hashable | None = None,
) -> CutoffSweep:
    """Each group's selection rate, TPR and FPR at every cutoff on the scores.

    One sort per group and :func:`numpy.searchsorted` give all cutoffs at once.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    y_score : array-like of shape (n,)
        Scores of the positive class.
    sensitive_features : array-like, Series, DataFrame or dict of 1-D arrays
        Groups are the intersections of the features.
    cutoffs : sequence of float, optional
        Default: 0, 0.05, ..., 1 for scores in [0, 1], else 21 quantiles of the scores.
    pos_label : scalar, optional
        The positive label (default 1 for labels within {0, 1} or {-1, 1}).

    Returns
    -------
    CutoffSweep

    Examples
    --------
    >>> sweep = cutoff_sweep([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.7],
    ...                      sensitive_features=["a", "a", "b", "b"], cutoffs=[0.5, 0.8])
    >>> sweep.groups[1].false_positive_rate
    (1.0, 0.0)
    """
    encoded = encode_input(
        y_true,
        y_true,
        sensitive_features=sensitive_features,
        control_features=None,
        sample_weight=None,
        task="binary",
        pos_label=pos_label,
        y_score=y_score,
    )
    index = build_group_index(encoded.sensitive)
    grouping = make_grouping(index, 0, list(range(len(encoded.sensitive))))
    keys, _controls = decode_keys(index, grouping, 0)
    row_group = grouping.members[index.row_group]
    return sweep_encoded(encoded, row_group, keys, grouping.features, cutoffs)
