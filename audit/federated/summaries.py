"""Mergeable column summaries and the global preprocessor built from them (#16).

A node never sends rows. It sends a :class:`FrameSummary` of its training frame (per numeric
column: count, sum, sum of squares and missing count; per categorical column: the count of
each level and the missing count). Summaries add up, so :func:`combine` of every node's
summary describes the pooled frame, and :func:`global_preprocessor` builds from it the
scikit-learn ``ColumnTransformer`` that :func:`audit.training.make_preprocessor` would have
fitted on the pooled frame: one-hot in sorted level order, mean imputation, standard
scaling. Under a robust strategy, :func:`combine` takes the median of the nodes' means and
variances instead, so one node's made-up sums cannot rescale a column for everyone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.compose import ColumnTransformer

# The scaler's own rule for a constant column (scale 1, not 0); private, but re-deriving it
# by hand could drift from the pooled fit this module must equal.
from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature

from audit.errors import AuditError
from audit.training import make_preprocessor
from core.errors import ErrorCategory

Count = Annotated[int, Field(ge=0)]


class InvalidNodeSummary(AuditError):
    """A node's column summary is malformed or disagrees with the other nodes' columns."""

    code: ClassVar[str] = "invalid_node_summary"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"rejected a node's column summary: {problem}; the node must hold the dataset's "
            "columns with the manifest's types",
            problem=problem,
        )


class NumericSummary(BaseModel):
    """Count, sum and sum of squares of a numeric column's values, and its missing count."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["numeric"] = "numeric"
    count: Count
    total: float = Field(allow_inf_nan=False)
    squares: float = Field(ge=0.0, allow_inf_nan=False)
    missing: Count


class CategoricalSummary(BaseModel):
    """How many rows hold each level of a categorical column, and how many hold none."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: Literal["categorical"] = "categorical"
    levels: dict[str, Count]
    missing: Count


ColumnSummary = Annotated[NumericSummary | CategoricalSummary, Field(discriminator="kind")]


class FrameSummary(BaseModel):
    """A node's mergeable summary of its training frame, columns in the frame's order."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    rows: Count
    columns: list[tuple[str, ColumnSummary]]

    @model_validator(mode="after")
    def _columns_cover_the_rows(self) -> FrameSummary:
        for name, column in self.columns:
            held = column.missing + (
                column.count if isinstance(column, NumericSummary) else sum(column.levels.values())
            )
            if held != self.rows:
                raise ValueError(f"column {name!r} covers {held} rows of {self.rows}")
        return self

    def to_json(self) -> str:
        """The summary as JSON; floats are written so that :meth:`from_json` reads them back
        bit for bit."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> FrameSummary:
        """Read a summary a node sent.

        Raises
        ------
        InvalidNodeSummary
            The JSON is not a well-formed summary.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "summary"
            raise InvalidNodeSummary(f"{where}: {error['msg']}") from None


def _is_numeric(series: pd.Series[Any]) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series))


def summarize(frame: pd.DataFrame) -> FrameSummary:
    """Summarise a node's training inputs; numeric columns are those
    :func:`audit.training.make_preprocessor` scales.

    Examples
    --------
    >>> from audit.synthetic import make_loans
    >>> summary = summarize(make_loans(50)[["income", "region"]])
    >>> summary.rows, summary.columns[1][1].missing
    (50, 0)
    """
    columns: list[tuple[str, NumericSummary | CategoricalSummary]] = []
    for name in frame.columns:
        series = frame[name]
        missing = int(series.isna().sum())
        if _is_numeric(series):
            values = series.dropna().to_numpy(dtype=np.float64)
            column: NumericSummary | CategoricalSummary = NumericSummary(
                count=len(values),
                total=math.fsum(values),
                squares=math.fsum(values * values),
                missing=missing,
            )
        else:
            counts = series.dropna().astype(str).value_counts()
            levels = {str(level): int(n) for level, n in sorted(counts.items())}
            column = CategoricalSummary(levels=levels, missing=missing)
        columns.append((str(name), column))
    return FrameSummary(rows=len(frame), columns=columns)


def _merge(name: str, parts: Sequence[NumericSummary | CategoricalSummary]) -> ColumnSummary:
    kinds = {part.kind for part in parts}
    if len(kinds) > 1:
        raise InvalidNodeSummary(f"column {name!r} is numeric on some nodes only")
    missing = sum(part.missing for part in parts)
    if isinstance(parts[0], NumericSummary):
        numeric = [p for p in parts if isinstance(p, NumericSummary)]
        return NumericSummary(
            count=sum(p.count for p in numeric),
            total=math.fsum(p.total for p in numeric),
            squares=math.fsum(p.squares for p in numeric),
            missing=missing,
        )
    levels: dict[str, int] = {}
    for part in parts:
        if isinstance(part, CategoricalSummary):
            for level, n in part.levels.items():
                levels[level] = levels.get(level, 0) + n
    return CategoricalSummary(levels=dict(sorted(levels.items())), missing=missing)


