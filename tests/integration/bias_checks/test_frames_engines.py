"""The frame engine on real distributed engines: a Dask LocalCluster and PySpark.

The counts are computed by the cluster's workers (or Spark's executors) from Parquet files
and generated partitions; only the small count table reaches the client. The audit must
equal ``audit_predictions`` on the same rows held in memory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from bias_checks import (
    EvidenceRule,
    MissingColumnError,
    Threshold,
    audit_frame,
    audit_predictions,
)

THRESHOLDS = (
    Threshold("demographic_parity_difference", 0.1),
    Threshold("equalized_odds_difference", 0.1),
)
LENIENT = EvidenceRule(min_group_size=1, min_denominator=1)


def _part(seed: int, n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    band = rng.integers(0, 5, n)
    return pd.DataFrame(
        {
            "y": (rng.random(n) < 0.3 + 0.05 * band).astype(np.int8),
            "score": rng.random(n),
            "sex": rng.choice(["F", "M"], n),
            "band": band,
        }
    )


def _reference(rows: pd.DataFrame) -> Any:
    return audit_predictions(
        rows["y"].to_numpy(),
        (rows["score"].to_numpy() >= 0.5).astype(np.int8),
        sensitive_features={"sex": rows["sex"].to_numpy(), "band": rows["band"].to_numpy()},
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=50,
    )


def _audit(frame: Any) -> Any:
    return audit_frame(
        frame,
        y_true="y",
        y_pred="score",
        cutoff=0.5,
        sensitive_features=["sex", "band"],
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=50,
    )


@pytest.mark.slow
def test_a_dask_cluster_counts_a_parquet_folder_exactly(dask_client: Any, tmp_path: Path) -> None:
    parts = [_part(seed) for seed in range(4)]
    for i, part in enumerate(parts):
        part.to_parquet(tmp_path / f"part-{i}.parquet")
    frame = dd.read_parquet(str(tmp_path))
    assert frame.npartitions == 4
    result = _audit(frame)
    assert result.to_canonical_json() == _reference(pd.concat(parts)).to_canonical_json()


@pytest.mark.slow
def test_a_dask_cluster_counts_partitions_generated_on_its_workers(dask_client: Any) -> None:
    frame = dd.from_map(_part, list(range(3)))
    result = _audit(frame)
    assert (
        result.to_canonical_json()
        == _reference(pd.concat([_part(s) for s in range(3)])).to_canonical_json()
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_pyspark_counts_equal_the_in_memory_audit(spark: Any) -> None:
    rows = pd.concat([_part(seed) for seed in range(2)], ignore_index=True)
    records = [(int(r.y), float(r.score), str(r.sex), int(r.band)) for r in rows.itertuples()]
    frame = spark.createDataFrame(records, "y tinyint, score double, sex string, band bigint")
    assert _audit(frame).to_canonical_json() == _reference(rows).to_canonical_json()
    with pytest.raises(MissingColumnError):
        audit_frame(frame, y_true="y", y_pred="score", cutoff=0.5, sensitive_features=["age"])


SCORE_THRESHOLDS = (
    Threshold("roc_auc", 0.5),
    Threshold("roc_auc_difference", 0.1),
    Threshold("brier_score", 0.3),
    Threshold("calibration_error_difference", 0.1),
)


@pytest.mark.slow
def test_a_dask_cluster_scores_a_parquet_folder_like_the_in_memory_engine(
    dask_client: Any, tmp_path: Path
) -> None:
    parts = [_part(seed) for seed in range(4)]
    for i, part in enumerate(parts):
        part.assign(score=part["score"].round(3)).to_parquet(tmp_path / f"part-{i}.parquet")
    rows = pd.concat(parts, ignore_index=True).assign(score=lambda f: f["score"].round(3))
    result = audit_frame(
        dd.read_parquet(str(tmp_path)),
        y_true="y",
        y_pred="score",
        y_score="score",
        cutoff=0.5,
        sensitive_features=["sex", "band"],
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=20,
    )
    expected = audit_predictions(
        rows["y"].to_numpy(),
        rows["score"].to_numpy(),
        cutoff=0.5,
        sensitive_features={"sex": rows["sex"].to_numpy(), "band": rows["band"].to_numpy()},
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=20,
    )
    ours, theirs = json.loads(result.to_canonical_json()), json.loads(expected.to_canonical_json())
    assert [c["verdict"] for c in ours["checks"]] == [c["verdict"] for c in theirs["checks"]]
    x, y = _numbers(ours), _numbers(theirs)
    assert len(x) == len(y)
    assert np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert any(m["metric"] == "roc_auc" for m in ours["metrics"])


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
def test_pyspark_scores_equal_the_in_memory_audit(spark: Any) -> None:
    rows = _part(7, 1_500).assign(score=lambda f: f["score"].round(2))
    records = [(int(r.y), float(r.score), str(r.sex), int(r.band)) for r in rows.itertuples()]
    frame = spark.createDataFrame(records, "y tinyint, score double, sex string, band bigint")
    result = audit_frame(
        frame,
        y_true="y",
        y_pred="score",
        y_score="score",
        cutoff=0.5,
        sensitive_features=["sex"],
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    expected = audit_predictions(
        rows["y"].to_numpy(),
        rows["score"].to_numpy(),
        cutoff=0.5,
        sensitive_features={"sex": rows["sex"].to_numpy()},
        thresholds=SCORE_THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    ours, theirs = json.loads(result.to_canonical_json()), json.loads(expected.to_canonical_json())
    assert [c["verdict"] for c in ours["checks"]] == [c["verdict"] for c in theirs["checks"]]
    assert np.allclose(_numbers(ours), _numbers(theirs), rtol=1e-9, atol=1e-9, equal_nan=True)
