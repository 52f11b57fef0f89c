"""Benchmark: ``fairgov audit predictions`` on a large file, against the old pandas path.

Writes ``--rows`` rows (default 1e7) of predictions (two sensitive features, ten
intersectional groups, a 0/1 label and a score) as one Parquet and one CSV file, then times,
each step in a fresh interpreter so its peak memory (max RSS) is its own:

* ours: :func:`audit.predictions.audit_predictions_file` with ``--cutoff 0.5``, which counts
  the distinct cells with Polars' streaming engine (or ``--dask local``: a LocalCluster of two
  workers) and audits the counts; on the Parquet file and on the CSV file;
* reference: the path ``fairgov audit predictions`` took before #17: ``pandas.read_csv``
  (or ``read_parquet``) of the whole file, the same label rules on every row,
  :func:`bias_checks.audit_predictions` on the rows, and the file's sha256.

Prints the median time over ``--repeats`` runs, the peak memory (``VmHWM`` of the child:
``ru_maxrss`` would count the pages of the parent it was forked from), the ratio to the
reference,
and whether both audits are identical (canonical JSON). Nothing is asserted. Run:
``python benchmarks/predictions_file.py [--rows 10000000] [--repeats 3] [--dask]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
LABEL, SCORE, SENSITIVE = "y", "score", ["sex", "race"]

_OURS = """
import json, sys, time
from audit.predictions import audit_predictions_file
start = time.perf_counter()
outcome = audit_predictions_file({path!r}, label="y", prediction="score", cutoff=0.5,
                                 sensitive=["sex", "race"], dask={dask!r})
seconds = time.perf_counter() - start
audit = json.loads(outcome.report.canonical_bytes())["audit"]
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) * 1024
print(json.dumps({{"seconds": seconds, "peak": peak, "audit": audit}}))
"""

_REFERENCE = """
import json, time
import pandas as pd
from audit.threshold_text import DEFAULT_THRESHOLDS, parse_threshold
from audit.predictions import _binary_predictions, _binary_truth
from bias_checks import EvidenceRule, audit_predictions
from core.canonical import file_sha256
from pathlib import Path
start = time.perf_counter()
path = Path({path!r})
frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
rule = EvidenceRule()
y_true = _binary_truth(frame["y"], "y", None)
y_pred = _binary_predictions(frame["score"], "score", None, 0.5)
result = audit_predictions(
    y_true, y_pred, sensitive_features={{n: frame[n].to_numpy() for n in ("sex", "race")}},
    thresholds=[parse_threshold(t, evidence=rule) for t in DEFAULT_THRESHOLDS],
    task="binary", pos_label=1, evidence=rule, n_boot=1000, random_state=0,
)
file_sha256(path)
seconds = time.perf_counter() - start
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) * 1024
audit = json.loads(result.to_canonical_json())
print(json.dumps({{"seconds": seconds, "peak": peak, "audit": audit}}))
"""


def write_data(folder: Path, rows: int, seed: int = 0) -> tuple[Path, Path]:
    """One Parquet and one CSV file holding the same ``rows`` predictions."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, rows)
    race = rng.integers(0, 5, rows)
    y = rng.integers(0, 2, rows, dtype=np.int8)
    score = np.clip(0.4 * y + 0.3 + rng.normal(0, 0.2, rows) + 0.02 * race, 0, 1).round(4)
    frame = pl.DataFrame(
        {
            "sex": pl.Series(np.array(["female", "male"])[sex]),
            "race": pl.Series(np.array(["A", "B", "C", "D", "E"])[race]),
            "y": y.astype(np.int64),
            "score": score,
        }
    )
    parquet, csv = folder / "preds.parquet", folder / "preds.csv"
    frame.write_parquet(parquet)
    frame.write_csv(csv)
    return parquet, csv


def _measure(template: str, path: Path, repeats: int, dask: str | None = None) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(repeats):
        code = template.format(path=str(path), dask=dask)
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak": max(r["peak"] for r in runs),
        "audit": runs[0]["audit"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dask", action="store_true", help="also time --dask local")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        parquet, csv = write_data(Path(tmp), args.rows)
        mb = {p.suffix: p.stat().st_size / 1e6 for p in (parquet, csv)}
        print(
            f"{args.rows:,} rows, 10 intersectional groups; Parquet {mb['.parquet']:.0f} MB, "
            f"CSV {mb['.csv']:.0f} MB; median of {args.repeats}, peak RSS of the process"
        )
        reference = _measure(_REFERENCE, csv, args.repeats)
        rows = {
            "ours, Parquet (Polars streaming)": _measure(_OURS, parquet, args.repeats),
            "ours, CSV (Polars streaming)": _measure(_OURS, csv, args.repeats),
            "reference, Parquet (pandas rows)": _measure(_REFERENCE, parquet, args.repeats),
        }
        if args.dask:
            rows["ours, Parquet (--dask local)"] = _measure(_OURS, parquet, args.repeats, "local")
        print(
            f"  {'reference, CSV (pandas rows, before #17)':42s} "
            f"{reference['seconds']:7.2f} s  {reference['peak'] / 1e6:7.0f} MB"
        )
        for name, figures in rows.items():
            same = "same audit" if figures["audit"] == reference["audit"] else "AUDIT DIFFERS"
            print(
                f"  {name:42s} {figures['seconds']:7.2f} s  {figures['peak'] / 1e6:7.0f} MB  "
                f"time ratio {figures['seconds'] / reference['seconds']:5.2f}  "
                f"memory ratio {figures['peak'] / reference['peak']:5.2f}  {same}"
            )


if __name__ == "__main__":
    main()
