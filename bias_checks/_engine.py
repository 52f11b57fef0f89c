"""Sufficient statistics per group and every count-based metric derived from them.

The data are read once: each row gets a group code (the combination of its control and
sensitive feature values that is present in the data) and a cell code (its true and
predicted class). One ``bincount`` gives the weighted confusion matrix of every group; all
groupings (intersectional, marginal, overall) are sums of those matrices, and all metrics are
arithmetic on them. Every function below accepts extra leading axes, so the same code
evaluates point estimates and bootstrap replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bias_checks._inputs import EncodedInput, Feature, FloatArray, IntArray

_DENSE_CODE_LIMIT = 1 << 24
_CODE_LIMIT = 1 << 62

CLASSIFICATION_METRICS: tuple[str, ...] = (
    "count",
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
    "precision",
    "false_discovery_rate",
    "balanced_accuracy",
)
REGRESSION_METRICS: tuple[str, ...] = ("count", "mean_absolute_error", "root_mean_squared_error")
LABEL_FREE_METRICS = frozenset(
    {"count", "accuracy", "balanced_accuracy", "mean_absolute_error", "root_mean_squared_error"}
)
RATE_DENOMINATORS: dict[str, str] = {
    "selection_rate": "all",
    "accuracy": "all",
    "true_positive_rate": "positives",
    "false_negative_rate": "positives",
    "false_positive_rate": "negatives",
    "true_negative_rate": "negatives",
    "precision": "predicted_positives",
    "false_discovery_rate": "predicted_positives",
}


@dataclass(frozen=True)
class GroupIndex:
    """The feature combinations present in the data, in lexicographic order of levels."""

    features: tuple[Feature, ...]
    keys: IntArray
    row_group: IntArray

    @property
    def n_groups(self) -> int:
        return int(self.keys.shape[0])


def _dense_factorize(code: np.ndarray[Any, Any], bound: int) -> tuple[IntArray, IntArray]:
    if bound <= _DENSE_CODE_LIMIT:
        present = np.flatnonzero(np.bincount(code, minlength=bound))
        lookup = np.zeros(bound, dtype=np.intp)
        lookup[present] = np.arange(present.size, dtype=np.intp)
        return lookup[code], present
    codes, uniques = pd.factorize(code, sort=True)
    return codes.astype(np.intp, copy=False), np.asarray(uniques)


def build_group_index(features: Sequence[Feature]) -> GroupIndex:
    """Encode each row's combination of feature values as one dense, sorted group code."""
    n_rows = len(features[0].codes)
    code = np.zeros(n_rows, dtype=np.int64)
    bound = 1
    for feature in features:
        size = max(len(feature.levels), 1)
        if bound * size >= _CODE_LIMIT:
            compact, present = _dense_factorize(code, bound)
            code, bound = compact.astype(np.int64), int(present.size)
        code *= size
        code += feature.codes
        bound *= size
    row_group, _ = _dense_factorize(code, bound)
    first = pd.Series(row_group).drop_duplicates().index.to_numpy()
    keys = np.empty((first.size, len(features)), dtype=np.intp)
    groups = row_group[first]
    for j, feature in enumerate(features):
        keys[groups, j] = feature.codes[first]
    return GroupIndex(tuple(features), keys, row_group)


@dataclass(frozen=True)
class CellStats:
    """Per-group statistics: unweighted counts, weighted sums and weighted squares.

    Classification: ``counts``, ``weights`` and ``weights_sq`` have shape (G, K, K), indexed
    by true class and predicted class. Regression: ``counts`` has shape (G,), ``weights`` has
    shape (G, 3) holding the sums of w, w*|e| and w*e**2, and ``moments`` (for the bootstrap)
    the per-group sums of products of those three per-row terms, shape (G, 3, 3).
    """

    counts: np.ndarray[Any, Any]
    weights: np.ndarray[Any, Any]
    weights_sq: np.ndarray[Any, Any] | None
    moments: np.ndarray[Any, Any] | None
    noise_variance: np.ndarray[Any, Any] | None = None
    """Classification only: variance of noise added to each count cell, shape (G, K, K)."""


def classification_cells(encoded: EncodedInput, index: GroupIndex) -> CellStats:
    """Weighted confusion matrix of every group, from three ``bincount`` calls at most."""
    k = len(encoded.classes)
    cells = index.row_group * (k * k)
    cells += encoded.y_true * k
    cells += encoded.y_pred
    size = index.n_groups * k * k
    counts = np.bincount(cells, minlength=size).reshape(index.n_groups, k, k)
    if encoded.sample_weight is None:
        return CellStats(counts, counts.astype(np.float64), None, None)
    w = encoded.sample_weight
    weights = np.bincount(cells, weights=w, minlength=size).reshape(counts.shape)
    weights_sq = np.bincount(cells, weights=w * w, minlength=size).reshape(counts.shape)
    return CellStats(counts, weights, weights_sq, None)


