"""Benchmark: do the intervals of a federated audit with differential privacy hold? (#16)

Each replication simulates nodes whose rows come from groups with known selection rates,
counts them per node, adds OpenDP discrete Laplace noise at the voted epsilon on every node
(``audit.federated.privacy.add_noise``), sums the counts and audits the sum with
``bias_checks.audit_counts`` at 95 % (bound 0.1 on demographic parity difference).

Printed per cell (epsilon x nodes x rows per group x true gap):
- coverage of the group selection-rate intervals and of the demographic parity difference
  interval, ours (noise variance carried into the intervals) beside the same audit that
  ignores the noise (the counts' ``noise_variance`` dropped), in the same run;
- FAIL rate when the true gap is 0, PASS rate when it is 0.15 (bound + 0.05), and the
  INCONCLUSIVE rate: what noise costs in decisiveness.

Target (as for every interval, #11): coverage 93-99 % at nominal 95 %; a fair model FAILs at
most 5 % of audits; a model 0.05 beyond the bound PASSes at most 5 %. Nothing is asserted.

Run: ``python benchmarks/federated_privacy.py`` (about 2 minutes; ``--reps 100`` to look).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audit.federated.privacy import add_noise
from bias_checks import EvidenceRule, GroupCounts, Threshold, Verdict, audit_counts

BOUND = 0.1
RULE = EvidenceRule(min_group_size=1, min_denominator=1)
CHECK = Threshold("demographic_parity_difference", BOUND)
EPSILONS = (0.1, 0.5, 1.0)
NODES = (3, 10)
ROWS = (100, 1_000)
GAPS = (0.0, 0.15)
BASE_RATE = 0.4


def _node_counts(rng: np.random.Generator, rows: int, rates: tuple[float, float]) -> GroupCounts:
    """One node's counts: ``rows`` rows in each of groups a and b, labels independent."""
    cells = []
    for rate in rates:
        # Cells (true, predicted): labels are fair coins; predictions hit with ``rate``.
        probabilities = [0.5 * (1 - rate), 0.5 * rate, 0.5 * (1 - rate), 0.5 * rate]
        cells.append(rng.multinomial(rows, probabilities).reshape(2, 2))
    return GroupCounts(
        "binary", (0, 1), 1, ("g",), (), (("a",), ("b",)), np.asarray(cells, dtype=np.int64)
    )


def _without_noise_variance(counts: GroupCounts) -> GroupCounts:
    return dataclasses.replace(counts, noise_variance=None)


def _cell(
    rng: np.random.Generator, cell: tuple[float, int, int, float], reps: int
) -> dict[str, float]:
    epsilon, nodes, rows, gap = cell
    rates = (BASE_RATE, BASE_RATE + gap)
    per_node = max(rows // nodes, 1)
    tallies: dict[str, list[float]] = {
        k: [] for k in ("rate", "rate_naive", "dpd", "dpd_naive", "with_ci")
    }
    verdicts: list[Verdict] = []
    for _ in range(reps):
        parts = [add_noise(_node_counts(rng, per_node, rates), epsilon) for _ in range(nodes)]
        summed = GroupCounts.combine(parts)
        for key, counts in (("", summed), ("_naive", _without_noise_variance(summed))):
            result = audit_counts(counts, thresholds=[CHECK], evidence=RULE, n_boot=0)
            rate_ci = [m.ci for m in result.metrics if m.metric == "selection_rate"]
            truth = dict(zip((("a",), ("b",)), rates, strict=True))
            groups = [m.group for m in result.metrics if m.metric == "selection_rate"]
            covered = [
                ci.low <= truth[tuple(v for _, v in g)] <= ci.high
                for ci, g in zip(rate_ci, groups, strict=True)
                if ci is not None
            ]
            tallies["rate" + key].extend(float(c) for c in covered)
            check = result.checks[0]
            if check.ci is not None:
                tallies["dpd" + key].append(float(check.ci.low <= gap <= check.ci.high))
            if not key:
                verdicts.append(check.verdict)
                tallies["with_ci"].append(float(check.ci is not None))
    out = {k: 100 * float(np.mean(v)) if v else float("nan") for k, v in tallies.items()}
    out["fail"] = 100 * float(np.mean([v == Verdict.FAIL for v in verdicts]))
    out["pass"] = 100 * float(np.mean([v == Verdict.PASS for v in verdicts]))
    out["inconclusive"] = 100 * float(np.mean([v == Verdict.INCONCLUSIVE for v in verdicts]))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(
        f"{args.reps} audits a cell, 95 % intervals, bound {BOUND}; coverage in % of the "
        "intervals given, ours | ignoring noise; CI%: audits whose check has an interval"
    )
    header = (
        f"{'eps':>5} {'nodes':>5} {'rows/grp':>8} {'gap':>5} | {'rate cov':>8} {'naive':>6} | "
        f"{'DPD cov':>7} {'naive':>6} {'CI%':>5} | {'FAIL%':>6} {'PASS%':>6} {'INCONC%':>7}"
    )
    print(header)
    print("-" * len(header))
    worst: list[Any] = []
    for epsilon in EPSILONS:
        for nodes in NODES:
            for rows in ROWS:
                for gap in GAPS:
                    r = _cell(rng, (epsilon, nodes, rows, gap), args.reps)
                    worst.append((epsilon, nodes, rows, gap, r))
                    print(
                        f"{epsilon:>5} {nodes:>5} {rows:>8} {gap:>5} | {r['rate']:>8.1f} "
                        f"{r['rate_naive']:>6.1f} | {r['dpd']:>7.1f} {r['dpd_naive']:>6.1f} "
                        f"{r['with_ci']:>5.0f} | "
                        f"{r['fail']:>6.1f} {r['pass']:>6.1f} {r['inconclusive']:>7.1f}",
                        flush=True,
                    )
    ours = [r[k] for *_, r in worst for k in ("rate", "dpd") if r[k] == r[k]]
    naive = [r[k] for *_, r in worst for k in ("rate_naive", "dpd_naive") if r[k] == r[k]]
    fair_fail = max(r["fail"] for (_, _, _, gap, r) in worst if gap == 0.0)
    unfair_pass = max(r["pass"] for (_, _, _, gap, r) in worst if gap > BOUND)
    print()
    print(
        f"coverage range, ours: {min(ours):.1f}-{max(ours):.1f} %; ignoring noise: "
        f"{min(naive):.1f}-{max(naive):.1f} %"
    )
    print(
        f"worst FAIL rate of a fair model: {fair_fail:.1f} %; worst PASS rate at gap "
        f"{BOUND + 0.05:.2f}: {unfair_pass:.1f} %"
    )


if __name__ == "__main__":
    main()
