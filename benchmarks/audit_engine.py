"""Benchmark: bias_checks full audit against Fairlearn's MetricFrame on the same data.

Synthetic binary predictions with two sensitive features (2 x 5 = 10 intersectional groups).
For each size it measures, in one run:

* ours: ``audit_predictions`` with every base metric and every disparity, without bootstrap;
* ours + bootstrap: the same with 1,000 bootstrap replicates;
* MetricFrame: Fairlearn over the same base metrics, without bootstrap;

and prints median wall times over ``--repeats`` runs, the ratio MetricFrame / ours, and the
peak traced memory (``tracemalloc``: numpy and pandas buffers, not the interpreter) of one
run of each (MetricFrame's memory only up to 1e5 rows, because tracing slows it down
severely). Nothing is asserted; the machine may be noisy.

Run: ``python benchmarks/audit_engine.py --sizes 1e5 1e6 1e7``. MetricFrame is skipped
above ``--metricframe-max`` (default 1e6; it needs about a minute per run at 1e6).
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import sklearn.metrics as skm
from fairlearn import metrics as flm

from bias_checks import audit_predictions

BASE_METRICS: dict[str, Callable[..., Any]] = {
    "count": flm.count,
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
    "false_negative_rate": flm.false_negative_rate,
    "true_negative_rate": flm.true_negative_rate,
    "precision": skm.precision_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


def synthetic(n: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    band = rng.integers(0, 5, n)
    y_true = (rng.random(n) < 0.3 + 0.05 * band).astype(np.int64)
    y_pred = (rng.random(n) < 0.25 + 0.04 * band + 0.05 * sex).astype(np.int64)
    sensitive = {"sex": np.where(sex == 0, "F", "M"), "band": band}
    return {"y_true": y_true, "y_pred": y_pred, "sensitive": sensitive}


def ours(data: dict[str, Any], n_boot: int) -> object:
    return audit_predictions(
        data["y_true"],
        data["y_pred"],
        sensitive_features=data["sensitive"],
        n_boot=n_boot,
        random_state=0,
    )


def metricframe(data: dict[str, Any]) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = flm.MetricFrame(
            metrics=BASE_METRICS,
            y_true=data["y_true"],
            y_pred=data["y_pred"],
            sensitive_features=data["sensitive"],
        )
        return frame.difference(), frame.ratio()


def timed(
    function: Callable[[], object], repeats: int, *, memory: bool = True
) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    if not memory:
        return statistics.median(times), float("nan")
    gc.collect()
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument(
        "--metricframe-max",
        type=float,
        default=1e6,
        help="skip MetricFrame above this many rows (about 50 s per run at 1e6 on 2 cores)",
    )
    args = parser.parse_args()
    print(f"{'rows':>10} {'case':<28} {'median s':>10} {'peak MiB':>10} {'MF/ours':>8}")
    for size in args.sizes:
        n = int(size)
        data = synthetic(n)
        plain, plain_mem = timed(functools.partial(ours, data, 0), args.repeats)
        boot, boot_mem = timed(functools.partial(ours, data, args.n_boot), args.repeats)
        print(f"{n:>10,} {'ours (no bootstrap)':<28} {plain:>10.3f} {plain_mem:>10.1f}")
        label = f"ours ({args.n_boot} bootstrap)"
        print(f"{n:>10,} {label:<28} {boot:>10.3f} {boot_mem:>10.1f}")
        if n > args.metricframe_max:
            print(f"{n:>10,} {'MetricFrame':<28} skipped: above --metricframe-max")
            continue
        repeats = 1 if n >= 1_000_000 else max(1, min(args.repeats, 3))
        # tracemalloc slows MetricFrame's Python-level work many times over; trace small sizes.
        frame, frame_mem = timed(functools.partial(metricframe, data), repeats, memory=n <= 100_000)
        note = f"MetricFrame (x{repeats})"
        print(f"{n:>10,} {note:<28} {frame:>10.3f} {frame_mem:>10.1f} {frame / plain:>7.1f}x")
        print(f"{n:>10,} {'ratio MF / ours+bootstrap':<28} {frame / boot:>10.1f}x")


if __name__ == "__main__":
    main()