def regression_cells(encoded: EncodedInput, index: GroupIndex, *, moments: bool) -> CellStats:
    """Per-group sums of w, w*|e| and w*e**2 (and their cross products for the bootstrap)."""
    g = index.n_groups
    rg = index.row_group
    err = encoded.y_true - encoded.y_pred
    w = encoded.sample_weight if encoded.sample_weight is not None else np.ones_like(err)
    terms = (w, w * np.abs(err), w * err * err)
    counts = np.bincount(rg, minlength=g)
    sums = np.stack([np.bincount(rg, weights=t, minlength=g) for t in terms], axis=-1)
    products: FloatArray | None = None
    if moments:
        products = np.empty((g, 3, 3))
        for i in range(3):
            for j in range(i, 3):
                s = np.bincount(rg, weights=terms[i] * terms[j], minlength=g)
                products[:, i, j] = s
                products[:, j, i] = s
    return CellStats(counts, sums, None, products)


@dataclass(frozen=True)
class Grouping:
    """One way of splitting the rows: by control features and a subset of sensitive ones.

    ``members`` maps each base group (row of the group index) to a group of this grouping;
    ``keys`` holds, per group, the codes of ``control`` then ``features``; ``control_of``
    gives each group's control level (an index into the overall grouping).
    """

    features: tuple[str, ...]
    keys: IntArray
    members: IntArray
    control_of: IntArray
    n_control: int

    @property
    def n_groups(self) -> int:
        return int(self.keys.shape[0])

    def aggregate(self, base: np.ndarray[Any, Any], axis: int) -> np.ndarray[Any, Any]:
        """Sum base-group statistics (group axis ``axis``) into this grouping's groups."""
        moved = np.moveaxis(base, axis, 0)
        out = np.zeros((self.n_groups, *moved.shape[1:]), dtype=np.result_type(moved, np.float64))
        np.add.at(out, self.members, moved)
        return np.moveaxis(out, 0, axis)


def make_grouping(index: GroupIndex, n_control: int, sensitive_columns: Sequence[int]) -> Grouping:
    """Group the base groups by their control columns plus ``sensitive_columns``."""
    columns = list(range(n_control)) + [n_control + c for c in sensitive_columns]
    sub = index.keys[:, columns]
    if sub.shape[1] == 0:
        keys = np.zeros((1, 0), dtype=np.intp)
        members = np.zeros(index.n_groups, dtype=np.intp)
    else:
        keys, members = np.unique(sub, axis=0, return_inverse=True)
        members = members.reshape(-1)
    control_keys = index.keys[:, :n_control]
    if n_control:
        levels, control_of_base = np.unique(control_keys, axis=0, return_inverse=True)
        control_of_base = control_of_base.reshape(-1)
        n_levels = int(levels.shape[0])
    else:
        control_of_base = np.zeros(index.n_groups, dtype=np.intp)
        n_levels = 1
    control_of = np.zeros(keys.shape[0], dtype=np.intp)
    control_of[members] = control_of_base
    names = tuple(index.features[n_control + c].name for c in sensitive_columns)
    return Grouping(names, keys.astype(np.intp), members.astype(np.intp), control_of, n_levels)


