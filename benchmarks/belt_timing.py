"""Benchmark: what the Neyman belt (issue 11) costs a 1e6-row audit of four groups.

Each variant runs in a fresh interpreter, because the belt's tables are built once per shape
of sizes in a process: the first audit pays for them, later ones reuse them. The reference is
the same audit with the belt switched off (the parity critical values it replaced), in the
same run. Each audit draws new outcomes and predictions for the same groups (later audits
reuse the belt's tables, but no search's result). Three checks (demographic parity difference
and ratio, equalized odds); median of the audits after the first.

``--baseline DIR`` also times the same audit in another checkout (e.g. a ``git archive`` of an
earlier commit), in the same run.

Run: ``python benchmarks/belt_timing.py [--baseline DIR]`` (about a minute).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

_CODE = """
import statistics, sys, time
import numpy as np
sys.path.insert(0, {root!r})
import bias_checks._judged as judged
from bias_checks import Threshold, audit_predictions
if {parity}:
    judged.belt_end = judged.overall_end = lambda *a, **k: None
rng = np.random.default_rng(0)
n = 1_000_000
g = rng.choice(["a", "b", "c", "d"], n, p=[0.1, 0.2, 0.3, 0.4])
checks = [Threshold("demographic_parity_difference", 0.1),
          Threshold("demographic_parity_ratio", 0.8), Threshold("equalized_odds_difference", 0.1)]
times = []
for _ in range(4):
    y = rng.random(n) < 0.5  # new outcomes each time: no audit repeats another's searches
    pred = rng.random(n) < np.where(y, 0.6, 0.2) + (g == "d") * 0.05
    start = time.perf_counter()
    audit_predictions(y.astype(int), pred.astype(int), sensitive_features=g, n_boot=1000,
                      random_state=0, thresholds=checks)
    times.append(time.perf_counter() - start)
print(times[0], statistics.median(times[1:]))
"""


HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(parity: bool, root: str = HERE) -> tuple[float, float]:
    code = _CODE.format(root=root, parity=parity)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, warm = (float(x) for x in done.stdout.split())
    return first, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also time the same audit in this checkout")
    args = parser.parse_args()
    ours, parity = _run(False), _run(True)
    print("1e6 rows, 4 groups, 3 checks, 1,000 bootstrap replicates (fresh process each):")
    for label, i in (("first audit", 0), ("later audits (median of 3)", 1)):
        print(
            f"  {label:<27} belt {ours[i]:6.3f} s   parity, same run {parity[i]:6.3f} s   "
            f"ratio {ours[i] / parity[i]:5.2f}x"
        )
    if args.baseline:
        before = _run(False, args.baseline)
        for label, i in (("first audit", 0), ("later audits (median of 3)", 1)):
            print(
                f"  {label:<27} this tree {ours[i]:6.3f} s   {args.baseline} {before[i]:6.3f} s"
                f"   ratio {ours[i] / before[i]:5.2f}x"
            )


if __name__ == "__main__":
    main()
