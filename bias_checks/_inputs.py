"""Validate raw inputs and encode them as integer codes, once."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from bias_checks._errors import (
    CUTOFF_NEEDS_BINARY,
    DUPLICATE_FEATURE_NAME,
    INVALID_CUTOFF,
    INVALID_SCORES,
    POS_LABEL_REQUIRED,
    REGRESSION_TARGETS_NOT_NUMERIC,
    EmptyInputError,
    InvalidParameterError,
    InvalidSampleWeightError,
    LengthMismatchError,
    NanInControlFeaturesError,
    NanInLabelsError,
    NanInSensitiveFeaturesError,
    NonBinaryLabelsError,
    PosLabelError,
    ScoresWithoutCutoffError,
)

TaskMode = Literal["auto", "binary", "multiclass", "regression"]
ResolvedTask = Literal["binary", "multiclass", "regression"]
Label = Any
IntArray = np.ndarray[Any, np.dtype[np.intp]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class Feature:
    """One grouping feature: its name, its sorted distinct values and one code per row."""

    name: str
    levels: tuple[Label, ...]
    codes: IntArray


@dataclass(frozen=True)
class EncodedInput:
    """Validated inputs: labels as codes into ``classes`` (or floats for regression)."""

    task: ResolvedTask
    n_rows: int
    classes: tuple[Label, ...]
    pos_label: Label | None
    y_true: np.ndarray[Any, Any]
    y_pred: np.ndarray[Any, Any]
    sample_weight: FloatArray | None
    sensitive: tuple[Feature, ...]
    control: tuple[Feature, ...]
    y_score: FloatArray | None = None
    """Scores of the positive class (binary tasks), for the score metrics."""


def _to_1d(values: Any) -> np.ndarray[Any, Any]:
    if isinstance(values, (pd.Series, pd.Index)):
        return values.to_numpy()
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise LengthMismatchError(shape=list(values.shape))
        return values.iloc[:, 0].to_numpy()
    array = np.asarray(values)
    if array.ndim > 1:
        array = np.squeeze(array)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise LengthMismatchError(shape=list(array.shape))
    return array


def _has_missing(array: np.ndarray[Any, Any]) -> bool:
    if array.dtype.kind == "f":
        return bool(np.isnan(array).any())
    if array.dtype.kind in "biuSU":
        return False
    return bool(pd.isna(array).any())


def _split_features(features: Any, base_name: str) -> list[tuple[str, np.ndarray[Any, Any]]]:
    """Split features the way Fairlearn's MetricFrame does, naming unnamed ones likewise."""
    if isinstance(features, pd.Series):
        name = features.name if isinstance(features.name, str) else f"{base_name}0"
        return [(name, features.to_numpy())]
    if isinstance(features, pd.DataFrame):
        return [(str(col), features[col].to_numpy()) for col in features.columns]
    if isinstance(features, dict):
        return [(str(k), _to_1d(v)) for k, v in features.items()]
    if isinstance(features, list) and all(pd.api.types.is_scalar(f) for f in features):
        return [(f"{base_name}0", np.asarray(features, dtype=object))]
    array = np.asarray(features, dtype=object)
    if array.ndim == 1:
        return [(f"{base_name}0", array)]
    if array.ndim == 2:
        return [(f"{base_name}{i}", array[:, i]) for i in range(array.shape[1])]
    raise InvalidParameterError(parameter=base_name, ndim=int(array.ndim))


def _factorize(values: np.ndarray[Any, Any]) -> tuple[IntArray, tuple[Label, ...]]:
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
    levels = tuple(_python_scalar(u) for u in np.asarray(uniques, dtype=object))
    return codes.astype(np.intp, copy=False), levels


def _python_scalar(value: Any) -> Label:
    return value.item() if isinstance(value, np.generic) else value


def encode_features(
    features: Any,
    *,
    n_rows: int,
    base_name: str,
    missing_error: type[NanInSensitiveFeaturesError] | type[NanInControlFeaturesError],
) -> tuple[Feature, ...]:
    encoded = []
    for name, values in _split_features(features, base_name):
        if len(values) != n_rows:
            raise LengthMismatchError(feature=name, length=len(values), expected=n_rows)
        codes, levels = _factorize(values)
        if (codes < 0).any():  # factorize codes exactly what pd.isna calls missing as -1
            raise missing_error(feature=name)
        encoded.append(Feature(name, levels, codes))
    return tuple(encoded)


