"""Per-group confusion counts as a value: computed where the rows are, summed anywhere.

Every classification metric, interval and verdict of an audit is a function of the weighted
confusion matrix of each group (:mod:`bias_checks._engine`). :class:`GroupCounts` carries
those matrices keyed by the groups' feature *values* (not codes, which depend on what one
party happens to see), so counts from many parties add up with :meth:`GroupCounts.combine`
and :func:`bias_checks.audit_counts` on the sum equals the audit of the pooled rows.

Counts travel as canonical JSON (:meth:`GroupCounts.to_json`); :meth:`GroupCounts.from_json`
checks every field and shape, so a malformed reply from another party is an
:class:`InvalidCountsError`, never a crash inside the engine.

``noise_variance`` is the variance of random noise a party added to each count cell (for
differential privacy; see ``audit.federated.privacy``); sums of independent noise add their
variances, and the engine widens every rate's interval by it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from bias_checks._engine import CellStats, GroupIndex, build_group_index, classification_cells
from bias_checks._errors import BiasChecksInputError, EmptyInputError
from bias_checks._inputs import (
    EncodedInput,
    Feature,
    FloatArray,
    Label,
    _to_1d,
    encode_input,
)
from core.canonical import canonical_json

COUNTS_FORMAT = "fairgov-group-counts/1"
#: More groups than this in one reply is a malformed (or hostile) payload, not an audit.
MAX_GROUPS = 1_000_000
INVALID_COUNTS = (
    "The group counts are malformed; send the output of GroupCounts.to_json() unchanged."
)
INCOMPATIBLE_COUNTS = (
    "These group counts cannot be added: they differ in task, classes, positive label or "
    "feature names; every party must count with the same settings."
)
CountTask = Literal["binary", "multiclass"]
Key = tuple[Label, ...]


class InvalidCountsError(BiasChecksInputError):
    """A serialised :class:`GroupCounts` is malformed."""

    code = "invalid_counts"
    default_message = INVALID_COUNTS


class IncompatibleCountsError(BiasChecksInputError):
    """Counts made with different settings were combined."""

    code = "incompatible_counts"
    default_message = INCOMPATIBLE_COUNTS


def _sort_levels(values: Iterable[Label]) -> list[Label]:
    distinct = set(values)
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=repr)


@dataclass(frozen=True, eq=False)
class GroupCounts:
    """Weighted confusion counts of each group present in some rows.

    ``keys[g]`` holds group ``g``'s control feature values, then its sensitive ones;
    ``counts``, ``weights`` and ``weights_sq`` have shape (G, K, K), indexed by true and
    predicted class. ``weights`` is None for unweighted rows (it equals ``counts``).
    """

    task: CountTask
    classes: tuple[Label, ...]
    pos_label: Label | None
    sensitive: tuple[str, ...]
    control: tuple[str, ...]
    keys: tuple[Key, ...]
    counts: np.ndarray[Any, Any]
    weights: FloatArray | None = None
    weights_sq: FloatArray | None = None
    noise_variance: FloatArray | None = None

    @property
    def n_rows(self) -> int:
        return int(self.counts.sum())

    @property
    def weighted(self) -> bool:
        return self.weights is not None

    def cell_weights(self) -> FloatArray:
        """Weighted cells (the counts as floats when unweighted)."""
        if self.weights is not None:
            return self.weights
        return np.asarray(self.counts, dtype=np.float64)

    def settings(self) -> tuple[Any, ...]:
        return (self.task, self.classes, self.pos_label, self.sensitive, self.control)

    # ----- adding up ----------------------------------------------------------------
    @classmethod
    def combine(cls, parts: Sequence[GroupCounts]) -> GroupCounts:
        """The counts of all ``parts``' rows together; groups are matched by their values."""
        if not parts:
            raise IncompatibleCountsError("There are no group counts to combine.")
        first = parts[0]
        if any(p.settings() != first.settings() for p in parts[1:]):
            raise IncompatibleCountsError()
        if len({p.weighted for p in parts}) > 1:
            raise IncompatibleCountsError(
                "Weighted and unweighted group counts cannot be added; weigh every part or none."
            )
        keys = sorted({k for p in parts for k in p.keys}, key=repr)
        position = {k: i for i, k in enumerate(keys)}
        k = len(first.classes)
        counts = np.zeros((len(keys), k, k), dtype=np.int64)
        weighted = first.weighted
        weights = np.zeros(counts.shape) if weighted else None
        weights_sq = np.zeros(counts.shape) if weighted else None
        noisy = any(p.noise_variance is not None for p in parts)
        noise = np.zeros(counts.shape) if noisy else None
        for part in parts:
            rows = np.fromiter((position[key] for key in part.keys), dtype=np.intp)
            np.add.at(counts, rows, part.counts)
            if weights is not None and weights_sq is not None:
                np.add.at(weights, rows, cast(FloatArray, part.weights))
                np.add.at(weights_sq, rows, cast(FloatArray, part.weights_sq))
            if noise is not None and part.noise_variance is not None:
                np.add.at(noise, rows, part.noise_variance)
        return cls(
            first.task,
            first.classes,
            first.pos_label,
            first.sensitive,
            first.control,
            tuple(keys),
            counts,
            weights,
            weights_sq,
            noise,
        )

    # ----- the wire format ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        def cells(array: np.ndarray[Any, Any] | None) -> Any:
            return None if array is None else array.tolist()

        return {
            "format": COUNTS_FORMAT,
            "task": self.task,
            "classes": list(self.classes),
            "pos_label": self.pos_label,
            "sensitive": list(self.sensitive),
            "control": list(self.control),
            "keys": [list(key) for key in self.keys],
            "counts": cells(self.counts),
            "weights": cells(self.weights),
            "weights_sq": cells(self.weights_sq),
            "noise_variance": cells(self.noise_variance),
        }

    def to_json(self) -> bytes:
        """Canonical JSON: the same counts always give the same bytes."""
        return canonical_json(self.to_dict())

    @classmethod
    def from_json(cls, data: bytes | str) -> GroupCounts:
        """Parse and check counts sent by another party; :class:`InvalidCountsError` if bad."""
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise InvalidCountsError(reason="not JSON") from None
        return cls.from_dict(document)

    @classmethod
    def from_dict(cls, document: Any) -> GroupCounts:
        return _parse(document)


