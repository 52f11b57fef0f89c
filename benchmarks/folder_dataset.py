"""Benchmark: a governed dataset split into a folder of Parquet parts against the one file (#17).

The UCI Adult data (``/work/shared/data``, else ``--data``) is repeated to ``--rows`` rows
and written once as one Parquet file and once as ``--parts`` Parquet files in a folder. For
each it times what a governed run does before training: the content hash
(``audit.manifest_data.manifest_content_hash``) and reading the declared columns
(``audit.manifest_data.load_frame``). The reference is the same step on the one file, measured in
the same run; the ratio is ours (the folder) over it. Medians of ``--repeats``; nothing is
asserted. The two frames are checked to be equal.

Run: ``python benchmarks/folder_dataset.py --rows 2000000 --parts 64 --repeats 5``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame, manifest_content_hash

ADULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "adult.data"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
]  # fmt: skip


def _median(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _rows(data: Path, rows: int) -> tuple[pd.DataFrame, str]:
    if data.exists():
        frame = pd.read_csv(data, header=None, names=COLUMNS, skipinitialspace=True)
        source = "UCI Adult"
    else:
        from audit.synthetic import make_loans

        frame, source = make_loans(10_000, seed=0), "synthetic loans (UCI Adult is absent)"
    copies = -(-rows // len(frame))
    return pd.concat([frame] * copies, ignore_index=True).iloc[:rows], source


def _manifest(path: Path, frame: pd.DataFrame) -> DatasetManifest:
    adult = "sex" in frame.columns
    return build_manifest(
        path,
        name="bench",
        label="income" if adult else "approved",
        positive_label=">50K" if adult else "1",
        sensitive_features=["sex", "race"] if adult else ["group"],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--parts", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=ADULT)
    args = parser.parse_args()
    frame, source = _rows(args.data, args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        single = Path(tmp) / "whole.parquet"
        frame.to_parquet(single)
        folder = Path(tmp) / "parts"
        folder.mkdir()
        size = -(-len(frame) // args.parts)
        for i in range(args.parts):
            part = frame.iloc[i * size : (i + 1) * size].reset_index(drop=True)
            part.to_parquet(folder / f"part-{i:05d}.parquet")
        one, many = _manifest(single, frame), _manifest(folder, frame)
        pd.testing.assert_frame_equal(load_frame(many), load_frame(one))
        hashes = [_median(lambda m=m: manifest_content_hash(m), args.repeats) for m in (many, one)]
        loads = [_median(lambda m=m: load_frame(m), args.repeats) for m in (many, one)]
    print(f"{args.rows:,} rows of {source}, {args.parts} parts; median of {args.repeats}:")
    print(f"{'step':<34}{'ours (folder)':>14}{'reference (file)':>18}{'ratio':>8}")
    for step, (ours, reference) in (("content hash", hashes), ("load_frame", loads)):
        print(f"{step:<34}{ours:>12.3f} s{reference:>16.3f} s{ours / reference:>8.2f}")


if __name__ == "__main__":
    main()
