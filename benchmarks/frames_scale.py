"""Benchmark: the frame engine at scale, against the in-memory engine and Fairlearn.

Synthetic binary predictions (``y_true``, ``y_pred`` int8) with two sensitive features
(``sex`` 2 levels x ``band`` 5 levels = 10 intersectional groups). In one run it measures:

* local engines on Parquet: 1e8 rows written by Polars into a temp folder (ten files, one
  1e7-row chunk at a time, so the rows never sit in memory together), audited with
  ``audit_frame`` over ``pl.scan_parquet`` and over a DuckDB relation; each in a fresh child
  process that reports the median wall time of the audit and its own peak RSS
  (``VmHWM``: the whole process, interpreter and engine buffers included; ``ru_maxrss``
  would include the pages of the parent it was forked from);
* references in the same run: ``audit_predictions`` on numpy arrays of 1e7 rows (what the
  in-memory engine can hold) and Fairlearn's MetricFrame on 1e6 rows (no intervals);
* a Dask ``LocalCluster`` with two worker processes: the Parquet folder at 1e7 and 1e8 rows,
  and 1e9 rows generated on the workers by ``dask.dataframe.from_map`` (never stored).

Every audit is the full one: thresholds demographic_parity_difference <= 0.1 and
equalized_odds_difference <= 0.1 with their intervals, and 1,000 bootstrap replicates. Speed
is rows per second; ratios are ours / reference. Nothing is asserted; the machine is shared.

Run: ``python benchmarks/frames_scale.py`` (several minutes), or ``--quick`` (sizes / 100).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 10_000_000
THRESHOLDS = (("demographic_parity_difference", 0.1), ("equalized_odds_difference", 0.1))

_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from benchmarks.frames_scale import local_frame, run_audit
times = []
for _ in range({repeats}):
    frame = local_frame({engine!r}, {folder!r})
    start = time.perf_counter()
    result = run_audit(frame)
    times.append(time.perf_counter() - start)
# VmHWM: this process's own peak RSS (ru_maxrss would also count the forking parent's pages)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) / 1024
print(json.dumps({{"seconds": statistics.median(times), "peak_mib": peak,
                   "rows": result.n_rows, "verdict": result.verdict.value}}))
"""


def chunk(seed: int, n: int = CHUNK) -> pd.DataFrame:
    """``n`` rows of predictions, the same for the same seed (also a Dask partition)."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n, dtype=np.int8)
    band = rng.integers(0, 5, n, dtype=np.int8)
    y_true = (rng.random(n, dtype=np.float32) < 0.3 + 0.05 * band).astype(np.int8)
    y_pred = (rng.random(n, dtype=np.float32) < 0.25 + 0.04 * band + 0.05 * sex).astype(np.int8)
    return pd.DataFrame({"y_true": y_true, "y_pred": y_pred, "sex": sex, "band": band})


def write_parquet(folder: Path, rows: int, chunk_rows: int) -> None:
    import polars as pl

    for i in range(max(1, rows // chunk_rows)):
        pl.from_pandas(chunk(i, chunk_rows)).write_parquet(folder / f"part-{i:04d}.parquet")


def run_audit(frame: Any) -> Any:
    from bias_checks import Threshold, audit_frame

    return audit_frame(
        frame,
        y_true="y_true",
        y_pred="y_pred",
        sensitive_features=["sex", "band"],
        thresholds=[Threshold(metric, bound) for metric, bound in THRESHOLDS],
        n_boot=1000,
        random_state=0,
    )


def local_frame(engine: str, folder: str) -> Any:
    if engine == "polars":
        import polars as pl

        return pl.scan_parquet(f"{folder}/*.parquet")
    import duckdb

    return duckdb.read_parquet(f"{folder}/*.parquet")


def in_child(engine: str, folder: Path, repeats: int) -> dict[str, Any]:
    code = _CHILD.format(root=str(ROOT), repeats=repeats, engine=engine, folder=str(folder))
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def in_memory(rows: int, repeats: int) -> float:
    from bias_checks import Threshold, audit_predictions

    data = pd.concat([chunk(i, min(rows, CHUNK)) for i in range(max(1, rows // CHUNK))])
    arrays = {name: data[name].to_numpy() for name in data.columns}
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        audit_predictions(
            arrays["y_true"],
            arrays["y_pred"],
            sensitive_features={"sex": arrays["sex"], "band": arrays["band"]},
            thresholds=[Threshold(metric, bound) for metric, bound in THRESHOLDS],
            n_boot=1000,
            random_state=0,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def metricframe(rows: int) -> float:
    from benchmarks.audit_engine import metricframe as run_metricframe

    data = chunk(0, rows)
    start = time.perf_counter()
    run_metricframe(
        {
            "y_true": data["y_true"].to_numpy(),
            "y_pred": data["y_pred"].to_numpy(),
            "sensitive": {"sex": data["sex"].to_numpy(), "band": data["band"].to_numpy()},
        }
    )
    return time.perf_counter() - start


def dask_runs(
    folder: Path, sizes: list[int], *, generated: int, chunk_rows: int, repeats: int
) -> None:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    # Dask-expr shuffles the partial aggregates of a multi-key group_by; its scheduler logs
    # every shuffle at WARNING, which would bury the figures.
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster),
    ):
        for rows in sizes:
            frame = dd.read_parquet(files[: max(1, rows // chunk_rows)])
            seconds = _median_seconds(lambda f=frame: run_audit(f), repeats)
            _line(f"Dask 2 workers, Parquet ({repeats}x)", rows, seconds)
        parts = max(1, generated // chunk_rows)
        frame = dd.from_map(chunk, list(range(parts)), n=chunk_rows)
        seconds = _median_seconds(lambda: run_audit(frame), 1)
        _line("Dask 2 workers, generated (1x)", parts * chunk_rows, seconds)


def _median_seconds(function: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _line(case: str, rows: int, seconds: float, extra: str = "") -> None:
    print(f"{case:<38} {rows:>14,} {seconds:>9.2f} {rows / seconds:>14,.0f} {extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every size divided by 100")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()
    scale = 100 if args.quick else 1
    big, memory_rows, mf_rows = 100_000_000 // scale, 10_000_000 // scale, 1_000_000 // scale
    chunk_rows = CHUNK // scale
    print(f"{'case':<38} {'rows':>14} {'median s':>9} {'rows/s':>14}")
    with tempfile.TemporaryDirectory(prefix="fairgov-frames-") as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        write_parquet(folder, big, chunk_rows)
        _line("(writing the Parquet folder, Polars)", big, time.perf_counter() - start)

        reference = in_memory(memory_rows, args.repeats)
        _line(f"reference: audit_predictions ({args.repeats}x)", memory_rows, reference)
        reference_rate = memory_rows / reference
        frame_seconds = metricframe(mf_rows)
        _line("reference: MetricFrame, no CIs (1x)", mf_rows, frame_seconds)
        frame_rate = mf_rows / frame_seconds

        for engine in ("polars", "duckdb"):
            measured = in_child(engine, folder, args.repeats)
            rate = big / measured["seconds"]
            _line(
                f"ours: {engine} scan ({args.repeats}x)",
                big,
                measured["seconds"],
                f"peak RSS {measured['peak_mib']:,.0f} MiB; rows/s vs audit_predictions "
                f"{rate / reference_rate:.1f}x, vs MetricFrame {rate / frame_rate:.0f}x",
            )
        if not args.skip_dask:
            dask_runs(
                folder,
                [memory_rows, big],
                generated=1_000_000_000 // scale,
                chunk_rows=chunk_rows,
                repeats=args.repeats,
            )


if __name__ == "__main__":
    main()