def _fail(reason: str) -> InvalidCountsError:
    return InvalidCountsError(reason=reason)


def _labels(value: Any, what: str) -> tuple[Label, ...]:
    if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
        raise _fail(f"{what} must be a list of strings, numbers or booleans")
    return tuple(value)


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str | int | bool)


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(f"{what} must be a list of non-empty names")
    if len(set(value)) != len(value):
        raise _fail(f"{what} repeats a name")
    return tuple(value)


def _cells(
    value: Any, shape: tuple[int, ...], what: str, *, integral: bool, signed: bool = False
) -> Any:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail(f"{what} must be nested lists of numbers") from None
    if array.shape != shape:
        raise _fail(f"{what} must have shape {list(shape)}")
    if not np.isfinite(array).all() or (not signed and (array < 0).any()):
        raise _fail(f"{what} must be finite and non-negative")
    if integral:
        if not (array == np.rint(array)).all() or (np.abs(array) > 2**53).any():
            raise _fail(f"{what} must be whole numbers")
        return array.astype(np.int64)
    return array


def _parse(document: Any) -> GroupCounts:
    if not isinstance(document, dict) or document.get("format") != COUNTS_FORMAT:
        raise _fail(f"format must be {COUNTS_FORMAT!r}")
    expected = {
        "format",
        "task",
        "classes",
        "pos_label",
        "sensitive",
        "control",
        "keys",
        "counts",
        "weights",
        "weights_sq",
        "noise_variance",
    }
    if set(document) != expected:
        raise _fail("unexpected or missing fields")
    task = document["task"]
    if task not in ("binary", "multiclass"):
        raise _fail("task must be 'binary' or 'multiclass'")
    classes = _labels(document["classes"], "classes")
    if not classes or len(set(classes)) != len(classes):
        raise _fail("classes must be distinct and non-empty")
    pos_label = document["pos_label"]
    if task == "binary" and (len(classes) > 2 or pos_label not in classes):
        raise _fail("a binary task needs at most two classes, one of them pos_label")
    if task == "multiclass" and pos_label is not None:
        raise _fail("a multiclass task has no pos_label")
    sensitive = _names(document["sensitive"], "sensitive")
    control = _names(document["control"], "control")
    if not sensitive or set(sensitive) & set(control):
        raise _fail("at least one sensitive feature is needed, and no name may repeat")
    raw_keys = document["keys"]
    width = len(control) + len(sensitive)
    if not isinstance(raw_keys, list) or len(raw_keys) > MAX_GROUPS:
        raise _fail(f"keys must be a list of at most {MAX_GROUPS} groups")
    keys = tuple(_labels(k, "each key") for k in raw_keys)
    if any(len(k) != width for k in keys):
        raise _fail("each key needs one value per control and sensitive feature")
    if len(set(keys)) != len(keys):
        raise _fail("a group appears twice in keys")
    k = len(classes)
    shape = (len(keys), k, k)
    noisy = document["noise_variance"] is not None
    # Noise may push a cell below zero; the sum of many parties' cells is clipped instead.
    counts = _cells(document["counts"], shape, "counts", integral=True, signed=noisy)
    weights = weights_sq = None
    if (document["weights"] is None) != (document["weights_sq"] is None):
        raise _fail("weights and weights_sq come together")
    if document["weights"] is not None:
        weights = _cells(document["weights"], shape, "weights", integral=False)
        weights_sq = _cells(document["weights_sq"], shape, "weights_sq", integral=False)
    noise = None
    if noisy:
        noise = _cells(document["noise_variance"], shape, "noise_variance", integral=False)
    return GroupCounts(
        cast(CountTask, task),
        classes,
        pos_label,
        sensitive,
        control,
        keys,
        counts,
        weights,
        weights_sq,
        noise,
    )


