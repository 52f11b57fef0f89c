"""Scoring a registered ONNX model with onnxruntime (CPU), without running anyone's code.

The graph holds only standard operators (:mod:`audit.external._signature`), so onnxruntime's
own kernels are all that runs. :func:`score_frame` feeds the dataset's columns as the
signature says and reads back the predicted labels and the positive class's probability.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import onnxruntime as ort
import pandas as pd
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from audit.errors import (
    ExternalModelFailed,
    OnnxMemoryLimitExceeded,
    OnnxOutputKindMissing,
    UnexpectedOnnxSignature,
)
from audit.external._memory import MAX_SCORING_MEMORY, memory_limit, use_limited_memory
from audit.external._outputs import OutputKind, read_labels, read_probabilities
from audit.external._signature import OnnxValue, Signature

#: What onnxruntime raises (its exceptions derive from Exception, not RuntimeError).
ORT_ERRORS: tuple[type[Exception], ...] = (
    ort_state.Fail,
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.RuntimeException,
    ort_state.NotImplemented,
    RuntimeError,
    ValueError,
)
_DTYPES = {"float": np.float32, "double": np.float64, "int64": np.int64}


@dataclass(frozen=True)
class Scores:
    """What the model said about each scored row: the positive class's probability (None if
    the model gives labels only) and whether it predicted the positive class."""

    probability: np.ndarray[Any, Any] | None
    positive: np.ndarray[Any, Any]
    source: Literal["label_output", "cutoff"]


@dataclass(frozen=True)
class ScoredRows:
    """The rows scored, their binary labels and groups, and what the model said."""

    y_true: np.ndarray[Any, Any]
    groups: pd.DataFrame
    scores: Scores
    inputs: tuple[str, ...]
    dataset_rows: int


def session(
    name: str, data: bytes, *, threads: int = 1, max_memory: int = MAX_SCORING_MEMORY
) -> ort.InferenceSession:
    """An onnxruntime session on the CPU provider only, its tensors allocated from the
    process's arena capped at :func:`audit.external.memory_limit` bytes.

    ``max_memory`` (bytes; :attr:`audit.env.AuditEnv.onnx_max_memory`) sets that cap when
    this is the process's first session; the cap cannot change afterwards.

    Raises
    ------
    ExternalModelFailed
        onnxruntime cannot load the graph.
    OnnxMemoryLimitExceeded
        Loading it needs more memory than the limit.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    use_limited_memory(options, max_memory)
    try:
        return ort.InferenceSession(
            data,
            sess_options=options,
            providers=["CPUExecutionProvider"],
            # folding runs the graph's constant parts at load, outside the capped arena
            disabled_optimizers=["ConstantFolding"],
        )
    except ORT_ERRORS as exc:
        raise scoring_error(name, exc) from None


