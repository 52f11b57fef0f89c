"""Benchmark: score metrics (ROC AUC, Brier score, calibration error) on a Polars scan.

1e7 rows of binary labels with positive-class probabilities, two sensitive features (``sex``
2 levels x ``band`` 5 levels = 10 intersectional groups), written to a Parquet folder. In one
run it measures, medians of ``--repeats``:

* ours: ``audit_frame(pl.scan_parquet(folder), y_score=..., cutoff=0.5)`` with thresholds on
  ``roc_auc``, ``roc_auc_difference``, ``brier_score`` and ``calibration_error`` (Polars
  streams the scan: one group-by for the counts and score sums, one for the distinct scores);
* reference: ``audit_predictions`` on the same rows as numpy arrays (already in memory; the
  time to load them is not counted), the same thresholds;
* reference: sklearn's ``roc_auc_score`` and ``brier_score_loss`` per intersectional group
  on the numpy arrays (point values only, no intervals, no marginal groups, no disparities).

Two score columns: ``float64`` probabilities (about one distinct value per row: the
distinct-score table is as long as the data, the worst case) and probabilities rounded to 3
decimals (at most 1,001 distinct values a group and class, as a calibrated model that reports
three digits gives). Every audit has ``n_boot=0`` (the bootstrap is of the label metrics and
measured in ``frames_scale.py``). Ratios are ours / reference. Nothing is asserted.

Run: ``python benchmarks/frames_scores.py`` (several minutes; the float64 column once by
default, ``--continuous-repeats``), or ``--rows 1000000``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bias_checks import EvidenceRule, Threshold, audit_frame, audit_predictions  # noqa: E402

THRESHOLDS = (
    Threshold("roc_auc", 0.6),
    Threshold("roc_auc_difference", 0.1),
    Threshold("brier_score", 0.25),
    Threshold("calibration_error", 0.05),
)
CHUNK = 2_000_000


def chunk(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n, dtype=np.int8)
    band = rng.integers(0, 5, n, dtype=np.int8)
    y = (rng.random(n) < 0.3 + 0.05 * band).astype(np.int8)
    latent = -1.0 + 2.0 * y + 0.1 * band + rng.normal(0, 1.2, n)
    score = 1 / (1 + np.exp(-latent))
    return pd.DataFrame(
        {"y": y, "score": score, "score3": np.round(score, 3), "sex": sex, "band": band}
    )


def median_seconds(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def sklearn_by_group(rows: pd.DataFrame, column: str) -> dict[tuple[int, int], float]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y, s = rows["y"].to_numpy(), rows[column].to_numpy()
    group = rows["sex"].to_numpy().astype(np.int64) * 5 + rows["band"].to_numpy()
    out = {}
    for g in np.unique(group):
        mask = group == g
        out[(int(g), 0)] = float(roc_auc_score(y[mask], s[mask]))
        out[(int(g), 1)] = float(brier_score_loss(y[mask], s[mask]))
    return out


def run(folder: Path, rows: pd.DataFrame, column: str, repeats: int) -> None:
    import polars as pl

    rule = EvidenceRule()

    def ours() -> Any:
        return audit_frame(
            pl.scan_parquet(folder / "*.parquet"),
            y_true="y",
            y_pred=column,
            y_score=column,
            cutoff=0.5,
            sensitive_features=["sex", "band"],
            thresholds=THRESHOLDS,
            evidence=rule,
            n_boot=0,
        )

    def in_memory() -> Any:
        return audit_predictions(
            rows["y"].to_numpy(),
            rows[column].to_numpy(),
            cutoff=0.5,
            sensitive_features={"sex": rows["sex"].to_numpy(), "band": rows["band"].to_numpy()},
            thresholds=THRESHOLDS,
            evidence=rule,
            n_boot=0,
        )

    ours_s, ours_result = median_seconds(ours, repeats)
    memory_s, memory_result = median_seconds(in_memory, repeats)
    sk_s, _ = median_seconds(lambda: sklearn_by_group(rows, column), repeats)
    auc_ours = [m.value for m in ours_result.group_metrics("roc_auc")]
    auc_mem = [m.value for m in memory_result.group_metrics("roc_auc")]
    gap = max(abs(a - b) for a, b in zip(auc_ours, auc_mem, strict=True))
    n = len(rows)
    print(f"\n{column}: {n:,} rows, {rows[column].nunique():,} distinct scores")
    lines = [
        ("ours  audit_frame on pl.scan_parquet", ours_s, f"{n / ours_s:,.0f} rows/s"),
        ("ref   audit_predictions on numpy arrays", memory_s, f"ratio {ours_s / memory_s:.2f}"),
        ("ref   sklearn AUC + Brier per group", sk_s, f"ratio {ours_s / sk_s:.2f}"),
    ]
    for name, seconds, extra in lines:
        print(f"  {name:<42} {seconds:8.2f} s  {extra}", flush=True)
    print(
        f"  verdicts equal: {ours_result.verdict == memory_result.verdict}; "
        f"largest AUC difference to the in-memory engine: {gap:.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--continuous-repeats", type=int, default=1, help="repeats of the float64 column"
    )
    args = parser.parse_args()
    import polars as pl

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        parts = []
        for i in range(max(1, args.rows // CHUNK)):
            part = chunk(i, min(CHUNK, args.rows))
            pl.from_pandas(part).write_parquet(folder / f"part-{i:03d}.parquet")
            parts.append(part)
        rows = pd.concat(parts, ignore_index=True)
        del parts
        run(folder, rows, "score3", args.repeats)
        run(folder, rows, "score", args.continuous_repeats)


if __name__ == "__main__":
    main()
