"""Score metrics on every dataframe backend equal the in-memory engine.

ROC AUC (DeLong and Newcombe intervals), Brier score and calibration error, by group and as
disparities, and the cutoff sweep, computed from the sums and distinct-score counts each
backend returns, must equal ``audit_predictions(..., y_score=...)`` on the same rows to 1e-9,
and the AUC must equal sklearn's ``roc_auc_score`` per group.
"""

from __future__ import annotations

import json
import math
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
from sklearn.metrics import brier_score_loss, roc_auc_score

from bias_checks import (
    EvidenceRule,
    InvalidParameterError,
    MetricNotApplicableError,
    Threshold,
    audit_counts,
    audit_frame,
    audit_predictions,
    frame_scores,
)
from bias_checks._audit import SCORES_NOT_OF_COUNTS
from bias_checks._errors import (
    INVALID_SCORES,
    SCORE_METRIC_WEIGHTED,
    SCORES_OUTSIDE_UNIT_INTERVAL,
)
from bias_checks._frame_cells import CUTOFF_SCORE_NOT_NUMERIC, SCORE_NOT_NUMERIC
from bias_checks._scores import group_scores
from bias_checks._scores_counted import counted_group_scores, score_counts

SCORE_THRESHOLDS = (
    Threshold("roc_auc", 0.6),
    Threshold("roc_auc_difference", 0.1),
    Threshold("roc_auc_ratio", 0.9),
    Threshold("brier_score", 0.3),
    Threshold("brier_score_difference", 0.05),
    Threshold("calibration_error", 0.1),
    Threshold("calibration_error_ratio", 0.5),
    Threshold("demographic_parity_difference", 0.1),
)
LENIENT = EvidenceRule(min_group_size=1, min_denominator=1)


def _duckdb_parquet(rows: pd.DataFrame, tmp_path: Path) -> Any:
    path = tmp_path / f"rows-{len(rows)}.parquet"
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    return duckdb.read_parquet(str(path))


def _backend(name: str, rows: pd.DataFrame, tmp_path: Path) -> Any:
    if name == "duckdb_parquet":
        return _duckdb_parquet(rows, tmp_path)
    return {
        "pandas": lambda: rows,
        "polars": lambda: pl.from_pandas(rows),
        "polars_lazy": lambda: pl.from_pandas(rows).lazy(),
        "pyarrow": lambda: pa.Table.from_pandas(rows, preserve_index=False),
        "duckdb_arrow": lambda: duckdb.from_arrow(pa.Table.from_pandas(rows, preserve_index=False)),
        "dask": lambda: dd.from_pandas(rows, npartitions=3),
    }[name]()


BACKENDS = ["dask", "duckdb_arrow", "duckdb_parquet", "pandas", "polars", "polars_lazy", "pyarrow"]


