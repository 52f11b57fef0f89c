"""Benchmark: committing the records of a Parquet folder against the same rows as one CSV (#17).

The data is ``benchmarks/commitments.py``'s generated table (ints, strings, two-decimal
floats), written once as a CSV file and once as a folder of ``--parts`` Parquet files. Ours
is the Parquet folder through ``audit.manifest.manifest_records`` (Arrow's string cast of
each batch, canonical JSON, sha256); the reference is the CSV file through
``audit.commitments.read_records``, measured in the same run. Two steps are timed, each as
the median of ``--repeats`` runs: the record bytes alone, and the whole commitment (records,
salts and the OpenZeppelin StandardMerkleTree). The record bytes of the two are compared
(equal but for integral floats, ``40000.0`` in the CSV and ``40000`` from Arrow: see
docs/commitments.md). Nothing is asserted.

Run: ``python benchmarks/parquet_commitments.py --rows 200000 --parts 16 --repeats 3``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from audit.commitments import build_commitments, read_records
from audit.manifest import build_manifest, manifest_records
from benchmarks.commitments import _write_csv


def _median(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _drain(records: Iterable[bytes]) -> int:
    return sum(1 for _ in records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--parts", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        _write_csv(csv, args.rows)
        frame = pd.read_csv(csv, keep_default_na=False)
        folder = Path(tmp) / "parts"
        folder.mkdir()
        size = -(-args.rows // args.parts)
        for i in range(args.parts):
            piece = frame.iloc[i * size : (i + 1) * size]
            piece.to_parquet(folder / f"part-{i:04d}.parquet", index=False)
        manifest = build_manifest(
            folder, name="bench", label="label", positive_label="1", sensitive_features=["sex"]
        )
        pairs = zip(manifest_records(manifest), read_records(csv), strict=True)
        same = sum(ours == ref for ours, ref in pairs)
        ours_records = _median(lambda: _drain(manifest_records(manifest)), args.repeats)
        ref_records = _median(lambda: _drain(read_records(csv)), args.repeats)
        ours_all = _median(lambda: build_commitments(manifest_records(manifest)), args.repeats)
        ref_all = _median(lambda: build_commitments(read_records(csv)), args.repeats)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.rows:,} rows: a folder of {args.parts} Parquet files against one CSV, "
        f"median of {args.repeats}; equal record bytes: {same:,} (integral floats differ)"
    )
    for step, ours, ref in (
        ("record bytes only", ours_records, ref_records),
        ("records + salts + OZ tree", ours_all, ref_all),
    ):
        print(
            f"  {step:<26} ours (Parquet folder) {ours:8.3f} s "
            f"({ours / args.rows * 1e6:5.1f} µs/row)  reference (CSV) {ref:8.3f} s  "
            f"ratio {ours / ref:5.2f}x"
        )
    print(f"  peak memory of this process {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