def _robust_numeric(parts: Sequence[NumericSummary], missing: int) -> NumericSummary:
    """A numeric summary with the pooled count but the median of the nodes' means and of
    their variances, so one node's made-up sums cannot rescale the column for everyone."""
    seen = [p for p in parts if p.count > 0]
    count = sum(p.count for p in seen)
    if not seen:
        return NumericSummary(count=0, total=0.0, squares=0.0, missing=missing)
    means = [p.total / p.count for p in seen]
    variances = [max(p.squares / p.count - m * m, 0.0) for p, m in zip(seen, means, strict=True)]
    mean, variance = statistics.median(means), statistics.median(variances)
    return NumericSummary(
        count=count, total=count * mean, squares=count * (variance + mean * mean), missing=missing
    )


def combine(parts: Iterable[FrameSummary], *, robust: bool = False) -> FrameSummary:
    """The summary of the pooled frame: the sum of the nodes' summaries.

    With ``robust`` (the voted strategy resists poisoned updates, so the preprocessing must
    too), each numeric column takes the median of the nodes' means and variances instead of
    the pooled ones; categorical levels are still the union.

    Raises
    ------
    InvalidNodeSummary
        No summaries, or nodes that disagree on the columns, their order or their types.

    Examples
    --------
    >>> from audit.synthetic import make_loans
    >>> frame = make_loans(60)[["income", "region"]]
    >>> combine([summarize(frame[:20]), summarize(frame[20:])]) == summarize(frame)
    True
    """
    parts = list(parts)
    if not parts:
        raise InvalidNodeSummary("no node sent a summary")
    names = [name for name, _ in parts[0].columns]
    for part in parts[1:]:
        if [name for name, _ in part.columns] != names:
            raise InvalidNodeSummary(f"columns {[n for n, _ in part.columns]} instead of {names}")
    columns = [
        (name, _merge(name, [part.columns[i][1] for part in parts])) for i, name in enumerate(names)
    ]
    if robust:
        for i, (name, column) in enumerate(columns):
            if isinstance(column, NumericSummary):
                numeric = [p.columns[i][1] for p in parts]
                kept = [c for c in numeric if isinstance(c, NumericSummary)]
                columns[i] = (name, _robust_numeric(kept, column.missing))
    return FrameSummary(rows=sum(part.rows for part in parts), columns=columns)


def _skeleton(summary: FrameSummary) -> pd.DataFrame:
    """A few rows holding every categorical level (and a missing value where the pool has
    one), so that fitting ``make_preprocessor`` on them gives the pooled column layout."""
    height = 1
    for _, column in summary.columns:
        if isinstance(column, CategoricalSummary):
            height = max(height, len(column.levels) + (column.missing > 0))
    data: dict[str, Any] = {}
    for name, column in summary.columns:
        if isinstance(column, NumericSummary):
            data[name] = np.zeros(height, dtype=np.float64)
        else:
            values: list[Any] = list(column.levels) + ([np.nan] if column.missing else [])
            data[name] = np.array(values + values[:1] * (height - len(values)), dtype=object)
    return pd.DataFrame(data)


def global_preprocessor(summary: FrameSummary) -> ColumnTransformer:
    """The fitted preprocessor that ``make_preprocessor(pooled).fit(pooled)`` would give.

    The one-hot layout comes from fitting scikit-learn on a skeleton holding every level;
    the imputation means and the scaler's mean and variance come from the pooled sums
    (variance ``(Σx² - (Σx)²/n) / rows``: imputed rows sit at the mean, adding nothing).

    Raises
    ------
    InvalidNodeSummary
        The pool has no rows, or a numeric column without a single value.

    Examples
    --------
    >>> from audit.synthetic import make_loans
    >>> frame = make_loans(80)[["income", "employment"]]
    >>> pre = global_preprocessor(combine([summarize(frame[:30]), summarize(frame[30:])]))
    >>> pre.transform(frame).shape
    (80, 4)
    """
    if summary.rows == 0:
        raise InvalidNodeSummary("the nodes hold no rows")
    skeleton = _skeleton(summary)
    preprocessor = make_preprocessor(skeleton).fit(skeleton)
    numeric = [(n, c) for n, c in summary.columns if isinstance(c, NumericSummary)]
    if not numeric:
        return preprocessor
    empty = [name for name, column in numeric if column.count == 0]
    if empty:
        raise InvalidNodeSummary(f"numeric column {empty[0]!r} has no value on any node")
    count = np.array([column.count for _, column in numeric], dtype=np.float64)
    mean = np.array([column.total for _, column in numeric]) / count
    spread = np.array([c.squares - c.total * c.total / c.count for _, c in numeric])
    variance = np.maximum(spread, 0.0) / summary.rows
    steps = preprocessor.named_transformers_["numeric"].named_steps
    steps["impute"].statistics_ = mean
    scaler = steps["scale"]
    scaler.mean_ = mean
    scaler.var_ = variance
    scaler.n_samples_seen_ = summary.rows
    constant = _is_constant_feature(variance, mean, summary.rows)
    scaler.scale_ = _handle_zeros_in_scale(np.sqrt(variance), copy=False, constant_mask=constant)
    return preprocessor