def counts_of(encoded: EncodedInput) -> GroupCounts:
    """The group counts of encoded classification input."""
    if encoded.task == "regression":
        raise BiasChecksInputError(
            "Group counts are for classification; a regression audit needs the rows."
        )
    features = encoded.control + encoded.sensitive
    index = build_group_index(features)
    stats = classification_cells(encoded, index)
    keys = tuple(
        tuple(f.levels[int(code)] for f, code in zip(features, row, strict=True))
        for row in index.keys
    )
    return GroupCounts(
        encoded.task,
        encoded.classes,
        encoded.pos_label,
        tuple(f.name for f in encoded.sensitive),
        tuple(f.name for f in encoded.control),
        keys,
        np.asarray(stats.counts, dtype=np.int64),
        None if stats.weights_sq is None else stats.weights,
        stats.weights_sq,
    )


def group_counts(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    control_features: Any | None = None,
    sample_weight: Any | None = None,
    classes: Sequence[Hashable] | None = None,
    pos_label: Hashable | None = None,
) -> GroupCounts:
    """Per-group confusion counts of classification predictions, ready to add up.

    Parties that count separately must agree on ``classes`` (all label values, for example
    ``(0, 1)``): one party's rows may lack a class. Without ``classes`` they are the labels
    that occur, as in :func:`bias_checks.audit_predictions`.
    """
    if classes is not None:
        found = set(pd.unique(np.concatenate([_to_1d(y_true), _to_1d(y_pred)])).tolist())
        if not found <= set(classes):
            raise BiasChecksInputError(
                "The labels include values outside `classes`; list every label value in classes.",
                classes=[repr(c) for c in classes],
                found=[repr(c) for c in _sort_levels(found)],
            )
    encoded = encode_input(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        control_features=control_features,
        sample_weight=sample_weight,
        task="auto" if classes is None else ("binary" if len(classes) <= 2 else "multiclass"),
        pos_label=pos_label,
    )
    if classes is not None and encoded.task != "regression":
        encoded = _with_classes(encoded, tuple(classes), pos_label)
    return counts_of(encoded)


def _with_classes(
    encoded: EncodedInput, classes: tuple[Hashable, ...], pos_label: Hashable | None
) -> EncodedInput:
    wanted = tuple(_sort_levels(classes))
    if len(set(wanted)) != len(wanted) or not set(encoded.classes) <= set(wanted):
        raise BiasChecksInputError(
            "The labels include values outside `classes`; list every label value in classes.",
            classes=[repr(c) for c in wanted],
            found=[repr(c) for c in encoded.classes],
        )
    position = np.asarray([wanted.index(c) for c in encoded.classes], dtype=np.intp)
    resolved_pos = encoded.pos_label
    if len(wanted) <= 2:
        resolved_pos = pos_label if pos_label is not None else encoded.pos_label
        if resolved_pos not in wanted:
            raise BiasChecksInputError(
                "pos_label is not one of `classes`; name one of them.", pos_label=repr(pos_label)
            )
    return EncodedInput(
        "binary" if len(wanted) <= 2 else "multiclass",
        encoded.n_rows,
        wanted,
        resolved_pos,
        position[encoded.y_true],
        position[encoded.y_pred],
        encoded.sample_weight,
        encoded.sensitive,
        encoded.control,
    )


def counted_input(counts: GroupCounts) -> tuple[EncodedInput, GroupIndex, CellStats]:
    """The engine's view of summed counts: the features, the group index in the order an
    audit of the pooled rows would build it, and the cells. Groups left without rows (after
    noisy cells below zero are set to zero) are dropped, as the pooled rows would lack them.
    """
    cells = np.clip(counts.counts, 0, None)
    weights = np.clip(counts.cell_weights(), 0.0, None)
    if counts.noise_variance is not None and counts.weights is None:
        weights = cells.astype(np.float64)
    keep = np.flatnonzero(cells.sum(axis=(1, 2)) > 0)
    if keep.size == 0:
        raise EmptyInputError()
    names = counts.control + counts.sensitive
    keys = [counts.keys[int(g)] for g in keep]
    levels = [tuple(_sort_levels(key[j] for key in keys)) for j in range(len(names))]
    lookup = [{value: code for code, value in enumerate(column)} for column in levels]
    codes = np.array(
        [[lookup[j][key[j]] for j in range(len(names))] for key in keys], dtype=np.intp
    ).reshape(len(keys), len(names))
    order = np.lexsort(codes.T[::-1])
    rows = keep[order]
    features = tuple(
        Feature(name, levels[j], np.empty(0, dtype=np.intp)) for j, name in enumerate(names)
    )
    index = GroupIndex(features, codes[order], np.empty(0, dtype=np.intp))
    weights_sq = None if counts.weights_sq is None else counts.weights_sq[rows]
    noise = None if counts.noise_variance is None else counts.noise_variance[rows]
    stats = CellStats(cells[rows], weights[rows], weights_sq, None, noise)
    n_control = len(counts.control)
    encoded = EncodedInput(
        counts.task,
        int(cells[rows].sum()),
        counts.classes,
        counts.pos_label,
        np.empty(0, dtype=np.intp),
        np.empty(0, dtype=np.intp),
        None,
        features[n_control:],
        features[:n_control],
    )
    return encoded, index, stats
