"""Reading what an ONNX model returned, and refusing what cannot be audited.

A file's declared output shapes are only promises: the graph decides at run time. So
:func:`read_outputs` checks every output it reads against the rows given, reads the positive
class's probability (and the most probable other class's, to check the labels), and refuses
with :class:`~audit.errors.InvalidOnnxOutput` probabilities that are NaN or outside [0, 1]
(a NaN compared with a cutoff would silently be a negative prediction) and labels that
contradict the model's own probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Any, Literal

import numpy as np

from audit.errors import InvalidOnnxOutput, UnexpectedOnnxSignature
from audit.external._signature import Signature
from audit.training import category_text

OutputKind = Literal["probability", "logit"]
#: How far float32 probabilities may stray from [0, 1], from summing to 1, or from the label
#: they imply (``p`` against the most probable other class) before they are refused.
TOLERANCE = 1e-4

_PROBABILITY_FIX = (
    "export the model's probabilities (a classifier's predict_proba), or, for a single "
    "output of raw scores, say 'output: logit' in the spec"
)


@dataclass(frozen=True)
class Probabilities:
    """Per row: the positive class's probability and the largest probability of another
    class (``1 - positive`` for a binary model)."""

    positive: np.ndarray[Any, Any]
    rival: np.ndarray[Any, Any]


def check_rows(name: str, output: str, count: int, rows: int) -> None:
    """Refuse an output that does not give one row per row scored.

    Raises
    ------
    InvalidOnnxOutput
    """
    if count != rows:
        raise InvalidOnnxOutput(
            name,
            f"{count:,} rows in output {output} for {rows:,} rows given",
            "export a graph that scores each row on its own (no reduction over the batch)",
        )


def _positive_key(name: str, keys: list[Any], positive_label: str) -> Any:
    wanted = category_text(positive_label).strip()
    for key in keys:
        if category_text(key).strip() == wanted:
            return key
    for key in keys:
        if category_text(key).strip() == "1":
            return key
    raise UnexpectedOnnxSignature(
        name,
        f"a probability for the positive class {positive_label!r} (or 1)",
        f"classes {', '.join(map(str, keys))}",
    )


@dataclass(frozen=True)
class ZipMapRows:
    """A ZipMap output as the scoring process sends it back: the classes in the maps'
    order and a [N, classes] matrix of their values (``ragged`` when the maps had different
    classes, which cannot be audited)."""

    keys: list[Any]
    values: np.ndarray[Any, Any]
    ragged: bool = False


def _zipmap(
    name: str, output: str, raw: Any, rows: int, positive_label: str
) -> np.ndarray[Any, Any]:
    """A ZipMap's maps as a [N, classes] matrix, the positive class in the last column.

    ZipMap writes every row's map with the model's classes in one order (its
    ``classlabels``): the values are read in that order, in one pass (a Python loop per row
    and class is ten times slower on 100,000 rows); or a :class:`ZipMapRows`."""
    if isinstance(raw, ZipMapRows):
        keys, values = raw.keys, raw.values
        ragged, count = raw.ragged, (0 if raw.ragged else len(values))
    else:
        maps = list(raw)
        check_rows(name, output, len(maps), rows)
        keys = list(maps[0]) if maps else []
        ragged, count = any(len(row) != len(keys) for row in maps), len(maps)
    if ragged:
        raise InvalidOnnxOutput(
            name, f"maps of different classes in output {output}", _PROBABILITY_FIX
        )
    check_rows(name, output, count, rows)
    if count == 0:
        return np.zeros((0, 2))
    if not isinstance(raw, ZipMapRows):
        values = np.fromiter(
            chain.from_iterable(map(dict.values, maps)), np.float64, count=count * len(keys)
        ).reshape(count, len(keys))
    last = keys.index(_positive_key(name, keys, positive_label))
    order = [i for i in range(len(keys)) if i != last] + [last]
    return values[:, order]


def _check_probabilities(name: str, output: str, values: np.ndarray[Any, Any]) -> None:
    bad = ~np.isfinite(values) | (values < -TOLERANCE) | (values > 1 + TOLERANCE)
    if values.shape[1] > 1:
        bad |= (np.abs(values.sum(axis=1) - 1.0) > len(values[0]) * TOLERANCE)[:, None]
    wrong = bad.any(axis=1)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        shown = ", ".join(f"{v:.6g}" for v in values[row])
        raise InvalidOnnxOutput(
            name,
            f"scores in output {output} that are not probabilities on {int(wrong.sum()):,}"
            f" rows (row {row}: {shown}; probabilities are in [0, 1] and sum to 1)",
            _PROBABILITY_FIX,
        )


def read_probabilities(
    name: str,
    raw: Any,
    signature: Signature,
    kind: OutputKind,
    *,
    rows: int,
    positive_label: str,
) -> Probabilities:
    """The positive class's probability per row, from probabilities or logits.

    Raises
    ------
    InvalidOnnxOutput
        Not one row per row given; probabilities NaN, outside [0, 1] or not summing to 1;
        logits that are NaN or infinite.
    UnexpectedOnnxSignature
        Scores of a shape other than [N, 1] or [N, 2]; no class is the positive one.
    """
    output = str(signature.score_output)
    if signature.score_form == "zipmap":
        values = _zipmap(name, output, raw, rows, positive_label)
    else:
        values = np.asarray(raw, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] not in (1, 2):
            raise UnexpectedOnnxSignature(
                name, "scores of shape [N, 1] or [N, 2]", f"shape {list(values.shape)}"
            )
        check_rows(name, output, values.shape[0], rows)
    if kind == "probability":
        _check_probabilities(name, output, values)
        positive = np.clip(values[:, -1], 0.0, 1.0)
        rival = values[:, :-1].max(axis=1) if values.shape[1] > 1 else 1.0 - positive
        return Probabilities(positive, rival)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise InvalidOnnxOutput(
            name,
            f"logits in output {output} that are NaN or infinite (row {row})",
            "export a graph whose scores are finite numbers",
        )
    if values.shape[1] == 1:
        positive = 1.0 / (1.0 + np.exp(-values[:, 0]))
        return Probabilities(positive, 1.0 - positive)
    exp = np.exp(values - values.max(axis=1, keepdims=True))
    both = exp / exp.sum(axis=1, keepdims=True)
    return Probabilities(both[:, 1], both[:, 0])


def is_positive(values: np.ndarray[Any, Any], positive_label: str) -> np.ndarray[Any, Any]:
    """1 where a label is the positive class (its text, or ``1``), else 0."""
    wanted = {category_text(positive_label).strip(), "1"}
    distinct, index = np.unique(values.ravel(), return_inverse=True)
    positive = np.array([category_text(v).strip() in wanted for v in distinct], dtype=np.int64)
    return positive[index]


def read_labels(
    name: str,
    raw: Any,
    output: str,
    probabilities: Probabilities | None,
    *,
    rows: int,
    positive_label: str,
) -> np.ndarray[Any, Any]:
    """Whether each row's label output is the positive class, checked against the model's
    own probabilities: a positive label needs the positive class to be the most probable,
    a negative one another class (ties, within :data:`TOLERANCE`, go either way).

    Raises
    ------
    InvalidOnnxOutput
        Not one label per row given, or labels that contradict the probabilities.
    """
    labels = np.asarray(raw)
    check_rows(name, output, labels.shape[0] if labels.ndim else 1, rows)
    positive = is_positive(labels, positive_label)
    if probabilities is None:
        return positive
    p, rival = probabilities.positive, probabilities.rival
    wrong = ((positive == 1) & (p < rival - TOLERANCE)) | (
        (positive == 0) & (p > rival + TOLERANCE)
    )
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InvalidOnnxOutput(
            name,
            f"labels in output {output} that contradict its probabilities on "
            f"{int(wrong.sum()):,} of {rows:,} rows (row {row}: label "
            f"{labels.ravel()[row]!s}, positive-class probability {p[row]:.6g})",
            "export labels that are the most probable class, or give a cutoff in the spec to "
            "predict from the probabilities",
        )
    return positive
