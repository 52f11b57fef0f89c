"""Benchmark: coverage of every interval a verdict uses, and verdict error rates, on a grid of
simulated populations whose true rates are known (issue 11).

Grid: rows per group 30/30, 100/100, 1,000/1,000 and 50/5,000 (four groups: the same sizes
repeated, 50/5,000/5,000/5,000 for the unbalanced case); true gaps 0, 0.05, 0.10, 0.15 and
0.20 (max - min of selection rate, TPR, FPR and equalized odds; see ``_populations``); two
and four groups; no weights and log-normal weights with sigma 0.5 and 1. Every replication
is one audit at 95 % with bound 0.1.

Ours are computed by the engine's own functions (``bias_checks._judged``), with each
replication as one row of the arrays. Beside them, in the same run and on the same data:
the percentile bootstrap that fairgov used before (stratified multinomial resampling of the
cells, weights as the cell's mean weight; ``--n-boot`` replicates), with the same three-way
rule, and the old ``point`` policy. An end-to-end slice runs ``audit_predictions`` itself on
a few cells, and ``--time`` times a 1e6-row audit against a baseline checkout and
MetricFrame.

Printed per cell: coverage of the group rates (Wilson), demographic parity difference and
ratio (between groups), difference to overall and to the reference group, equalized odds
(worst case and mean); bootstrap coverage of the same differences; FAIL rate when the gap is
0, PASS rate when the gap is at least 0.15, INCONCLUSIVE rate. The summary counts the cells
outside 93-99 % per kind and on which end their misses fall, compares Kish's effective size
with the sandwich variance on weighted cells, gives the power at 1,000 *effective* rows a
group, and prints coverage at the belt's least-favourable configurations
(``_least_favourable``). Nothing is asserted.

Run: ``python benchmarks/coverage.py`` (about 45 minutes on 2 cores; ``--reps 200`` for a
quick look; ``--groups 2``, ``--groups 4`` and ``--sizes 30/30,100/100`` split the grid over
processes with the same data; ``--time --baseline /work/main`` for the timing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._least_favourable import least_favourable_table
from benchmarks._populations import Truth, simulate_cells, truth
from benchmarks._timing import timing
from bias_checks._components import combine_components, joint_fail_end
from bias_checks._intervals import wilson
from bias_checks._judged import (
    Judged,
    rate_disparity,
)
from bias_checks._rate_stats import RateStats

BOUND = 0.1
ALPHA = 0.05
SIZES = {"30/30": (30, 30), "100/100": (100, 100), "1000/1000": (1000, 1000), "50/5000": (50, 5000)}
GAPS = (0.0, 0.05, 0.10, 0.15, 0.20)
SIGMAS = (0.0, 0.5, 1.0)
Array = np.ndarray[Any, Any]


def _sizes(name: str, groups: int) -> tuple[int, ...]:
    first, second = SIZES[name]
    return (first, *([second] * (groups - 1))) if groups > 2 else (first, second)


def _rate(cells: Array, squares: Array, which: str) -> RateStats:
    """RateStats (R, G) of one rate from (R, G, 2, 2) cells."""
    if which == "selection_rate":
        num, den = cells[..., :, 1].sum(-1), cells.sum((-1, -2))
        den_sq = squares.sum((-1, -2))
    elif which == "true_positive_rate":
        num, den, den_sq = cells[..., 1, 1], cells[..., 1, :].sum(-1), squares[..., 1, :].sum(-1)
    else:
        num, den, den_sq = cells[..., 0, 1], cells[..., 0, :].sum(-1), squares[..., 0, :].sum(-1)
    return RateStats(num, den, den_sq)


def _overall(stats: RateStats) -> RateStats:
    return RateStats(
        stats.num.sum(-1, keepdims=True),
        stats.den.sum(-1, keepdims=True),
        stats.den_sq.sum(-1, keepdims=True),
    )


def _ours(
    cells: Array, squares: Array, method: str, transform: str, alpha: float, *, components: int = 1
) -> Judged:
    stats = _rate(cells, squares, method.split(":", maxsplit=1)[0])
    return _judge(stats, method.split(":")[1], transform, alpha, components=components)


def _judge(
    stats: RateStats, method: str, transform: str, alpha: float = ALPHA, *, components: int = 1
) -> Judged:
    groups = stats.num.shape[1]
    references = np.full((stats.num.shape[0], 1), groups - 1, dtype=np.intp)
    return rate_disparity(
        stats,
        _overall(stats),
        judged=np.ones(stats.num.shape, dtype=bool),
        control_of=np.zeros(groups, dtype=np.intp),
        transform=transform,  # type: ignore[arg-type]
        method=method,  # type: ignore[arg-type]
        references=references,
        alpha=alpha,
        components=components,
    )


def _true_values(t: Truth) -> dict[str, float]:
    sel = t.selection
    overall = float((t.shares * sel).sum())
    return {
        "dpd": float(np.ptp(sel)),
        "dpr": float(sel.min() / sel.max()),
        "dpd_overall": float(np.abs(sel - overall).max()),
        "dpd_reference": float(np.abs(sel - sel[-1]).max()),
        "eod": float(max(np.ptp(t.tpr), np.ptp(t.fpr))),
        "eod_mean": float((np.ptp(t.tpr) + np.ptp(t.fpr)) / 2),
    }


def _covers(out: dict[str, float], kind: str, judged: Judged, value: float) -> None:
    """Coverage of one interval kind, and its misses split by end: ``_safe`` is the end a
    FAIL rests on (lower for differences, upper for ratios), ``_unsafe`` the other."""
    low, high = judged.low[:, 0], judged.high[:, 0]
    tol = 1e-12
    above, below = low > value + tol, high < value - tol
    out[kind] = float(np.mean(~above & ~below))
    ratio = kind == "dpr"
    out[kind + "_safe"] = float(np.mean(below if ratio else above))
    out[kind + "_unsafe"] = float(np.mean(above if ratio else below))


def _sandwich(cells: Array, squares: Array) -> RateStats:
    """Selection rate with the linearisation (sandwich) variance of the weighted proportion,
    ``sum w**2 (y - p)**2 / (sum w)**2``, in place of Kish's ``p (1 - p) sum w**2 / (sum w)**2``:
    carried as the ``den_sq`` that makes ``n_eff = p (1 - p) / variance``."""
    kish = _rate(cells, squares, "selection_rate")
    p = kish.p
    ones, zeros = squares[..., :, 1].sum(-1), squares[..., :, 0].sum(-1)
    spread = p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        den_sq = np.where(spread > 0, (ones * (1 - p) ** 2 + zeros * p**2) / spread, kish.den_sq)
    return RateStats(kish.num, kish.den, den_sq)


def _bootstrap_max_min(
    counts: Array, weights: Array, which: Callable[[Array], Array], n_boot: int, rng: Any
) -> tuple[Array, Array]:
    """Percentile interval (R,) of max-min of a rate, by the old stratified bootstrap."""
    reps, groups = counts.shape[:2]
    flat = counts.reshape(reps, groups, 4)
    sizes = flat.sum(-1)
    mean_w = np.divide(
        weights.reshape(reps, groups, 4), flat, out=np.zeros_like(flat), where=flat > 0
    )
    sizes = sizes.astype(np.int64)
    probabilities = flat / np.maximum(sizes, 1)[..., None]
    draws = rng.multinomial(sizes, probabilities, size=(n_boot, reps, groups))
    rates = which((draws * mean_w).reshape(n_boot, reps, groups, 2, 2))
    spread = np.nanmax(rates, axis=-1) - np.nanmin(rates, axis=-1)
    low, high = np.quantile(spread, [ALPHA / 2, 1 - ALPHA / 2], axis=0)
    return low, high


def _selection(cells: Array) -> Array:
    with np.errstate(invalid="ignore", divide="ignore"):
        return cells[..., :, 1].sum(-1) / cells.sum((-1, -2))


def _verdicts(low: Array, high: Array) -> tuple[float, float, float]:
    passed = float(np.mean(high <= BOUND))
    failed = float(np.mean(low > BOUND))
    return passed, failed, 1.0 - passed - failed


def run_cell(
    size: str, groups: int, gap: float, sigma: float, *, reps: int, n_boot: int, seed: int
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    t = truth(_sizes(size, groups), gap)
    cells, squares, counts = simulate_cells(t, reps=reps, sigma=sigma, rng=rng)
    true = _true_values(t)
    out: dict[str, float] = {}
    sel = _rate(cells, squares, "selection_rate")
    low, high = wilson(sel.p, sel.n_eff, ALPHA)
    out["rate"] = float(np.mean((low <= t.selection) & (t.selection <= high)))
    dpd = _ours(cells, squares, "selection_rate:between_groups", "difference", ALPHA)
    _covers(out, "dpd", dpd, true["dpd"])
    _covers(
        out,
        "dpr",
        _ours(cells, squares, "selection_rate:between_groups", "ratio", ALPHA),
        true["dpr"],
    )
    _covers(
        out,
        "dpd_overall",
        _ours(cells, squares, "selection_rate:to_overall", "difference", ALPHA),
        true["dpd_overall"],
    )
    _covers(
        out,
        "dpd_reference",
        _ours(cells, squares, "selection_rate:to_reference", "difference", ALPHA),
        true["dpd_reference"],
    )
    tpr = _ours(
        cells, squares, "true_positive_rate:between_groups", "difference", ALPHA, components=2
    )
    fpr = _ours(
        cells, squares, "false_positive_rate:between_groups", "difference", ALPHA, components=2
    )
    joint = joint_fail_end(
        _rate(cells, squares, "true_positive_rate"),
        _rate(cells, squares, "false_positive_rate"),
        judged=np.ones(cells.shape[:2], dtype=bool),
        control_of=np.zeros(cells.shape[1], dtype=np.intp),
        transform="difference",
        alpha=ALPHA,
    )
    eod = combine_components(tpr, fpr, "difference", "worst_case", joint=joint)
    _covers(out, "eod", eod, true["eod"])
    _covers(out, "eod_mean", combine_components(tpr, fpr, "difference", "mean"), true["eod_mean"])
    out["pass"], out["fail"], out["inconclusive"] = _verdicts(dpd.low[:, 0], dpd.high[:, 0])
    if sigma > 0:
        sandwich = _sandwich(cells, squares)
        sw = _judge(sandwich, "between_groups", "difference")
        _covers(out, "dpd_sandwich", sw, true["dpd"])
        out["pass_sandwich"], out["fail_sandwich"], _ = _verdicts(sw.low[:, 0], sw.high[:, 0])
    out["eod_pass"], out["eod_fail"], _ = _verdicts(eod.low[:, 0], eod.high[:, 0])
    b_low, b_high = _bootstrap_max_min(counts, cells, _selection, n_boot, rng)
    out["boot_dpd"] = float(np.mean((b_low <= true["dpd"]) & (true["dpd"] <= b_high)))
    out["boot_pass"], out["boot_fail"], _ = _verdicts(b_low, b_high)
    out["point_pass"] = float(np.mean(dpd.value[:, 0] <= BOUND))
    return out


def _grid(
    reps: int,
    n_boot: int,
    seed: int = 0,
    only: int | None = None,
    sizes: tuple[str, ...] = tuple(SIZES),
) -> list[tuple[tuple[str, int, float, float], dict[str, float]]]:
    rows = []
    header = (
        f"{'k':>1} {'rows':>9} {'sigma':>5} {'gap':>4} | {'rate':>5} {'dpd':>5} {'dpr':>5} "
        f"{'ovr':>5} {'ref':>5} {'eod':>5} {'eodm':>5} | {'b.dpd':>5} | "
        f"{'PASS':>5} {'FAIL':>5} {'INC':>5} {'eodP':>5} {'eodF':>5} | "
        f"{'b.PASS':>6} {'b.FAIL':>6} {'ptPASS':>6}"
    )
    print(header)
    for groups in (2, 4):
        for size in SIZES:
            for sigma in SIGMAS:
                for gap in GAPS:
                    seed += 1
                    if (only is not None and groups != only) or size not in sizes:
                        continue  # the seeds still count, so a cell's data do not change
                    r = run_cell(size, groups, gap, sigma, reps=reps, n_boot=n_boot, seed=seed)
                    rows.append(((size, groups, sigma, gap), r))
                    pct = {k: f"{100 * v:5.1f}" for k, v in r.items()}
                    print(
                        f"{groups:>1} {size:>9} {sigma:>5.1f} {gap:>4.2f} | {pct['rate']} "
                        f"{pct['dpd']} {pct['dpr']} {pct['dpd_overall']} {pct['dpd_reference']} "
                        f"{pct['eod']} {pct['eod_mean']} | {pct['boot_dpd']} | {pct['pass']} "
                        f"{pct['fail']} {pct['inconclusive']} {pct['eod_pass']} "
                        f"{pct['eod_fail']} | {pct['boot_pass']:>6} {pct['boot_fail']:>6} "
                        f"{pct['point_pass']:>6}",
                        flush=True,
                    )
    return rows


KINDS = ("rate", "dpd", "dpr", "dpd_overall", "dpd_reference", "eod", "eod_mean")
Rows = list[tuple[tuple[str, int, float, float], dict[str, float]]]


def _coverage_summary(rows: Rows) -> None:
    """Per interval kind: range, cells outside 93-99 %, and where the misses of the cells
    above 99 % fall (the end a FAIL rests on, or the other)."""
    print("\nTargets (ours | percentile bootstrap, same data):")
    for kind in KINDS:
        values = [r[kind] for _, r in rows]
        worst = min(rows, key=lambda row: row[1][kind])[0]
        high = [r for _, r in rows if r[kind] > 0.99]
        low = sum(v < 0.93 for v in values)
        split = ""
        if kind != "rate" and high:
            safe = sum(r[kind + "_safe"] for r in high)
            unsafe = sum(r[kind + "_unsafe"] for r in high)
            total = safe + unsafe
            where = f"{100 * safe / total:5.1f}% on the FAIL end" if total else "none"
            split = f"; their misses: {where}"
        print(
            f"  coverage {kind:<14} min {100 * min(values):5.1f}%  max {100 * max(values):5.1f}%"
            f"  (lowest at k={worst[1]} {worst[0]} sigma={worst[2]} gap={worst[3]});"
            f" cells > 99%: {len(high):>3}, < 93%: {low:>2} of {len(rows)}{split}"
        )
    boot = [r["boot_dpd"] for _, r in rows]
    print(
        f"  coverage dpd, bootstrap      min {100 * min(boot):5.1f}%  max {100 * max(boot):5.1f}%"
    )


def _summary(rows: Rows) -> None:
    _coverage_summary(rows)
    fair = [r for key, r in rows if key[3] == 0.0]
    unfair = [r for key, r in rows if key[3] >= BOUND + 0.05 - 1e-9]
    for label, key in (("dpd", ""), ("eod", "eod_")):
        print(
            f"  {label}: FAIL at gap 0 max {100 * max(r[key + 'fail'] for r in fair):5.1f}%  |  "
            f"PASS at gap >= 0.15 max {100 * max(r[key + 'pass'] for r in unfair):5.1f}%"
            "  (targets <= 5%)"
        )
    print(
        f"  bootstrap dpd: FAIL at gap 0 max {100 * max(r['boot_fail'] for r in fair):5.1f}%  |  "
        f"PASS at gap >= 0.15 max {100 * max(r['boot_pass'] for r in unfair):5.1f}%;  old point "
        f"policy PASS at gap >= 0.15 max {100 * max(r['point_pass'] for r in unfair):5.1f}%"
    )
    weighted = [r for key, r in rows if key[2] > 0]
    sandwich = [r["dpd_sandwich"] for r in weighted]
    kish = [r["dpd"] for r in weighted]
    print(
        f"  weighted cells, dpd coverage: Kish {100 * min(kish):5.1f}-{100 * max(kish):5.1f}%,"
        f" sandwich {100 * min(sandwich):5.1f}-{100 * max(sandwich):5.1f}%"
    )
    for key, r in rows:
        if key[0] == "1000/1000" and key[3] == 0.0:
            sw = f", sandwich {100 * r['pass_sandwich']:5.1f}%" if key[2] > 0 else ""
            print(
                f"  power: k={key[1]} sigma={key[2]} fair model, 1,000 rows a group: dpd PASS "
                f"{100 * r['pass']:5.1f}%{sw} (target >= 90%)"
            )


def _effective_power(reps: int, seed: int) -> None:
    """Power at 1,000 *effective* rows a group: log-normal weights with sigma leave a Kish
    size of ``n * exp(-sigma**2)``, so ``n = 1000 * exp(sigma**2)`` rows."""
    print("\nPower at 1,000 effective rows a group (fair model, dpd <= 0.1):")
    for groups in (2, 4):
        for sigma in (0.5, 1.0):
            rows = round(1000 * np.exp(sigma**2))
            seed += 1
            rng = np.random.default_rng(seed)
            t = truth((rows,) * groups, 0.0)
            cells, squares, _ = simulate_cells(t, reps=reps, sigma=sigma, rng=rng)
            kish = _ours(cells, squares, "selection_rate:between_groups", "difference", ALPHA)
            sw = _judge(_sandwich(cells, squares), "between_groups", "difference")
            print(
                f"  k={groups} sigma={sigma} {rows:,} rows a group: PASS Kish "
                f"{100 * _verdicts(kish.low[:, 0], kish.high[:, 0])[0]:5.1f}%, sandwich "
                f"{100 * _verdicts(sw.low[:, 0], sw.high[:, 0])[0]:5.1f}% (target >= 90%)"
            )


def _end_to_end(reps: int) -> None:
    """A slice through audit_predictions itself: the engine wiring gives the same picture."""
    from benchmarks._populations import PREVALENCE
    from bias_checks import Threshold, Verdict, audit_predictions

    print("\nEnd to end through audit_predictions (2 groups, dpd <= 0.1 and eod <= 0.1):")
    cells = (("100/100", 0.0, 1.0), ("100/100", 0.15, 1.0), ("1000/1000", 0.0, 0.0))
    for size, gap, sigma in cells:
        t = truth(_sizes(size, 2), gap)
        rng = np.random.default_rng(99)
        covered = 0
        verdicts: dict[str, int] = {}
        for _ in range(reps):
            group = np.repeat(["a", "b"], t.sizes)
            y = rng.random(group.size) < PREVALENCE
            rate = np.where(y, t.tpr[(group == "b").astype(int)], t.fpr[(group == "b").astype(int)])
            pred = rng.random(group.size) < rate
            w = rng.lognormal(0, sigma, group.size) if sigma else None
            result = audit_predictions(
                y.astype(int),
                pred.astype(int),
                sensitive_features=group,
                sample_weight=w,
                thresholds=[
                    Threshold("demographic_parity_difference", BOUND),
                    Threshold("equalized_odds_difference", BOUND),
                ],
                n_boot=0,
            )
            ci = result.checks[0].ci
            covered += ci is not None and ci.low <= float(np.ptp(t.selection)) <= ci.high
            v = result.checks[0].verdict
            verdicts[v.value] = verdicts.get(v.value, 0) + 1
        share = {v.value: 100 * verdicts.get(v.value, 0) / reps for v in Verdict}
        print(
            f"  {size} gap {gap:.2f} sigma {sigma}: dpd coverage {100 * covered / reps:5.1f}%, "
            f"PASS {share['PASS']:5.1f}% FAIL {share['FAIL']:5.1f}% "
            f"INCONCLUSIVE {share['INCONCLUSIVE']:5.1f}%"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="cell i uses seed + i")
    parser.add_argument(
        "--groups", type=int, choices=(2, 4), help="only the cells with this many groups"
    )
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help="only these rows per group, comma-separated"
    )
    parser.add_argument("--e2e-reps", type=int, default=200)
    parser.add_argument("--time", action="store_true", help="time a 1e6-row audit")
    parser.add_argument("--baseline", default="/work/main", help="checkout to time against")
    parser.add_argument("--metricframe", action="store_true", help="also time MetricFrame")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = _grid(args.reps, args.n_boot, args.seed, args.groups, tuple(args.sizes.split(",")))
    _summary(rows)
    _effective_power(args.reps, args.seed + 1000)
    least_favourable_table(args.reps, lambda c, q, m, t: _ours(c, q, m, t, ALPHA), _true_values)
    if args.e2e_reps:
        _end_to_end(args.e2e_reps)
    if args.time:
        timing(args.baseline, 1_000_000, 3, args.metricframe)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
