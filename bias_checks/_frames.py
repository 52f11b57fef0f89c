"""Group counts and audits of the rows of a dataframe, counted where the data lives.

Per-group confusion counts are sums, and sums distribute. :func:`frame_cells`
(:mod:`bias_checks._frame_cells`) has the frame's engine count the distinct combinations of
features and labels; :func:`counts_from_cells` turns that small table into
:class:`~bias_checks.GroupCounts` with the same label, class and positive-label rules as
:func:`~bias_checks.audit_predictions`, so :func:`audit_frame` equals the in-memory audit of
the same rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bias_checks._counts import GroupCounts, _sort_levels, _with_classes
from bias_checks._engine import build_group_index
from bias_checks._errors import (
    BiasChecksInputError,
    NanInLabelsError,
    NonBinaryLabelsError,
    PosLabelError,
    ScoresWithoutCutoffError,
)
from bias_checks._frame_cells import SCORE_MAX, SCORE_MIN, _cells
from bias_checks._frame_scores import _check_scores_finite, score_counts_from_cells
from bias_checks._inputs import (
    EncodedInput,
    Label,
    TaskMode,
    _python_scalar,
    _resolve_pos_label,
    _unique_labels,
    encode_input,
)
from bias_checks._scores_counted import ScoreCounts

LABELS_NOT_CLASSES = (
    "The labels include values outside `classes`; list every label value in classes."
)
NUMERIC_TARGETS = (
    "y_true holds non-integral numbers; frame audits are for class labels, so pass labels "
    "(regression needs audit_predictions on the rows)."
)
OTHER_CLASS_UNKNOWN = (
    "With a cutoff only one class occurs in y_true, so the negative class is unknown; pass "
    "classes=(negative, positive)."
)


def _column(cells: pd.DataFrame, name: str) -> np.ndarray[Any, Any]:
    return cells[name].to_numpy()


def counts_from_cells(
    cells: pd.DataFrame,
    *,
    y_true: str,
    y_pred: str,
    sensitive_features: Sequence[str],
    control_features: Sequence[str] = (),
    classes: Sequence[Hashable] | None = None,
    pos_label: Hashable | None = None,
    weighted: bool,
) -> GroupCounts:
    """Build :class:`~bias_checks.GroupCounts` from the table of :func:`frame_cells`.

    Classes, the task and the positive label are resolved exactly as
    :func:`~bias_checks.audit_predictions` (and :func:`~bias_checks.group_counts` when
    ``classes`` is given) resolves them on the rows the table counts.

    Parameters
    ----------
    cells : pandas.DataFrame
        Columns ``y_true``, ``y_pred``, every feature, ``n`` and, if ``weighted``, ``w`` and
        ``w2``.
    y_true, y_pred : str
        The label columns.
    sensitive_features, control_features : sequence of str
        The feature columns.
    classes : sequence, optional
        Every label value (so that parties counting separately agree); by default the labels
        that occur.
    pos_label : scalar, optional
        The positive label of a binary task.
    weighted : bool
        Whether the table has ``w`` and ``w2``.

    Returns
    -------
    GroupCounts

    Examples
    --------
    >>> import pandas as pd
    >>> cells = pd.DataFrame({"y": [1, 0], "p": [1, 1], "sex": ["F", "M"], "n": [3, 2]})
    >>> counts = counts_from_cells(cells, y_true="y", y_pred="p", sensitive_features=["sex"],
    ...                            weighted=False)
    >>> counts.keys, counts.counts.tolist()
    ((('F',), ('M',)), [[[0, 0], [0, 3]], [[0, 2], [0, 0]]])
    """
    sensitive = list(sensitive_features)
    control = list(control_features)
    found = _unique_labels(_column(cells, y_true), _column(cells, y_pred)) if len(cells) else []
    if classes is not None and not set(found) <= set(classes):
        raise BiasChecksInputError(
            LABELS_NOT_CLASSES,
            classes=[repr(c) for c in classes],
            found=[repr(c) for c in found],
        )
    encoded = _encode(
        cells,
        y_true=y_true,
        y_pred=y_pred,
        sensitive=sensitive,
        control=control,
        classes=classes,
        pos_label=pos_label,
    )
    features = encoded.control + encoded.sensitive
    index = build_group_index(features)
    k = len(encoded.classes)
    at = (index.row_group, encoded.y_true, encoded.y_pred)
    counts = np.zeros((index.n_groups, k, k), dtype=np.int64)
    np.add.at(counts, at, cells["n"].to_numpy(dtype=np.int64))
    weights = weights_sq = None
    if weighted:
        weights = np.zeros(counts.shape)
        weights_sq = np.zeros(counts.shape)
        np.add.at(weights, at, cells["w"].to_numpy(dtype=np.float64))
        np.add.at(weights_sq, at, cells["w2"].to_numpy(dtype=np.float64))
    keys = tuple(
        tuple(f.levels[int(code)] for f, code in zip(features, row, strict=True))
        for row in index.keys
    )
    return GroupCounts(
        "binary" if encoded.task == "binary" else "multiclass",
        encoded.classes,
        encoded.pos_label,
        tuple(sensitive),
        tuple(control),
        keys,
        counts,
        weights,
        weights_sq,
    )


def _encode(
    cells: pd.DataFrame,
    *,
    y_true: str,
    y_pred: str,
    sensitive: list[str],
    control: list[str],
    classes: Sequence[Hashable] | None,
    pos_label: Hashable | None,
) -> EncodedInput:
    task: TaskMode = "auto"
    if classes is not None:
        task = "binary" if len(classes) <= 2 else "multiclass"
    encoded = encode_input(
        _column(cells, y_true),
        _column(cells, y_pred),
        sensitive_features={name: _column(cells, name) for name in sensitive},
        control_features={name: _column(cells, name) for name in control} if control else None,
        sample_weight=None,
        task=task,
        pos_label=pos_label,
    )
    if encoded.task == "regression":
        raise ScoresWithoutCutoffError(column=y_pred)
    if classes is not None:
        encoded = _with_classes(encoded, tuple(classes), pos_label)
    return encoded


def _other_class(
    true_labels: list[Label], classes: Sequence[Hashable] | None, pos_label: Hashable | None
) -> tuple[Label, Label]:
    """The positive and the negative class of a binary task scored with a cutoff."""
    candidates = list(classes) if classes is not None else list(true_labels)
    if len(candidates) > 2:
        raise NonBinaryLabelsError(labels=[repr(c) for c in candidates])
    positive = _python_scalar(_resolve_pos_label(_sort_levels(candidates), pos_label))
    others = [c for c in candidates if c != positive]
    if others:
        return positive, _python_scalar(others[0])
    if not candidates or positive not in (0, 1, -1) or isinstance(positive, float):
        raise PosLabelError(OTHER_CLASS_UNKNOWN, labels=[repr(c) for c in candidates])
    return positive, 0 if positive != 0 else 1


def _predictions_from_cutoff(
    cells: pd.DataFrame,
    *,
    y_true: str,
    y_pred: str,
    classes: Sequence[Hashable] | None,
    pos_label: Hashable | None,
) -> pd.DataFrame:
    truth = _column(cells, y_true)
    above = cells[y_pred].tolist()
    if pd.isna(truth).any() or any(pd.isna(value) for value in above):
        raise NanInLabelsError()
    positive, negative = _other_class(_unique_labels(truth, truth), classes, pos_label)
    labels = np.empty(len(above), dtype=object)
    labels[:] = [positive if value else negative for value in above]
    return cells.assign(**{y_pred: labels})


def frame_counts(
    frame: Any,
    *,
    y_true: str,
    y_pred: str,
    sensitive_features: Sequence[str],
    control_features: Sequence[str] = (),
    sample_weight: str | None = None,
    classes: Sequence[Hashable] | None = None,
    pos_label: Hashable | None = None,
    cutoff: float | None = None,
) -> GroupCounts:
    """Per-group confusion counts of the rows of a dataframe, counted by its own engine.

    Parameters
    ----------
    frame : dataframe
        Any frame :func:`frame_cells` accepts.
    y_true : str
        The true-label column.
    y_pred : str
        The predicted-label column; with ``cutoff``, a score column (the prediction is
        ``pos_label`` where ``score >= cutoff``, else the other class; the task is binary).
    sensitive_features, control_features : sequence of str
        The feature columns.
    sample_weight : str, optional
        A weight column.
    classes, pos_label
        As in :func:`counts_from_cells`.
    cutoff : float, optional
        The score cutoff.

    Returns
    -------
    GroupCounts

    Raises
    ------
    MissingColumnError
        A named column is not in the frame (found from the schema, before reading data).
    ScoresWithoutCutoffError
        ``y_pred`` holds non-integral numbers and no cutoff was given.
    NanInLabelsError, NanInSensitiveFeaturesError, NanInControlFeaturesError
        A needed column holds a missing value.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"y": [1, 0, 1], "p": [1, 1, 0], "sex": ["F", "M", "F"]})
    >>> frame_counts(rows, y_true="y", y_pred="p", sensitive_features=["sex"]).n_rows
    3
    """
    counts, _ = _counted(
        frame,
        y_true=y_true,
        y_pred=y_pred,
        sensitive=list(sensitive_features),
        control=list(control_features),
        sample_weight=sample_weight,
        classes=classes,
        pos_label=pos_label,
        cutoff=cutoff,
        y_score=None,
    )
    return counts


def frame_scores(
    frame: Any,
    *,
    y_true: str,
    y_pred: str,
    y_score: str | None,
    sensitive_features: Sequence[str],
    control_features: Sequence[str] = (),
    sample_weight: str | None = None,
    classes: Sequence[Hashable] | None = None,
    pos_label: Hashable | None = None,
    cutoff: float | None = None,
) -> tuple[GroupCounts, ScoreCounts | None]:
    """:func:`frame_counts` plus the score statistics of ``y_score``, computed by the
    frame's engine (see :mod:`bias_checks._scores_counted`).

    The counting group-by also checks the scores (finite, their extremes); a second one
    returns the distinct scores of each group and class with their counts (one row per
    distinct score of a group: that is the memory this costs), from which the AUC, Brier
    score and calibration are computed exactly, in one order.

    Parameters
    ----------
    frame, y_true, y_pred, sensitive_features, control_features, sample_weight, classes,
    pos_label, cutoff
        As in :func:`frame_counts`.
    y_score : str or None
        A numeric column of positive-class scores (with ``cutoff`` it may be ``y_pred``);
        None gives ``(frame_counts(...), None)``.

    Returns
    -------
    (GroupCounts, ScoreCounts or None)
        None unless the task is binary (as the in-memory audit, which drops other scores).
        With ``sample_weight`` the score statistics are not computed (score metrics take no
        weights): the :class:`ScoreCounts` only marks the audit as weighted.

    Raises
    ------
    InvalidParameterError
        ``y_score`` is not numeric or holds a missing or non-finite value.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"y": [1, 0, 1, 0], "s": [0.9, 0.4, 0.4, 0.1], "g": list("aabb")})
    >>> counts, scores = frame_scores(rows, y_true="y", y_pred="s", y_score="s", cutoff=0.5,
    ...                               sensitive_features=["g"])
    >>> scores.n_pos.tolist(), scores.table_score.size
    ([1, 1], 4)
    """
    return _counted(
        frame,
        y_true=y_true,
        y_pred=y_pred,
        sensitive=list(sensitive_features),
        control=list(control_features),
        sample_weight=sample_weight,
        classes=classes,
        pos_label=pos_label,
        cutoff=cutoff,
        y_score=y_score,
    )


def _counted(
    frame: Any,
    *,
    y_true: str,
    y_pred: str,
    sensitive: list[str],
    control: list[str],
    sample_weight: str | None,
    classes: Sequence[Hashable] | None,
    pos_label: Hashable | None,
    cutoff: float | None,
    y_score: str | None,
) -> tuple[GroupCounts, ScoreCounts | None]:
    grouped = [*control, *sensitive, y_true]
    cells = _cells(
        frame,
        columns=grouped if cutoff is not None else [*grouped, y_pred],
        score=y_pred if cutoff is not None else None,
        cutoff=cutoff,
        weight=sample_weight,
        labels=(y_true, y_pred),
        predictions=y_pred if cutoff is None else None,
        score_sums=y_score,
    )
    _check_integral(cells, y_true, None if cutoff is not None else y_pred)
    if cutoff is not None:
        cells = _predictions_from_cutoff(
            cells, y_true=y_true, y_pred=y_pred, classes=classes, pos_label=pos_label
        )
    counts = counts_from_cells(
        cells,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=sensitive,
        control_features=control,
        classes=classes,
        pos_label=pos_label,
        weighted=sample_weight is not None,
    )
    if y_score is None or counts.task != "binary":
        return counts, None
    _check_scores_finite(cells)
    if sample_weight is not None:
        empty = np.zeros(0)
        minimum, maximum = (float(cells[c].min()) for c in (SCORE_MIN, SCORE_MAX))
        no_table = (empty.astype(np.intp), empty.astype(bool), empty, empty.astype(np.int64))
        sums = np.zeros((len(counts.keys), 5))
        n_pos = np.zeros(len(counts.keys), dtype=np.intp)
        return counts, ScoreCounts(
            counts.keys, sums, n_pos, *no_table, minimum, maximum, cutoff, weighted=True
        )
    table = _cells(
        frame,
        columns=[*grouped, y_score],
        score=None,
        cutoff=None,
        weight=None,
        labels=(y_true,),
    )
    return counts, score_counts_from_cells(
        cells, table, counts, y_true=y_true, y_score=y_score, cutoff=cutoff
    )


def _check_integral(cells: pd.DataFrame, y_true: str, y_pred: str | None) -> None:
    checks = [(y_true, _targets_error)]
    if y_pred is not None:
        checks.insert(0, (y_pred, _scores_error))
    for name, error in checks:
        values = cells[name]
        if values.dtype.kind == "f":
            finite = values[np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan))]
            if (finite != np.round(finite)).any():
                raise error(name)


def _scores_error(name: str) -> BiasChecksInputError:
    return ScoresWithoutCutoffError(column=name)


def _targets_error(name: str) -> BiasChecksInputError:
    return BiasChecksInputError(NUMERIC_TARGETS, column=name)
