"""Benchmark: the LL144 impact ratio table and the directional checks (issue 17).

Times, on the same rows in the same run (median of ``--repeats``):

* ours: ``group_counts`` (one pass over the rows) then ``impact_ratio_table`` (from the
  counts alone: every category of sex, race and sex x race);
* reference: pandas ``groupby`` once per grouping (count, sum, mean, ratio to the highest),
  the direct way to compute the same table; both tables are compared to 1e-12 first;
* the directional metrics as checks: ``audit_predictions`` with the three of them on the
  intersections and ``reference_group="best"``, beside AIF360's
  ``statistical_parity_difference``, ``disparate_impact_ratio`` and
  ``average_odds_difference`` on each unprivileged group against the reference (no
  intervals).

Run: ``python benchmarks/ll144_table.py`` (``--rows 1000000`` by default).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bias_checks import Threshold, audit_predictions, group_counts, impact_ratio_table

SEX = ("F", "M")
RACE = ("A", "B", "C", "D", "E")


def synthetic(rows: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sex = np.array(SEX)[rng.integers(0, 2, rows)]
    race = np.array(RACE)[rng.choice(5, rows, p=[0.4, 0.3, 0.2, 0.09, 0.01])]
    y = rng.integers(0, 2, rows)
    rate = np.where(sex == "F", 0.3, 0.4) + np.where(race == "A", 0.1, 0.0)
    return {"y": y, "p": (rng.random(rows) < rate).astype(np.int64), "sex": sex, "race": race}


def ours(data: dict[str, Any]) -> dict[tuple[str, ...], float]:
    counts = group_counts(
        data["y"], data["p"], sensitive_features={"sex": data["sex"], "race": data["race"]}
    )
    table = impact_ratio_table(counts)
    return {
        tuple(v for _, v in sorted(r.category)): r.impact_ratio
        for r in table.rows
        if r.impact_ratio is not None
    }


def pandas_reference(data: dict[str, Any]) -> dict[tuple[str, ...], float]:
    frame = pd.DataFrame({"p": data["p"], "sex": data["sex"], "race": data["race"]})
    out: dict[tuple[str, ...], float] = {}
    for grouping in (["sex"], ["race"], ["race", "sex"]):
        stats = frame.groupby(grouping, observed=True)["p"].agg(["size", "sum"])
        stats = stats[stats["size"] >= 0.02 * len(frame)]
        rate = stats["sum"] / stats["size"]
        for key, value in (rate / rate.max()).items():
            out[key if isinstance(key, tuple) else (key,)] = float(value)
    return out


def aif360_reference(data: dict[str, Any]) -> None:
    logging.getLogger("aif360").setLevel(logging.ERROR)
    from aif360.sklearn import metrics

    group = pd.Series(data["sex"]).str.cat(pd.Series(data["race"]), sep="|").to_numpy()
    rates = {g: data["p"][group == g].mean() for g in np.unique(group)}
    ref = max(rates, key=lambda g: rates[g])
    for g in rates:
        if g == ref:
            continue
        rows = (group == ref) | (group == g)
        index = pd.MultiIndex.from_arrays([group[rows]], names=["g"])
        y, p = pd.Series(data["y"][rows], index=index), pd.Series(data["p"][rows], index=index)
        for fn in (
            metrics.statistical_parity_difference,
            metrics.disparate_impact_ratio,
            metrics.average_odds_difference,
        ):
            fn(y, p, prot_attr="g", priv_group=ref, pos_label=1)


def directional_checks(data: dict[str, Any]) -> None:
    audit_predictions(
        data["y"],
        data["p"],
        sensitive_features={"sex": data["sex"], "race": data["race"]},
        thresholds=[
            Threshold("statistical_parity_difference", -0.1),
            Threshold("disparate_impact", 0.8),
            Threshold("average_odds_difference", -0.1),
        ],
        reference_group="best",
        n_boot=0,
    )


def median_time(fn: Callable[[dict[str, Any]], object], data: dict[str, Any], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = synthetic(args.rows)
    got, expected = ours(data), pandas_reference(data)
    assert got.keys() == expected.keys()
    assert all(abs(got[k] - expected[k]) < 1e-12 for k in got), "tables differ"
    warnings.simplefilter("ignore")
    print(f"{args.rows:,} rows, sex x race (10 groups), median of {args.repeats}:")
    mine = median_time(ours, data, args.repeats)
    ref = median_time(pandas_reference, data, args.repeats)
    print(f"  LL144 table, ours (group_counts + table)  {mine:8.3f} s")
    print(f"  LL144 table, pandas groupby reference     {ref:8.3f} s   ours/ref {mine / ref:5.2f}x")
    checks = median_time(directional_checks, data, args.repeats)
    aif = median_time(aif360_reference, data, args.repeats)
    print(f"  3 directional checks with intervals, ours {checks:8.3f} s")
    print(
        f"  AIF360, 3 metrics x 9 groups, no intervals{aif:8.3f} s   ours/ref {checks / aif:5.2f}x"
    )


if __name__ == "__main__":
    main()