def _encode_weights(sample_weight: Any, n_rows: int) -> FloatArray | None:
    if sample_weight is None:
        return None
    weights = _to_1d(sample_weight)
    if len(weights) != n_rows:
        raise LengthMismatchError(sample_weight=len(weights), expected=n_rows)
    try:
        weights = weights.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise InvalidSampleWeightError() from None
    if not np.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise InvalidSampleWeightError()
    with np.errstate(over="ignore", under="ignore"):
        squares = float(np.square(weights).sum())
    if not (np.isfinite(squares) and squares > 0):  # Kish's effective size needs them
        raise InvalidSampleWeightError()
    return weights


def _unique_labels(y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any]) -> list[Label]:
    values = set(pd.unique(y_true).tolist()) | set(pd.unique(y_pred).tolist())
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=repr)


def _is_regression_target(array: np.ndarray[Any, Any]) -> bool:
    return array.dtype.kind == "f" and not bool(np.all(np.mod(array, 1) == 0))


def _holds_scores(array: np.ndarray[Any, Any]) -> bool:
    """Whether labels look like scores: float values that are not all whole numbers, also
    when they sit in an object or text column (a CSV read as text, JSON, a stray value),
    which would otherwise become a multiclass audit with one class per distinct score."""
    if array.dtype.kind not in "OSU":
        return _is_regression_target(array)
    distinct = pd.Series(pd.unique(array.ravel()))
    if distinct.map(lambda v: isinstance(v, (bool, np.bool_))).any():
        return False
    numbers = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=np.float64)
    finite = numbers[np.isfinite(numbers)]
    return bool(finite.size and (finite != np.round(finite)).any())


def _resolve_task(
    task: TaskMode, y_true: np.ndarray[Any, Any], y_pred: np.ndarray[Any, Any], n_classes: int
) -> ResolvedTask:
    if task != "auto":
        return task
    if _is_regression_target(y_true):
        return "regression"
    if _holds_scores(y_pred):
        raise ScoresWithoutCutoffError()
    return "binary" if n_classes <= 2 else "multiclass"


def _resolve_pos_label(classes: Sequence[Label], pos_label: Hashable | None) -> Label:
    if pos_label is None:
        present = frozenset(classes)
        if present <= {0, 1} or present <= {-1, 1}:
            return 1
        raise PosLabelError(POS_LABEL_REQUIRED, labels=[repr(c) for c in classes])
    if len(classes) == 2 and pos_label not in classes:
        raise PosLabelError(pos_label=repr(pos_label), labels=[repr(c) for c in classes])
    return pos_label


def _label_codes(values: np.ndarray[Any, Any], classes: tuple[Label, ...]) -> IntArray:
    if values.dtype.kind in "biu" and classes == tuple(range(len(classes))):
        return values.astype(np.intp, copy=False)
    categorical = pd.Categorical(values, categories=list(classes))
    return np.asarray(categorical.codes, dtype=np.intp)