def scoring_error(name: str, exc: Exception) -> ExternalModelFailed | OnnxMemoryLimitExceeded:
    """The one-line error of an onnxruntime failure: the memory limit, or what it said."""
    text = str(exc)
    if "bfc_arena" in text or "Failed to allocate memory" in text:
        return OnnxMemoryLimitExceeded(name, memory_limit())
    return ExternalModelFailed(name, _first_line(exc))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def _identifier(column: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", column)


def column_for(name: str, input_name: str, columns: Iterable[Any]) -> str:
    """The dataset column an input is named after: the same name, or else the one column
    whose name, with every character other than a letter, digit or ``_`` written ``_``, is
    the input's (exporters such as skl2onnx write ``education-num`` as ``education_num``).

    Raises
    ------
    UnexpectedOnnxSignature
        No column, or several, match the input.
    """
    names = [str(c) for c in columns]
    if input_name in names:
        return input_name
    matches = [c for c in names if _identifier(c) == input_name]
    if len(matches) != 1:
        which = "no column" if not matches else f"several columns ({', '.join(matches)})"
        raise UnexpectedOnnxSignature(
            name,
            "one input per dataset column, named like the column",
            f"input {input_name!r}, for which the dataset has {which}",
        )
    return matches[0]


def _column_feed(name: str, value: OnnxValue, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    column = frame[column_for(name, value.name, frame.columns)]
    if value.element == "string":
        text = column.astype(object).where(column.notna(), "").astype(str)
        return text.to_numpy(dtype=object).reshape(-1, 1)
    try:
        return column.to_numpy(dtype=_DTYPES[value.element]).reshape(-1, 1)
    except (TypeError, ValueError):
        raise UnexpectedOnnxSignature(
            name, f"numbers in column {value.name!r} ({value.element})", "text or missing values"
        ) from None


def _tensor_feed(
    name: str, value: OnnxValue, frame: pd.DataFrame, inputs: tuple[str, ...]
) -> np.ndarray[Any, Any]:
    width = value.shape[1]
    if isinstance(width, int) and width != len(inputs):
        raise UnexpectedOnnxSignature(
            name,
            f"a float tensor [N, {len(inputs)}] (one column per input: {', '.join(inputs)})",
            value.describe(),
        )
    text = [c for c in inputs if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise UnexpectedOnnxSignature(
            name,
            "numeric columns for its float tensor input",
            f"text column(s) {', '.join(text)}: encode them in the graph (a ColumnTransformer)",
        )
    dtype = _DTYPES["double" if value.element == "double" else "float"]
    return frame[list(inputs)].to_numpy(dtype=dtype)


def feeds(
    name: str, signature: Signature, frame: pd.DataFrame, *, inputs: tuple[str, ...]
) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays onnxruntime is given: per column by name, or ``inputs`` in order as one
    tensor."""
    if signature.layout == "tensor":
        value = signature.inputs[0]
        return {value.name: _tensor_feed(name, value, frame, inputs)}
    return {v.name: _column_feed(name, v, frame) for v in signature.inputs}


def output_kind(
    name: str, signature: Signature, output: OutputKind | None, cutoff: float | None
) -> OutputKind:
    """How to read the score output: its probabilities, or the spec's ``output`` for a model
    with one float output and no label output.

    Raises
    ------
    OnnxOutputKindMissing, UnexpectedOnnxSignature
    """
    if signature.label_output is None and output is None:
        raise OnnxOutputKindMissing(name, str(signature.score_output))
    if signature.score_output is None and cutoff is not None:
        raise UnexpectedOnnxSignature(
            name, "probabilities to apply the spec's cutoff to", "a label output only"
        )
    return "probability" if signature.label_output is not None or output is None else output


def wanted_outputs(signature: Signature) -> list[str]:
    """The outputs read: the label output and the score output, those the model has."""
    return [o for o in (signature.label_output, signature.score_output) if o is not None]


def score_frame(
    name: str,
    model: ort.InferenceSession,
    signature: Signature,
    frame: pd.DataFrame,
    *,
    inputs: tuple[str, ...],
    positive_label: str,
    output: OutputKind | None = None,
    cutoff: float | None = None,
) -> Scores:
    """Run the model over ``frame`` in this process and read the labels and positive-class
    probabilities (:func:`audit.external.score_sandboxed` does the same in a child process
    under a memory and a time limit: audits use that).

    With a label output and no ``cutoff``, the model's own labels are the predictions;
    otherwise a row is positive when its probability is at least ``cutoff`` (0.5 by
    default). A model with one float output and no label output needs ``output``.

    Raises
    ------
    OnnxOutputKindMissing, UnexpectedOnnxSignature, ExternalModelFailed
    OnnxMemoryLimitExceeded
        The graph asked for more memory than :func:`audit.external.memory_limit`.
    InvalidOnnxOutput
        An output without one row per row of ``frame``, probabilities that are NaN or
        outside [0, 1], or labels that contradict the probabilities.
    """
    kind = output_kind(name, signature, output, cutoff)
    wanted = wanted_outputs(signature)
    try:
        results = model.run(wanted, feeds(name, signature, frame, inputs=inputs))
    except ORT_ERRORS as exc:
        raise scoring_error(name, exc) from None
    out = dict(zip(wanted, results, strict=True))
    return read_scores(
        name, out, signature, kind, rows=len(frame), positive_label=positive_label, cutoff=cutoff
    )


def read_scores(
    name: str,
    out: dict[str, Any],
    signature: Signature,
    kind: OutputKind,
    *,
    rows: int,
    positive_label: str,
    cutoff: float | None,
) -> Scores:
    """The :class:`Scores` of the outputs a run returned (by output name).

    Raises
    ------
    InvalidOnnxOutput, UnexpectedOnnxSignature
    """
    read = None
    if signature.score_output is not None:
        read = read_probabilities(
            name,
            out[signature.score_output],
            signature,
            kind,
            rows=rows,
            positive_label=positive_label,
        )
    probability = None if read is None else read.positive
    if signature.label_output is not None and cutoff is None:
        label = signature.label_output
        positive = read_labels(
            name, out[label], label, read, rows=rows, positive_label=positive_label
        )
        return Scores(probability, positive, "label_output")
    assert probability is not None
    bound = 0.5 if cutoff is None else cutoff
    return Scores(probability, (probability >= bound).astype(np.int64), "cutoff")