def _rows(seed: int, n: int, *, decimals: int | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    band = rng.integers(0, 3, n)
    y = (rng.random(n) < 0.3 + 0.1 * band).astype(np.int64)
    score = np.clip(0.25 + 0.4 * y + rng.normal(0, 0.25, n), 0, 1)
    if decimals is not None:
        score = np.round(score, decimals)  # many ties
    return pd.DataFrame(
        {
            "y": y,
            "pred": rng.integers(0, 2, n),
            "score": score,
            "sex": rng.choice(["F", "M"], n),
            "band": band,
            "region": rng.choice(["north", "south"], n),
            "w": rng.lognormal(0, 1, n),
        }
    )


def _reference(rows: pd.DataFrame, *, sensitive: list[str], **kwargs: Any) -> Any:
    control = kwargs.pop("control", ())
    return audit_predictions(
        rows["y"].to_numpy(),
        kwargs.pop("y_pred", rows["pred"].to_numpy()),
        sensitive_features={name: rows[name].to_numpy() for name in sensitive},
        control_features={name: rows[name].to_numpy() for name in control} if control else None,
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


def _texts(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [(k, x) for k in sorted(value) for x in _texts(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _texts(item)]
    return [] if isinstance(value, int | float) and not isinstance(value, bool) else [value]


def _same_to_1e_9(ours: Any, theirs: Any) -> None:
    a, b = json.loads(ours.to_canonical_json()), json.loads(theirs.to_canonical_json())
    assert _texts(a) == _texts(b)  # every key, string, verdict and missing value alike
    x, y = _numbers(a), _numbers(b)
    assert len(x) == len(y)
    bad = [(p, q) for p, q in zip(x, y, strict=True) if not math.isclose(p, q, abs_tol=1e-9)]
    assert not bad


@pytest.mark.parametrize(
    "backend",
    # pandas in the quick loop (`./dev.sh check`), every engine in the full suite
    [b if b == "pandas" else pytest.param(b, marks=pytest.mark.slow) for b in BACKENDS],
)
def test_score_metrics_equal_the_in_memory_audit_to_1e_9(backend: str, tmp_path: Path) -> None:
    rows = _rows(1, 3_000, decimals=2)
    expected = _reference(
        rows,
        sensitive=["sex", "band"],
        control=["region"],
        y_score=rows["score"].to_numpy(),
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=20,
    )
    result = audit_frame(
        _backend(backend, rows, tmp_path),
        y_true="y",
        y_pred="pred",
        y_score="score",
        sensitive_features=["sex", "band"],
        control_features=["region"],
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=20,
    )
    assert {m.metric for m in result.metrics} >= {"roc_auc", "brier_score", "calibration_error"}
    assert result.cutoff_sweep is not None
    _same_to_1e_9(result, expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_scores_with_a_cutoff_equal_the_in_memory_cutoff_audit(
    backend: str, tmp_path: Path
) -> None:
    rows = _rows(2, 2_000)  # continuous scores: one table row per scored row
    expected = _reference(
        rows,
        sensitive=["sex"],
        y_pred=rows["score"].to_numpy(),
        cutoff=0.45,
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    result = audit_frame(
        _backend(backend, rows, tmp_path),
        y_true="y",
        y_pred="score",
        y_score="score",
        cutoff=0.45,
        sensitive_features=["sex"],
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    assert dict(result.config)["cutoff"] == 0.45
    _same_to_1e_9(result, expected)


def test_scores_far_outside_the_unit_interval_are_counted_without_a_warning() -> None:
    # Regression (review, session 22): scores of 1e308 overflowed the squared errors and four
    # RuntimeWarning lines reached the terminal; AUC takes any real scores.
    counted = score_counts(
        [("a",)],
        group=np.array([0, 0]),
        positive=np.array([True, False]),
        score=np.array([1e308, 5e307]),
        count=np.array([1, 1]),
    )
    assert counted.n_pos.tolist() == [1]
    assert np.isinf(counted.sums[0, 2])


def test_group_statistics_equal_the_in_memory_engine_and_sklearn() -> None:
    rows = _rows(3, 4_000, decimals=1)
    groups = rows["band"].to_numpy()
    positive = rows["y"].to_numpy() == 1
    scores = rows["score"].to_numpy()
    expected = group_scores(positive, scores, groups, 3)
    table = rows.groupby(["band", "y", "score"]).size().reset_index(name="n")
    counted = score_counts(
        [(0,), (1,), (2,)],
        group=table["band"].to_numpy(),
        positive=table["y"].to_numpy() == 1,
        score=table["score"].to_numpy(),
        count=table["n"].to_numpy(),
    )
    ours = counted_group_scores(counted, np.arange(3), 3)
    for field in (
        "roc_auc",
        "roc_auc_se",
        "brier_score",
        "brier_score_se",
        "brier_score_skew",
        "calibration_signed",
        "calibration_se",
    ):
        np.testing.assert_allclose(getattr(ours, field), getattr(expected, field), rtol=1e-9)
    for g in range(3):
        mask = groups == g
        assert ours.roc_auc[g] == pytest.approx(roc_auc_score(positive[mask], scores[mask]), 1e-12)
        assert ours.brier_score[g] == pytest.approx(
            brier_score_loss(positive[mask], scores[mask]), 1e-12
        )


def test_a_group_with_one_class_has_an_undefined_auc_and_stays_listed() -> None:
    rows = _rows(4, 600, decimals=2)
    rows.loc[rows["band"] == 2, "y"] = 1
    expected = _reference(
        rows, sensitive=["band"], y_score=rows["score"].to_numpy(), evidence=LENIENT, n_boot=0
    )
    result = audit_frame(
        pl.from_pandas(rows).lazy(),
        y_true="y",
        y_pred="pred",
        y_score="score",
        sensitive_features=["band"],
        evidence=LENIENT,
        n_boot=0,
    )
    aucs = {m.group: m for m in result.group_metrics("roc_auc")}
    assert len(aucs) == 3
    one_class = aucs[(("band", 2),)]
    assert math.isnan(one_class.value)
    assert one_class.ci is None
    assert all(not math.isnan(m.value) for key, m in aucs.items() if key != (("band", 2),))
    _same_to_1e_9(result, expected)


def test_scores_beyond_the_unit_interval_give_auc_and_quantile_cutoffs_only() -> None:
    rows = _rows(5, 1_500)
    rows["score"] = rows["score"] * 8 - 3  # logits-like: any real scores
    frame = pl.from_pandas(rows)
    expected = _reference(
        rows,
        sensitive=["sex"],
        y_score=rows["score"].to_numpy(),
        thresholds=(Threshold("roc_auc_difference", 0.1),),
        evidence=LENIENT,
        n_boot=0,
    )
    result = audit_frame(
        frame,
        y_true="y",
        y_pred="pred",
        y_score="score",
        sensitive_features=["sex"],
        thresholds=(Threshold("roc_auc_difference", 0.1),),
        evidence=LENIENT,
        n_boot=0,
    )
    assert result.cutoff_sweep is not None
    assert result.cutoff_sweep.cutoffs[0] == rows["score"].min()
    _same_to_1e_9(result, expected)
    with pytest.raises(InvalidParameterError) as caught:
        audit_frame(
            frame,
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=["sex"],
            thresholds=(Threshold("brier_score", 0.2),),
        )
    assert caught.value.args[0] == SCORES_OUTSIDE_UNIT_INTERVAL


def test_weights_with_scores_omit_the_score_metrics_as_in_memory() -> None:
    rows = _rows(6, 1_000)
    expected = _reference(
        rows,
        sensitive=["sex"],
        y_score=rows["score"].to_numpy(),
        sample_weight=rows["w"].to_numpy(),
        evidence=LENIENT,
        n_boot=0,
    )
    kwargs: dict[str, Any] = {
        "y_true": "y",
        "y_pred": "pred",
        "y_score": "score",
        "sensitive_features": ["sex"],
        "sample_weight": "w",
    }
    result = audit_frame(rows, evidence=LENIENT, n_boot=0, **kwargs)
    assert "scores_unweighted" in [w.code for w in result.warnings]
    _same_to_1e_9(result, expected)
    with pytest.raises(MetricNotApplicableError) as caught:
        audit_frame(rows, thresholds=(Threshold("roc_auc", 0.7),), **kwargs)
    assert caught.value.args[0] == SCORE_METRIC_WEIGHTED


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_non_finite_score_is_refused(bad: float) -> None:
    rows = _rows(7, 200)
    rows.loc[5, "score"] = bad
    with pytest.raises(InvalidParameterError) as caught:
        frame_scores(
            pl.from_pandas(rows, nan_to_null=False).lazy(),
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=["sex"],
        )
    assert caught.value.args[0] == INVALID_SCORES


def test_a_missing_score_is_refused() -> None:
    rows = pl.DataFrame({"y": [1, 0, 1], "p": [1, 0, 0], "s": [0.2, None, 0.7], "g": list("aab")})
    with pytest.raises(InvalidParameterError) as caught:
        frame_scores(rows, y_true="y", y_pred="p", y_score="s", sensitive_features=["g"])
    assert caught.value.args[0] == INVALID_SCORES


def test_a_text_score_column_is_refused() -> None:
    rows = pl.DataFrame({"y": [1, 0], "p": [1, 0], "s": ["0.2", "0.9"], "g": ["a", "b"]})
    with pytest.raises(InvalidParameterError) as caught:
        frame_scores(rows, y_true="y", y_pred="p", y_score="s", sensitive_features=["g"])
    # Regression: it said "to compare it with the cutoff" where there is no cutoff.
    assert (
        caught.value.args[0]
        == "The score column 's' must be numeric: scores of the positive class."
    )
    assert caught.value.args[0] == SCORE_NOT_NUMERIC.format(column="s")


def test_a_text_column_with_a_cutoff_is_refused_as_such() -> None:
    rows = pl.DataFrame({"y": [1, 0], "s": ["0.2", "0.9"], "g": ["a", "b"]})
    with pytest.raises(InvalidParameterError) as caught:
        frame_scores(
            rows, y_true="y", y_pred="s", y_score="s", cutoff=0.5, sensitive_features=["g"]
        )
    assert caught.value.args[0] == CUTOFF_SCORE_NOT_NUMERIC.format(column="s")


def test_without_y_score_a_cutoff_audit_keeps_its_earlier_report() -> None:
    rows = _rows(8, 800)
    plain = audit_frame(
        rows, y_true="y", y_pred="score", cutoff=0.5, sensitive_features=["sex"], n_boot=0
    )
    assert plain.cutoff_sweep is None
    assert "cutoff" not in dict(plain.config)
    assert not plain.group_metrics("roc_auc")


def test_score_counts_from_a_frame_audit_like_audit_frame() -> None:
    rows = _rows(9, 1_000, decimals=2)
    counts, scores = frame_scores(
        pl.from_pandas(rows).lazy(),
        y_true="y",
        y_pred="pred",
        y_score="score",
        sensitive_features=["sex"],
    )
    assert scores is not None
    # the distinct-score table: at most one row per group, class and distinct score
    assert scores.table_score.size <= 2 * 2 * 101
    assert int(scores.table_count.sum()) == counts.n_rows == 1_000
    via_counts = audit_counts(counts, scores=scores, thresholds=SCORE_THRESHOLDS, n_boot=0)
    direct = audit_frame(
        pl.from_pandas(rows).lazy(),
        y_true="y",
        y_pred="pred",
        y_score="score",
        sensitive_features=["sex"],
        thresholds=SCORE_THRESHOLDS,
        n_boot=0,
    )
    assert via_counts.to_canonical_json() == direct.to_canonical_json()


@st.composite
def _drawn_rows(draw: st.DrawFn) -> tuple[pd.DataFrame, list[str]]:
    n = draw(st.integers(8, 60))
    scores = st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]) | st.floats(0, 1)
    rows = pd.DataFrame(
        {
            "y": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "pred": draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)),
            "score": draw(st.lists(scores, min_size=n, max_size=n)),
            "colour": draw(st.lists(st.sampled_from(["red", "blue"]), min_size=n, max_size=n)),
            "age": draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        }
    )
    return rows, draw(st.sampled_from([["colour"], ["age"], ["colour", "age"]]))


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_drawn_rows())
def test_random_scores_audit_alike_on_three_backends(
    drawn: tuple[pd.DataFrame, list[str]],
) -> None:
    rows, sensitive = drawn
    expected = _reference(
        rows,
        sensitive=sensitive,
        y_score=rows["score"].to_numpy(),
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    for backend in ("pandas", "polars_lazy", "duckdb_arrow"):
        result = audit_frame(
            _backend(backend, rows, Path()),
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=sensitive,
            thresholds=SCORE_THRESHOLDS,
            evidence=LENIENT,
            n_boot=0,
        )
        _same_to_1e_9(result, expected)


def test_scores_of_other_rows_are_refused() -> None:
    rows = _rows(10, 300)
    options: dict[str, Any] = {
        "y_true": "y",
        "y_pred": "pred",
        "y_score": "score",
        "sensitive_features": ["sex"],
    }
    counts, _ = frame_scores(rows, **options)
    _, other = frame_scores(rows.iloc[:200], **options)
    with pytest.raises(InvalidParameterError) as caught:
        audit_counts(counts, scores=other)
    assert caught.value.args[0] == SCORES_NOT_OF_COUNTS


def test_the_report_bytes_do_not_depend_on_the_engine_or_its_partitions() -> None:
    # Regression: float sums taken by the engine changed with Polars' streaming order (two
    # different results in six runs of one frame), and so would an anchored report's hash.
    rows = _rows(11, 20_000)
    frames = [
        pl.from_pandas(rows).lazy(),
        pl.from_pandas(rows).lazy(),
        pl.from_pandas(rows).lazy(),
        dd.from_pandas(rows, npartitions=2),
        dd.from_pandas(rows, npartitions=7),
        rows.sample(frac=1.0, random_state=3),
    ]
    reports = {
        audit_frame(
            frame,
            y_true="y",
            y_pred="pred",
            y_score="score",
            sensitive_features=["sex", "band"],
            thresholds=SCORE_THRESHOLDS,
            n_boot=0,
        ).to_canonical_json()
        for frame in frames
    }
    assert len(reports) == 1