def encode_input(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    control_features: Any | None,
    sample_weight: Any | None,
    task: TaskMode,
    pos_label: Hashable | None,
    y_score: Any | None = None,
    cutoff: float | FloatArray | None = None,
) -> EncodedInput:
    """Validate and encode the inputs of an audit; raise a specific error on bad input.

    With ``cutoff``, ``y_pred`` holds scores: the predicted label is ``pos_label`` where the
    score is at least ``cutoff`` and the other class elsewhere, and the scores (unless
    ``y_score`` is given) feed the score metrics.
    """
    if task not in ("auto", "binary", "multiclass", "regression"):
        raise InvalidParameterError(parameter="task", value=repr(task))
    yt = _to_1d(y_true)
    yp = _to_1d(y_pred)
    scores = None
    if cutoff is not None:
        scores, yp, task, pos_label = _labels_from_cutoff(yt, yp, cutoff, task, pos_label)
    if y_score is not None and np.ndim(y_score) == 1:  # 2-D scores serve custom metrics only
        scores = _scores(y_score, len(yt))
    if len(yt) != len(yp):
        raise LengthMismatchError(y_true=len(yt), y_pred=len(yp))
    n_rows = len(yt)
    if n_rows == 0:
        raise EmptyInputError()
    for array in (yt, yp):
        if _has_missing(array) or (array.dtype.kind == "f" and not np.isfinite(array).all()):
            raise NanInLabelsError()
    weights = _encode_weights(sample_weight, n_rows)
    sensitive = encode_features(
        sensitive_features,
        n_rows=n_rows,
        base_name="sensitive_feature_",
        missing_error=NanInSensitiveFeaturesError,
    )
    control: tuple[Feature, ...] = ()
    if control_features is not None:
        control = encode_features(
            control_features,
            n_rows=n_rows,
            base_name="control_feature_",
            missing_error=NanInControlFeaturesError,
        )
    names = [f.name for f in sensitive + control]
    if len(set(names)) != len(names) or not sensitive:
        raise InvalidParameterError(DUPLICATE_FEATURE_NAME, features=names)

    if task == "auto" and _holds_scores(yp) and not _is_regression_target(yt):
        raise ScoresWithoutCutoffError()
    if task == "regression" or (task == "auto" and _is_regression_target(yt)):
        if yt.dtype.kind not in "biuf" or yp.dtype.kind not in "biuf":
            raise InvalidParameterError(REGRESSION_TARGETS_NOT_NUMERIC)
        return EncodedInput(
            "regression",
            n_rows,
            (),
            None,
            yt.astype(np.float64, copy=False),
            yp.astype(np.float64, copy=False),
            weights,
            sensitive,
            control,
        )

    labels = _unique_labels(yt, yp)
    resolved = _resolve_task(task, yt, yp, len(labels))
    resolved_pos: Label | None = None
    if resolved == "binary":
        if len(labels) > 2:
            raise NonBinaryLabelsError(labels=[repr(c) for c in labels])
        resolved_pos = _python_scalar(_resolve_pos_label(labels, pos_label))
        if resolved_pos not in labels:
            labels = [*labels, resolved_pos]
    classes = tuple(_python_scalar(c) for c in labels)
    return EncodedInput(
        resolved,
        n_rows,
        classes,
        resolved_pos,
        _label_codes(yt, classes),
        _label_codes(yp, classes),
        weights,
        sensitive,
        control,
        scores if resolved == "binary" else None,
    )


def _scores(values: Any, n_rows: int) -> FloatArray:
    array = _to_1d(values)
    if len(array) != n_rows:
        raise LengthMismatchError(y_true=n_rows, y_score=len(array))
    if array.dtype.kind not in "biuf":
        raise InvalidParameterError(INVALID_SCORES, dtype=str(array.dtype))
    scores = array.astype(np.float64)
    if not np.isfinite(scores).all():
        raise InvalidParameterError(INVALID_SCORES)
    return scores


def _labels_from_cutoff(
    yt: np.ndarray[Any, Any],
    yp: np.ndarray[Any, Any],
    cutoff: float | FloatArray,
    task: TaskMode,
    pos_label: Hashable | None,
) -> tuple[FloatArray, np.ndarray[Any, Any], TaskMode, Hashable]:
    """Scores in ``yp`` become labels: ``pos_label`` at or above ``cutoff`` (one number, or
    one per row), the other class below; returns the scores, the labels, the task (binary)
    and the positive label."""
    if isinstance(cutoff, np.ndarray):
        if cutoff.shape != yp.shape or not np.isfinite(cutoff).all():
            raise InvalidParameterError(INVALID_CUTOFF)
    elif (
        isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not np.isfinite(cutoff)
    ):
        raise InvalidParameterError(INVALID_CUTOFF, cutoff=repr(cutoff))
    if task not in ("auto", "binary"):
        raise InvalidParameterError(CUTOFF_NEEDS_BINARY, task=task)
    scores = _scores(yp, len(yt))
    if _has_missing(yt):
        raise NanInLabelsError()
    labels = [_python_scalar(v) for v in _unique_labels(yt, yt[:0])]
    if len(labels) > 2:
        raise NonBinaryLabelsError(CUTOFF_NEEDS_BINARY, labels=[repr(c) for c in labels])
    positive = _python_scalar(_resolve_pos_label(labels, pos_label))
    others = [c for c in labels if c != positive]
    if len(others) > 1:
        raise NonBinaryLabelsError(labels=[repr(c) for c in labels])
    if not others:
        if positive not in (0, 1, -1):
            raise NonBinaryLabelsError(CUTOFF_NEEDS_BINARY, labels=[repr(c) for c in labels])
        others = [0 if positive in (1, -1) else 1]
    values = np.empty(2, dtype=yt.dtype if yt.dtype.kind in "biuf" else object)
    values[0], values[1] = others[0], positive
    return scores, values[(scores >= cutoff).astype(np.intp)], "binary", positive
