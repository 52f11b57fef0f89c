"""Timing of a 1e6-row audit in this tree against a baseline checkout (and MetricFrame), for
``coverage.py --time``; each tree runs in its own interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import time

_TIMER = """
import statistics, sys, time
sys.path.insert(0, {root!r})
from benchmarks.audit_engine import synthetic
from bias_checks import audit_predictions
data = synthetic({rows})
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    audit_predictions(data["y_true"], data["y_pred"], sensitive_features=data["sensitive"],
                      n_boot=1000, random_state=0)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def _time_in(root: str, rows: int, repeats: int) -> float:
    code = _TIMER.format(root=root, rows=rows, repeats=repeats)
    env = {**os.environ, "PYTHONPATH": root}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def timing(baseline: str, rows: int, repeats: int, metricframe: bool) -> None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ours = _time_in(here, rows, repeats)
    before = _time_in(baseline, rows, repeats)
    print(f"\nTiming, {rows:,} rows, 10 groups, 1,000 bootstrap replicates, median of {repeats}:")
    print(f"  ours (intervals, this tree)   {ours:8.3f} s")
    print(f"  before ({baseline})  {before:8.3f} s   ours/before {ours / before:5.2f}x")
    if metricframe:
        from benchmarks.audit_engine import metricframe as run_metricframe
        from benchmarks.audit_engine import synthetic

        data = synthetic(rows)
        start = time.perf_counter()
        run_metricframe(data)
        frame = time.perf_counter() - start
        print(
            f"  MetricFrame (no intervals)    {frame:8.3f} s   "
            f"MetricFrame/ours {frame / ours:5.0f}x"
        )
