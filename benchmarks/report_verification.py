"""Benchmark: what binding the renderings to the anchor costs per verification.

``audit.bundle.check_renderings`` renders HTML, CSV, PDF and the model card again from the
verified report.json and compares digests; the digests of recent reports are remembered,
so only a report's first check renders. The reference is what a manifest of file hashes
would cost instead: sha256 of the four stored files. All run here on the same synthetic
report (``--groups`` intersectional groups); the script prints the median wall time of
each over ``--repeats`` runs and the ratios. Nothing is asserted; the machine may be noisy.

Run: ``python benchmarks/report_verification.py --groups 10 --repeats 20``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from audit.bundle import RENDERERS, check_renderings, expected_digests
from audit.render import render_all
from audit.report import DatasetInfo, Report, build_report
from bias_checks import Threshold, audit_predictions


def _report(groups: int, rows: int) -> Report:
    rng = np.random.default_rng(7)
    group = rng.integers(0, groups, rows).astype(str)
    y = rng.integers(0, 2, rows)
    pred = (rng.random(rows) < 0.3 + 0.4 * (group == "0")).astype(int)
    audit = audit_predictions(
        y,
        pred,
        sensitive_features={"group": group},
        thresholds=[Threshold("demographic_parity_difference", 0.1)],
        n_boot=50,
    )
    return build_report(
        kind="predictions",
        run_id="0x" + "ab" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="bench.csv",
            content_hash="0x" + "12" * 32,
            rows=rows,
            label="y",
            sensitive_features=["group"],
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )


def _median(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    report = _report(args.groups, args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        render_all(report, Path(tmp) / "report")
        files = {name: (Path(tmp) / "report" / name).read_bytes() for name in RENDERERS}
    size = sum(len(body) for body in files.values())
    assert all(c.ok for c in check_renderings(report, files))

    def cold() -> object:
        expected_digests.cache_clear()
        return check_renderings(report, files)

    first = _median(cold, args.repeats)
    again = _median(lambda: check_renderings(report, files), args.repeats)
    reference = _median(
        lambda: [hashlib.sha256(body).hexdigest() for body in files.values()], args.repeats
    )
    print(f"report: {args.groups} groups, renderings {size / 1024:.0f} KiB in all")
    print(f"ours, first check (re-render, compare):   {first * 1e3:.2f} ms")
    print(f"ours, later checks (remembered digests):  {again * 1e3:.3f} ms")
    print(f"reference (sha256 of the four files):     {reference * 1e3:.3f} ms")
    print(
        f"ratios to the reference: first {first / reference:.0f}x, later {again / reference:.1f}x"
    )


if __name__ == "__main__":
    main()
