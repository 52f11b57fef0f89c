"""One counting pass over any dataframe library: the cells of the per-group confusion counts.

:func:`frame_cells` asks the frame's own engine (pandas, Polars, PyArrow, DuckDB, Dask,
PySpark, through narwhals) for one ``group_by(columns).agg(len, sum(w), sum(w * w))``; only
that small table, one row per distinct combination, comes back to Python.

Bad input is found in the same pass: a null or non-finite value in a grouped column comes
back as its own key, bad weights as a short count of non-null weights or a negative minimum.
A float label column holding non-integral values (scores) is folded into one sentinel key
before grouping, so it cannot blow the table up to one row per score. A text label column
holding scores (a CSV read as text) is found before grouping too: the engine returns at most a
few of its values that are written as numbers with a fraction or an exponent, and these are
judged by the in-memory rule. Missing columns are found from the schema alone, before any
data is read.

narwhals imports the backends; this module never does, and it is the only one that imports
narwhals.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from bias_checks._errors import (
    EmptyInputError,
    InvalidParameterError,
    InvalidSampleWeightError,
    MissingColumnError,
    ScoresWithoutCutoffError,
)
from bias_checks._inputs import _holds_scores

NOT_A_FRAME = (
    "The data is not a dataframe; pass a pandas, Polars, PyArrow, DuckDB, Dask or PySpark "
    "frame (or a narwhals frame)."
)
RESERVED_NAME = (
    "A grouped column is named like one of the count columns (n, w, w2); rename it first."
)
CUTOFF_SCORE_NOT_NUMERIC = (
    "The score column {column!r} must be numeric to compare it with the cutoff."
)
SCORE_NOT_NUMERIC = "The score column {column!r} must be numeric: scores of the positive class."
#: Non-integral values of a float label column all become this one key before grouping.
_NON_INTEGRAL = 0.5
_W2 = "__fairgov_w2"
_W_COUNT = "__fairgov_w_count"
_W_MIN = "__fairgov_w_min"
#: Score checks per cell (see :mod:`bias_checks._frame_scores`): finite scores, extremes.
SCORE_OK = "__fairgov_s_ok"
SCORE_MIN = "__fairgov_s_min"
SCORE_MAX = "__fairgov_s_max"
_SCORE_COPY = "__fairgov_s"
_COUNT_COLUMNS = ("n", "w", "w2")
#: Text written as a decimal number (a fraction and an exponent are optional) ...
_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"
#: ... that is not plainly whole ("2", "2.", "2.00"): a candidate score.
_WHOLE = r"^\s*[+-]?\d+\.?0*\s*$"
#: How many candidate values of a text label column the engine returns at most.
_TEXT_SAMPLE = 1000


@contextmanager
def _quiet_dask() -> Iterator[None]:
    # narwhals 2.2x announces that its Dask backend moves to the optional `narwhals-dask`
    # package; the built-in backend is what runs here, so the notice is noise to our users.
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Dask support is moving out of Narwhals", category=FutureWarning
        )
        yield


def _lazy(frame: Any) -> nw.LazyFrame[Any]:
    try:
        native = nw.from_native(frame)
    except TypeError:
        raise InvalidParameterError(NOT_A_FRAME, type=type(frame).__name__) from None
    if isinstance(native, nw.DataFrame):
        return native.lazy()
    if isinstance(native, nw.LazyFrame):
        return native
    raise InvalidParameterError(NOT_A_FRAME, type=type(frame).__name__)


def _check_columns(schema: nw.Schema, needed: Sequence[str]) -> None:
    present = list(schema.names())
    for name in needed:
        if name not in schema:
            raise MissingColumnError(column=name, columns=present)


def _integral_or_sentinel(name: str) -> nw.Expr:
    column = nw.col(name)
    keep = column.is_null() | column.is_nan() | (column == column.round(0))
    return nw.when(keep).then(column).otherwise(nw.lit(_NON_INTEGRAL)).alias(name)


def _refuse_text_scores(lazy: nw.LazyFrame[Any], name: str) -> None:
    """Raise :class:`ScoresWithoutCutoffError` if the text column ``name`` holds scores.

    The engine filters the values written as non-whole numbers ("0.73", "1e-3") and returns
    at most :data:`_TEXT_SAMPLE` of them (a scan that stops early on lazy engines), so
    grouping never starts on a column with one key per score. They are judged by the
    in-memory rule (:func:`bias_checks._inputs._holds_scores`), so "yes", "1" and "2.0" stay
    labels. Should every returned candidate be whole ("1e3"), the full rule still runs on
    the grouped table.
    """
    column = nw.col(name)
    candidate = column.str.contains(_NUMBER) & ~column.str.contains(_WHOLE)
    sample = (
        lazy.select(column)
        .filter(~column.is_null())
        .filter(candidate)
        .head(_TEXT_SAMPLE)
        .collect()
        .get_column(name)
        .to_numpy()
    )
    if sample.size and _holds_scores(sample.astype(object)):
        raise ScoresWithoutCutoffError(column=name)


def _cells(
    frame: Any,
    *,
    columns: Sequence[str],
    score: str | None,
    cutoff: float | None,
    weight: str | None,
    labels: Sequence[str] = (),
    predictions: str | None = None,
    score_sums: str | None = None,
) -> pd.DataFrame:
    """:func:`frame_cells`, folding non-integral values of the float ``labels`` columns.

    A text ``predictions`` column among the grouped ones that holds scores is refused
    (:class:`ScoresWithoutCutoffError`) before grouping. ``score_sums`` names a numeric
    score column whose count of finite values (:data:`SCORE_OK`) and extremes
    (:data:`SCORE_MIN`, :data:`SCORE_MAX`) are found per cell in the same pass.
    """
    keys = list(dict.fromkeys([*columns, *([score] if score is not None else [])]))
    if set(keys) & set(_COUNT_COLUMNS):
        raise InvalidParameterError(RESERVED_NAME, columns=sorted(set(keys) & {"n", "w", "w2"}))
    with _quiet_dask():
        lazy = _lazy(frame)
        schema = lazy.collect_schema()
        extra = [name for name in (weight, score_sums) if name is not None]
        _check_columns(schema, [*keys, *extra])
        if predictions in keys and predictions != score and schema[predictions] == nw.String:
            _refuse_text_scores(lazy, predictions)
        derived: list[nw.Expr] = [
            _integral_or_sentinel(name)
            for name in dict.fromkeys(labels)
            if name in keys and name != score and schema[name].is_float()
        ]
        if score is not None and cutoff is not None:
            if not schema[score].is_numeric():
                raise InvalidParameterError(
                    CUTOFF_SCORE_NOT_NUMERIC.format(column=score), column=score
                )
            value = nw.col(score)
            valid = value.is_finite() if schema[score].is_float() else ~value.is_null()
            derived.append(nw.when(valid).then(value >= cutoff).alias(score))
        aggregations = [nw.len().alias("n")]
        if score_sums is not None:
            if not schema[score_sums].is_numeric():
                raise InvalidParameterError(
                    SCORE_NOT_NUMERIC.format(column=score_sums), column=score_sums
                )
            derived_scores, sums = _score_statistics(
                score_sums, is_float=schema[score_sums].is_float()
            )
            derived += derived_scores
            aggregations += sums
        if weight is not None:
            derived.append((nw.col(weight) * nw.col(weight)).alias(_W2))
            aggregations += [
                nw.col(weight).sum().alias("w"),
                nw.col(_W2).sum().alias("w2"),
                nw.col(weight).count().alias(_W_COUNT),
                nw.col(weight).min().alias(_W_MIN),
            ]
        if derived:
            lazy = lazy.with_columns(*derived)
        counted = lazy.group_by(keys).agg(*aggregations)
        table = counted.collect(**_collect_options(counted)).to_pandas()
    if table.empty:
        raise EmptyInputError()
    if weight is not None:
        _check_weights(table)
        table = table.drop(columns=[_W_COUNT, _W_MIN])
    return table.reset_index(drop=True)


def _score_statistics(name: str, *, is_float: bool) -> tuple[list[nw.Expr], list[nw.Expr]]:
    """Derived columns and their per-cell aggregations: finite scores and extremes.

    Float sums of the scores are not taken here: an engine adds in an order that changes
    from run to run (Polars' streaming engine, Dask's partitions), and an anchored report's
    bytes must not. Brier score and calibration come from the distinct-score table, summed
    in one order (:func:`bias_checks.score_counts`).
    """
    s = nw.col(name).cast(nw.Float64)
    finite = s.is_finite() if is_float else ~s.is_null()
    columns = [
        nw.when(finite).then(nw.lit(1)).otherwise(nw.lit(0)).alias(SCORE_OK),
        s.alias(_SCORE_COPY),  # the score column itself may become ``score >= cutoff``
    ]
    sums = [nw.col(SCORE_OK).sum().alias(SCORE_OK)]
    sums += [nw.col(_SCORE_COPY).min().alias(SCORE_MIN), nw.col(_SCORE_COPY).max().alias(SCORE_MAX)]
    return columns, sums


def _collect_options(lazy: nw.LazyFrame[Any]) -> dict[str, Any]:
    # Polars' streaming engine reads a Parquet scan in batches: a group-by over 1e8 rows then
    # needs about 100 MB instead of the columns in memory.
    return {"engine": "streaming"} if lazy.implementation.is_polars() else {}


def _check_weights(table: pd.DataFrame) -> None:
    count = table[_W_COUNT].to_numpy(dtype=np.float64)
    sums = table[["w", "w2"]].to_numpy(dtype=np.float64, na_value=np.nan)
    minimum = table[_W_MIN].to_numpy(dtype=np.float64, na_value=np.nan)
    if (
        (count != table["n"].to_numpy(dtype=np.float64)).any()
        or not np.isfinite(sums).all()
        or (minimum < 0).any()
        or not sums[:, 0].sum() > 0
        or not sums[:, 1].sum() > 0
    ):
        raise InvalidSampleWeightError()


def frame_cells(
    frame: Any,
    *,
    columns: Sequence[str],
    score: str | None = None,
    cutoff: float | None = None,
    weight: str | None = None,
    score_sums: str | None = None,
) -> pd.DataFrame:
    """Count the rows of each distinct combination of ``columns``, inside the frame's engine.

    Parameters
    ----------
    frame : dataframe
        Anything narwhals accepts: pandas, Polars DataFrame or LazyFrame, PyArrow Table,
        DuckDB relation, Dask DataFrame, PySpark DataFrame, or a narwhals frame. Lazy frames
        stay lazy until the one collect of the result.
    columns : sequence of str
        The columns to group by.
    score : str, optional
        A numeric score column. With ``cutoff`` it is replaced (before grouping) by the
        boolean ``score >= cutoff``, null where the score is missing or not finite; without a
        cutoff it is grouped as it is.
    cutoff : float, optional
        The cutoff applied to ``score``.
    weight : str, optional
        A weight column: adds ``w`` (sum of weights) and ``w2`` (sum of squared weights).
    score_sums : str, optional
        A numeric score column checked per cell in the same pass: its count of finite
        values (:data:`SCORE_OK`) and extremes (:data:`SCORE_MIN`, :data:`SCORE_MAX`); see
        :func:`bias_checks.score_counts_from_cells`.

    Returns
    -------
    pandas.DataFrame
        One row per combination present: the grouped columns (a missing value is its own
        combination), ``n`` (rows) and, with ``weight``, ``w`` and ``w2``.

    Raises
    ------
    MissingColumnError
        A named column is not in the frame's schema (found before any data is read).
    EmptyInputError
        The frame has no rows.
    InvalidSampleWeightError
        A weight is missing, negative or not finite, or the weights sum to zero.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"sex": ["F", "M", "F"], "y": [1, 0, 1], "p": [0.9, 0.2, 0.4]})
    >>> cells = frame_cells(rows, columns=["sex", "y"], score="p", cutoff=0.5)
    >>> sorted(cells.itertuples(index=False, name=None))
    [('F', 1, False, 1), ('F', 1, True, 1), ('M', 0, False, 1)]
    """
    return _cells(
        frame, columns=columns, score=score, cutoff=cutoff, weight=weight, score_sums=score_sums
    )