def _safe_divide(num: np.ndarray[Any, Any], den: np.ndarray[Any, Any], fill: float) -> FloatArray:
    out = np.full(np.broadcast(num, den).shape, fill, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def classification_metrics(
    cells: np.ndarray[Any, Any], counts: np.ndarray[Any, Any], label_index: Sequence[int]
) -> dict[str, FloatArray]:
    """Fairlearn's per-group metrics from weighted confusion matrices.

    ``cells`` has shape (..., G, K, K); ``counts`` (G, K, K) holds the unweighted counts. The
    result maps each metric to an array of shape (..., L, G): one row per label in
    ``label_index`` for one-vs-rest rate metrics, a single row for label-free metrics. A rate
    whose denominator is empty is undefined: NaN. (Fairlearn reports 0 for the confusion-matrix
    rates and precision there; every defined value equals Fairlearn's.)
    """
    k = cells.shape[-1]
    one = np.eye(k)[np.asarray(label_index, dtype=np.intp)]
    rest = 1.0 - one
    total = cells.sum(axis=(-1, -2))
    true_tot = cells.sum(axis=-1)
    diag = np.diagonal(cells, axis1=-2, axis2=-1)
    # Each one-vs-rest cell is a direct sum of confusion cells, never a difference of sums,
    # so an empty cell is exactly 0 (as in sklearn's confusion matrix).
    tp = np.einsum("...gij,li,lj->...lg", cells, one, one)
    fn = np.einsum("...gij,li,lj->...lg", cells, one, rest)
    fp = np.einsum("...gij,li,lj->...lg", cells, rest, one)
    tn = np.einsum("...gij,li,lj->...lg", cells, rest, rest)
    pos, neg, pp = tp + fn, tn + fp, tp + fp
    tot = total[..., None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(true_tot > 0, diag / np.where(true_tot > 0, true_tot, 1), np.nan)
    n_defined = (true_tot > 0).sum(axis=-1)
    balanced = _safe_divide(np.nansum(recall, axis=-1), n_defined, np.nan)
    result = {
        "count": np.broadcast_to(counts.sum(axis=(-1, -2)).astype(np.float64), total.shape)[
            ..., None, :
        ],
        "selection_rate": _safe_divide(pp, tot, np.nan),
        "accuracy": _safe_divide(diag.sum(axis=-1), total, np.nan)[..., None, :],
        "true_positive_rate": _safe_divide(tp, pos, np.nan),
        "false_positive_rate": _safe_divide(fp, neg, np.nan),
        "false_negative_rate": _safe_divide(fn, pos, np.nan),
        "true_negative_rate": _safe_divide(tn, neg, np.nan),
        "precision": _safe_divide(tp, pp, np.nan),
        "false_discovery_rate": _safe_divide(fp, pp, np.nan),
        "balanced_accuracy": balanced[..., None, :],
    }
    return result


def regression_metrics(
    sums: np.ndarray[Any, Any], counts: np.ndarray[Any, Any]
) -> dict[str, FloatArray]:
    """Per-group MAE and RMSE from sums of w, w*|e|, w*e**2; shape (..., 1, G)."""
    weight, abs_err, sq_err = sums[..., 0], sums[..., 1], sums[..., 2]
    mse = np.clip(_safe_divide(sq_err, weight, np.nan), 0.0, None)
    return {
        "count": np.broadcast_to(counts.astype(np.float64), weight.shape)[..., None, :],
        "mean_absolute_error": _safe_divide(abs_err, weight, np.nan)[..., None, :],
        "root_mean_squared_error": np.sqrt(mse)[..., None, :],
    }


def rate_parts(
    cells: np.ndarray[Any, Any], label_index: Sequence[int]
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Numerator and denominator sums (L, G) of every rate metric, from (G, K, K) cells.

    Called with weights, weight squares or counts; a rate is ``numerator / denominator``
    (accuracy keeps a single, label-free row).
    """
    k = cells.shape[-1]
    one = np.eye(k)[np.asarray(label_index, dtype=np.intp)]
    rest = 1.0 - one
    tp = np.einsum("gij,li,lj->lg", cells, one, one)
    fn = np.einsum("gij,li,lj->lg", cells, one, rest)
    fp = np.einsum("gij,li,lj->lg", cells, rest, one)
    tn = np.einsum("gij,li,lj->lg", cells, rest, rest)
    total = np.broadcast_to(cells.sum(axis=(-1, -2)), tp.shape)
    correct = np.diagonal(cells, axis1=-2, axis2=-1).sum(axis=-1)[None, :]
    pos, neg, pp = tp + fn, tn + fp, tp + fp
    return {
        "selection_rate": (pp, total),
        "accuracy": (correct, total[:1]),
        "true_positive_rate": (tp, pos),
        "false_negative_rate": (fn, pos),
        "false_positive_rate": (fp, neg),
        "true_negative_rate": (tn, neg),
        "precision": (tp, pp),
        "false_discovery_rate": (fp, pp),
    }


def denominators(
    counts: np.ndarray[Any, Any], label_index: Sequence[int]
) -> dict[str, np.ndarray[Any, Any]]:
    """Unweighted denominator sizes (L, G) of the rate metrics: who each rate is about."""
    lab = np.asarray(label_index, dtype=np.intp)
    total = counts.sum(axis=(-1, -2))
    pos = counts.sum(axis=-1)[..., lab].T
    return {
        "all": np.broadcast_to(total, pos.shape),
        "positives": pos,
        "negatives": total[None, :] - pos,
        "predicted_positives": counts.sum(axis=-2)[..., lab].T,
    }


def effective_denominators(
    weights: FloatArray, weights_sq: FloatArray, label_index: Sequence[int]
) -> dict[str, FloatArray]:
    """Kish effective sample sizes (sum w)^2 / sum w^2 of each rate's denominator, (L, G)."""
    sums = denominators(weights, label_index)
    squares = denominators(weights_sq, label_index)
    return {
        key: _safe_divide(np.asarray(sums[key]) ** 2, np.asarray(squares[key]), 0.0) for key in sums
    }
