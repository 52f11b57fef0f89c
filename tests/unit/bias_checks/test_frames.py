"""The frame engine: counts computed by each dataframe library equal the in-memory audit.

Every backend narwhals drives here (pandas, Polars eager and lazy, PyArrow, DuckDB over Arrow
and over a Parquet file, Dask with several partitions) must give the audit of
``audit_predictions`` on the same rows as numpy arrays: the same canonical bytes unweighted,
every number to 1e-9 weighted. Bad input is refused with a code, before data is read where
the schema alone tells.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bias_checks import (
    BiasChecksInputError,
    EmptyInputError,
    EvidenceRule,
    InvalidParameterError,
    InvalidSampleWeightError,
    MissingColumnError,
    NanInControlFeaturesError,
    NanInLabelsError,
    NanInSensitiveFeaturesError,
    ScoresWithoutCutoffError,
    Threshold,
    audit_counts,
    audit_frame,
    audit_predictions,
    counts_from_cells,
    frame_cells,
    frame_counts,
    group_counts,
)
from bias_checks._errors import MISSING_COLUMN, SCORES_WITHOUT_CUTOFF
from bias_checks._frame_cells import _cells

THRESHOLDS = (
    Threshold("demographic_parity_difference", 0.1),
    Threshold("equalized_odds_difference", 0.1),
    Threshold("balanced_accuracy_difference", 0.1),
)
LENIENT = EvidenceRule(min_group_size=1, min_denominator=1)

Backend = Callable[[pd.DataFrame], Any]


def _duckdb_parquet(rows: pd.DataFrame) -> Any:
    # A relation over a real file: DuckDB scans it when the counts are collected.
    path = Path(_PARQUET_DIR[0]) / f"rows-{id(rows)}-{len(rows)}.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    return duckdb.read_parquet(str(path))


_PARQUET_DIR: list[str] = []

BACKENDS: dict[str, Backend] = {
    "pandas": lambda rows: rows,
    "polars": pl.from_pandas,
    "polars_lazy": lambda rows: pl.from_pandas(rows).lazy(),
    "pyarrow": lambda rows: pa.Table.from_pandas(rows, preserve_index=False),
    "duckdb_arrow": lambda rows: duckdb.from_arrow(
        pa.Table.from_pandas(rows, preserve_index=False)
    ),
    "duckdb_parquet": _duckdb_parquet,
    "dask": lambda rows: dd.from_pandas(rows, npartitions=3),
}


@pytest.fixture(autouse=True, scope="module")
def _parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    _PARQUET_DIR.append(str(tmp_path_factory.mktemp("frames")))
    yield
    _PARQUET_DIR.clear()


def _rows(seed: int, n: int, *, classes: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["F", "M"], n)
    band = rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "y": rng.integers(0, classes, n),
            "pred": rng.integers(0, classes, n),
            "score": rng.random(n),
            "sex": sex,
            "band": band,
            "region": rng.choice(["north", "south"], n),
            "w": rng.lognormal(0, 1, n),
        }
    )


def _reference(rows: pd.DataFrame, **kwargs: Any) -> Any:
    control = kwargs.pop("control", ())
    weight = kwargs.pop("weight", None)
    return audit_predictions(
        rows["y"].to_numpy(),
        kwargs.pop("y_pred", rows["pred"].to_numpy()),
        sensitive_features={name: rows[name].to_numpy() for name in kwargs.pop("sensitive")},
        control_features={name: rows[name].to_numpy() for name in control} if control else None,
        sample_weight=None if weight is None else rows[weight].to_numpy(),
        **kwargs,
    )


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


def _same_to_1e_9(ours: Any, theirs: Any) -> None:
    a, b = json.loads(ours.to_canonical_json()), json.loads(theirs.to_canonical_json())
    assert [c["verdict"] for c in a["checks"]] == [c["verdict"] for c in b["checks"]]
    x, y = _numbers(a), _numbers(b)
    assert len(x) == len(y)
    assert all(math.isclose(p, q, rel_tol=1e-9, abs_tol=1e-9) for p, q in zip(x, y, strict=True))


@pytest.mark.parametrize(
    "backend",
    # pandas in the quick loop (`./dev.sh check`), every engine in the full suite
    [b if b == "pandas" else pytest.param(b, marks=pytest.mark.slow) for b in sorted(BACKENDS)],
)
def test_every_backend_gives_the_in_memory_audit_byte_for_byte(backend: str) -> None:
    rows = _rows(1, 3_000)
    expected = _reference(
        rows,
        sensitive=["sex", "band"],
        control=["region"],
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=30,
    )
    result = audit_frame(
        BACKENDS[backend](rows),
        y_true="y",
        y_pred="pred",
        sensitive_features=["sex", "band"],
        control_features=["region"],
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=30,
    )
    assert result.to_canonical_json() == expected.to_canonical_json()


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_weighted_scores_with_a_cutoff_equal_the_in_memory_audit_to_1e_9(backend: str) -> None:
    rows = _rows(2, 2_000)
    expected = _reference(
        rows,
        y_pred=(rows["score"].to_numpy() >= 0.4).astype(np.int64),
        sensitive=["sex"],
        weight="w",
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    result = audit_frame(
        BACKENDS[backend](rows),
        y_true="y",
        y_pred="score",
        cutoff=0.4,
        sensitive_features=["sex"],
        sample_weight="w",
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    _same_to_1e_9(result, expected)


def test_multiclass_rows_give_the_multiclass_audit() -> None:
    rows = _rows(3, 2_000, classes=3)
    expected = _reference(rows, sensitive=["sex"], control=["band"], n_boot=20)
    result = audit_frame(
        pl.from_pandas(rows).lazy(),
        y_true="y",
        y_pred="pred",
        sensitive_features=["sex"],
        control_features=["band"],
        n_boot=20,
    )
    assert result.to_canonical_json() == expected.to_canonical_json()
    assert json.loads(result.to_canonical_json())["task"] == "multiclass"


def test_string_labels_with_a_cutoff_predict_the_named_positive_class() -> None:
    rows = _rows(4, 1_000)
    rows["y"] = np.where(rows["y"] == 1, "hired", "rejected")
    predicted = np.where(rows["score"] >= 0.6, "hired", "rejected")
    expected = _reference(rows, y_pred=predicted, sensitive=["sex"], pos_label="hired", n_boot=0)
    result = audit_frame(
        duckdb.from_arrow(pa.Table.from_pandas(rows)),
        y_true="y",
        y_pred="score",
        cutoff=0.6,
        pos_label="hired",
        sensitive_features=["sex"],
        n_boot=0,
    )
    assert result.to_canonical_json() == expected.to_canonical_json()


def test_counts_with_declared_classes_equal_group_counts() -> None:
    rows = _rows(5, 500)
    rows["y"] = 1  # one class occurs; the declared classes keep the other
    expected = group_counts(
        rows["y"].to_numpy(),
        rows["pred"].to_numpy(),
        sensitive_features={"sex": rows["sex"].to_numpy()},
        sample_weight=rows["w"].to_numpy(),
        classes=(0, 1),
    )
    counts = frame_counts(
        pl.from_pandas(rows),
        y_true="y",
        y_pred="pred",
        sensitive_features=["sex"],
        sample_weight="w",
        classes=(0, 1),
    )
    assert counts.keys == expected.keys
    assert counts.classes == expected.classes
    assert counts.pos_label == expected.pos_label
    np.testing.assert_array_equal(counts.counts, expected.counts)
    np.testing.assert_allclose(counts.cell_weights(), expected.cell_weights(), rtol=1e-12)
    np.testing.assert_allclose(
        np.asarray(counts.weights_sq), np.asarray(expected.weights_sq), rtol=1e-12
    )


def test_frame_cells_returns_one_row_per_combination_with_its_sums() -> None:
    rows = pd.DataFrame(
        {
            "sex": ["F", "F", "M", "F"],
            "score": [0.9, 0.1, 0.7, 0.8],
            "w": [1.0, 2.0, 3.0, 4.0],
        }
    )
    cells = frame_cells(
        pl.from_pandas(rows).lazy(), columns=["sex"], score="score", cutoff=0.5, weight="w"
    )
    table = {(r.sex, r.score): (r.n, r.w, r.w2) for r in cells.itertuples()}
    assert table == {
        ("F", True): (2, 5.0, 17.0),
        ("F", False): (1, 2.0, 4.0),
        ("M", True): (1, 3.0, 9.0),
    }


def test_counts_from_cells_adds_repeated_cells() -> None:
    cells = pd.DataFrame({"y": [1, 1, 0], "p": [1, 1, 0], "g": ["a", "a", "b"], "n": [2, 3, 4]})
    counts = counts_from_cells(
        cells, y_true="y", y_pred="p", sensitive_features=["g"], weighted=False
    )
    assert counts.keys == (("a",), ("b",))
    assert counts.counts.tolist() == [[[0, 0], [0, 5]], [[4, 0], [0, 0]]]


# ----- the same rows on every backend, drawn by hypothesis ---------------------------------
@st.composite
def _drawn_rows(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str], list[str], bool]:
    n = draw(st.integers(1, 40))
    labels = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    rows = pd.DataFrame(
        {
            "y": np.asarray(draw(labels), dtype=np.int64),
            "pred": np.asarray(draw(labels), dtype=np.int64),
            "colour": draw(
                st.lists(st.sampled_from(["red", "blue", "green"]), min_size=n, max_size=n)
            ),
            "age": np.asarray(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)), np.int64),
            "site": draw(st.lists(st.sampled_from(["x", "y"]), min_size=n, max_size=n)),
            "w": draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)),
        }
    )
    sensitive = draw(st.sampled_from([["colour"], ["age"], ["colour", "age"]]))
    control = draw(st.sampled_from([[], ["site"]]))
    return rows, sensitive, control, draw(st.booleans())


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_drawn_rows())
def test_random_rows_audit_alike_on_every_backend(
    drawn: tuple[pd.DataFrame, list[str], list[str], bool],
) -> None:
    rows, sensitive, control, weighted = drawn
    weight = "w" if weighted else None
    expected = _reference(
        rows,
        sensitive=sensitive,
        control=control,
        weight=weight,
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=10,
    )
    audits: dict[bytes, Any] = {}  # equal counts give equal audits: audit each distinct one
    for backend in ("pandas", "polars_lazy", "pyarrow", "duckdb_arrow", "dask"):
        counts = frame_counts(
            BACKENDS[backend](rows),
            y_true="y",
            y_pred="pred",
            sensitive_features=sensitive,
            control_features=control,
            sample_weight=weight,
        )
        key = counts.to_json()
        if key not in audits:
            audits[key] = audit_counts(counts, thresholds=THRESHOLDS, evidence=LENIENT, n_boot=10)
        result = audits[key]
        if weighted:
            _same_to_1e_9(result, expected)
        else:
            assert result.to_canonical_json() == expected.to_canonical_json(), backend


# ----- bad input ---------------------------------------------------------------------------
def _never_read(values: pl.Series) -> pl.Series:
    raise AssertionError("the data was read; a missing column must be found from the schema")


def test_a_missing_column_is_named_before_any_data_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.parquet"
    _rows(6, 100).drop(columns=["sex"]).to_parquet(path)
    lazy = pl.scan_parquet(path).with_columns(
        pl.col("y").map_batches(_never_read, return_dtype=pl.Int64)
    )
    with pytest.raises(MissingColumnError) as caught:
        audit_frame(lazy, y_true="y", y_pred="pred", sensitive_features=["sex"])
    assert str(caught.value) == MISSING_COLUMN
    assert caught.value.details["column"] == "sex"
    assert "band" in caught.value.details["columns"]


def test_a_missing_weight_column_is_named() -> None:
    relation = duckdb.from_arrow(pa.Table.from_pandas(_rows(7, 50)))
    with pytest.raises(MissingColumnError) as caught:
        frame_counts(
            relation, y_true="y", y_pred="pred", sensitive_features=["sex"], sample_weight="wt"
        )
    assert caught.value.details["column"] == "wt"


@pytest.mark.parametrize(
    ("column", "error"),
    [
        ("y", NanInLabelsError),
        ("pred", NanInLabelsError),
        ("sex", NanInSensitiveFeaturesError),
        ("region", NanInControlFeaturesError),
    ],
)
@pytest.mark.parametrize("backend", ["pandas", "polars_lazy", "duckdb_arrow", "dask"])
def test_missing_values_are_refused_with_their_code(
    column: str, error: type[Exception], backend: str
) -> None:
    rows = _rows(8, 200).astype({"y": "object", "pred": "object"})
    rows.loc[17, column] = None
    with pytest.raises(error):
        frame_counts(
            BACKENDS[backend](rows),
            y_true="y",
            y_pred="pred",
            sensitive_features=["sex"],
            control_features=["region"],
        )


def test_a_nan_float_label_is_refused() -> None:
    rows = pl.DataFrame({"y": [1.0, float("nan"), 0.0], "pred": [1, 0, 1], "g": ["a", "b", "a"]})
    with pytest.raises(NanInLabelsError):
        frame_counts(rows.lazy(), y_true="y", y_pred="pred", sensitive_features=["g"])


def test_a_missing_score_with_a_cutoff_is_refused() -> None:
    rows = pl.DataFrame({"y": [1, 0, 1], "score": [0.2, None, 0.9], "g": ["a", "b", "a"]})
    with pytest.raises(NanInLabelsError):
        frame_counts(rows, y_true="y", y_pred="score", cutoff=0.5, sensitive_features=["g"])


@pytest.mark.parametrize(
    "weights",
    [
        [1.0, None, 2.0],
        [1.0, -1.0, 2.0],
        [1.0, float("inf"), 2.0],
        [0.0, 0.0, 0.0],
        [1e160, 1e160, 1e160],
        [1e-170, 1e-170, 1e-170],
    ],
)
def test_bad_weights_are_refused(weights: list[float | None]) -> None:
    rows = pl.DataFrame({"y": [1, 0, 1], "pred": [1, 0, 0], "g": ["a", "b", "a"], "w": weights})
    with pytest.raises(InvalidSampleWeightError):
        frame_counts(
            rows.lazy(), y_true="y", y_pred="pred", sensitive_features=["g"], sample_weight="w"
        )


@pytest.mark.parametrize("backend", ["pandas", "polars_lazy", "duckdb_arrow", "dask"])
def test_scores_without_a_cutoff_are_refused(backend: str) -> None:
    rows = _rows(9, 5_000)
    with pytest.raises(ScoresWithoutCutoffError) as caught:
        audit_frame(BACKENDS[backend](rows), y_true="y", y_pred="score", sensitive_features=["sex"])
    assert caught.value.code == "scores_need_cutoff"
    assert str(caught.value) == SCORES_WITHOUT_CUTOFF


def test_scores_fold_into_one_key_so_the_table_stays_small() -> None:
    rows = _rows(10, 5_000)
    cells = frame_cells(rows, columns=["y", "sex"])
    folded = _cells(
        rows,
        columns=["y", "sex", "score"],
        score=None,
        cutoff=None,
        weight=None,
        labels=("y", "score"),
    )
    assert len(folded) <= 2 * len(cells)


def test_integral_float_predictions_are_labels() -> None:
    rows = _rows(11, 500)
    expected = _reference(rows, sensitive=["sex"], n_boot=0)
    floats = rows.astype({"pred": np.float64})
    result = audit_frame(
        pl.from_pandas(floats), y_true="y", y_pred="pred", sensitive_features=["sex"], n_boot=0
    )
    floats_expected = _reference(
        floats, y_pred=floats["pred"].to_numpy(), sensitive=["sex"], n_boot=0
    )
    assert result.to_canonical_json() == floats_expected.to_canonical_json()
    assert (
        json.loads(result.to_canonical_json())["groups"]
        == json.loads(expected.to_canonical_json())["groups"]
    )


@pytest.mark.parametrize("cutoff", [None, 0.5])
def test_a_frame_without_rows_is_refused(cutoff: float | None) -> None:
    rows = pl.DataFrame(
        {"y": [], "pred": [], "g": []}, schema={"y": pl.Int8, "pred": pl.Float64, "g": pl.String}
    )
    with pytest.raises(EmptyInputError):
        frame_counts(
            rows.lazy(), y_true="y", y_pred="pred", sensitive_features=["g"], cutoff=cutoff
        )


def test_something_that_is_not_a_frame_is_refused() -> None:
    with pytest.raises(InvalidParameterError):
        audit_frame([1, 2, 3], y_true="y", y_pred="pred", sensitive_features=["g"])


def test_a_feature_named_like_a_count_column_is_refused() -> None:
    rows = pd.DataFrame({"y": [1, 0], "pred": [1, 1], "n": ["a", "b"]})
    with pytest.raises(InvalidParameterError):
        frame_counts(rows, y_true="y", y_pred="pred", sensitive_features=["n"])


def test_a_text_score_with_a_cutoff_is_refused() -> None:
    rows = pl.DataFrame({"y": [1, 0], "score": ["high", "low"], "g": ["a", "b"]})
    with pytest.raises(InvalidParameterError) as caught:
        frame_counts(rows, y_true="y", y_pred="score", cutoff=0.5, sensitive_features=["g"])
    assert caught.value.details == {"column": "score"}


def test_labels_outside_the_declared_classes_are_refused() -> None:
    rows = pd.DataFrame({"y": [0, 1, 2], "pred": [0, 1, 1], "g": ["a", "b", "a"]})
    with pytest.raises(BiasChecksInputError, match="outside `classes`"):
        frame_counts(rows, y_true="y", y_pred="pred", sensitive_features=["g"], classes=(0, 1))


def test_probabilities_in_a_text_column_are_refused() -> None:
    # Review of #17 (hole 3): a score column read as text was a multiclass audit.
    rng = np.random.default_rng(0)
    rows = pd.DataFrame(
        {
            "y": rng.integers(0, 2, 200),
            "score": rng.random(200).astype(str),
            "g": rng.choice(["a", "b"], 200),
        }
    )
    with pytest.raises(ScoresWithoutCutoffError):
        audit_frame(rows, y_true="y", y_pred="score", sensitive_features=["g"])


# ----- text predictions: scores refused before grouping, labels kept ------------------------
TEXT_BACKENDS = ["pandas", "polars_lazy", "duckdb_arrow"]


def _text_rows(values: list[str], n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(len(values))
    return pd.DataFrame(
        {
            "y": rng.choice(values, n),
            "pred": rng.choice(values, n),
            "g": rng.choice(["a", "b"], n),
        }
    )


@pytest.mark.parametrize("backend", TEXT_BACKENDS)
@pytest.mark.parametrize(
    "values",
    [
        ["yes", "no"],
        ["1", "0"],
        ["2.0", "1.0"],
        [" 2 ", "1.00"],
        ["1.5e1", "2"],
        ["nan", "1"],
        ["0.25", "1"],
        ["1e-3", "0"],
        ["+.5", "1"],
    ],
)
def test_text_predictions_follow_the_in_memory_rule(backend: str, values: list[str]) -> None:
    """Whole numbers and words are labels, a non-whole number makes the column scores."""
    rows = _text_rows(values)
    options: dict[str, Any] = {"pos_label": values[0], "n_boot": 0}
    try:
        expected = audit_predictions(
            rows["y"].to_numpy(),
            rows["pred"].to_numpy(),
            sensitive_features={"g": rows["g"].to_numpy()},
            **options,
        ).to_canonical_json()
    except ScoresWithoutCutoffError:
        expected = "scores_need_cutoff"
    try:
        result = audit_frame(
            BACKENDS[backend](rows), y_true="y", y_pred="pred", sensitive_features=["g"], **options
        ).to_canonical_json()
    except ScoresWithoutCutoffError as caught:
        result = caught.code
    assert result == expected
    assert (result == "scores_need_cutoff") == (values[0] in {"0.25", "1e-3", "+.5"})


def _poisoned_polars(rows: pd.DataFrame) -> Any:
    return (
        pl.from_pandas(rows)
        .lazy()
        .with_columns(pl.col("g").map_batches(_never_read, return_dtype=pl.String))
    )


def _poisoned_duckdb(rows: pd.DataFrame) -> Any:
    # DuckDB's error() fails the query if the feature column is ever computed.
    table = pa.Table.from_pandas(rows.drop(columns=["g"]), preserve_index=False)
    relation = duckdb.from_arrow(table)
    return relation.project("y, pred, error('the rows were grouped') AS g")


@pytest.mark.parametrize("make", [_poisoned_polars, _poisoned_duckdb])
def test_text_scores_are_refused_before_the_rows_are_grouped(
    make: Callable[[pd.DataFrame], Any],
) -> None:
    """Only the prediction column is read: the grouped feature column never is."""
    rng = np.random.default_rng(4)
    rows = _text_rows(["0", "1"], n=20_000).assign(pred=rng.random(20_000).astype(str))
    with pytest.raises(ScoresWithoutCutoffError) as caught:
        audit_frame(make(rows), y_true="y", y_pred="pred", sensitive_features=["g"])
    assert caught.value.details == {"column": "pred"}
    labels = rows.assign(pred=rows["y"])
    with pytest.raises(Exception, match=r"the rows were grouped|data was read"):
        audit_frame(make(labels), y_true="y", y_pred="pred", sensitive_features=["g"])
