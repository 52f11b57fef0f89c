"""Benchmark: the cost of committing to every record of a data file (#15).

Ours is what a provider runs: stream a ``--rows``-row CSV through ``audit.commitments``
(parse each row, canonical JSON, sha256), draw a 32-byte salt per record and build the
OpenZeppelin StandardMerkleTree of the (salt, recordHash) leaves. The references are sha256 of
the same file's bytes (what the manifest's content hash costs) and the same pipeline with
murky-tree's ``StandardMerkleTree.of`` hashing every node itself (eth_abi and eth-hash's
pycryptodome backend: the code before its hashes moved to safe-pysha3). The script prints the
median wall time of each over ``--repeats`` runs, the ratios and the peak memory. Nothing is
asserted.

Run: ``python benchmarks/commitments.py --rows 1000000 --repeats 3``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from murky_tree.standard import StandardMerkleTree

from audit.commitments import LEAF_ENCODING, build_commitments, new_salts, read_records, record_hash
from core.canonical import file_sha256


def _write_csv(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("id,age,sex,region,income,label\n")
        chunk = 100_000
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            age = rng.integers(18, 90, n)
            sex = rng.choice(["F", "M", "X"], n)
            region = rng.integers(0, 50, n)
            income = rng.normal(40_000, 12_000, n).round(2)
            label = rng.integers(0, 2, n)
            handle.writelines(
                f"{start + i},{age[i]},{sex[i]},r{region[i]},{income[i]},{label[i]}\n"
                for i in range(n)
            )


def _murky(path: Path) -> str:
    """The commitment as built before: murky-tree hashes every leaf and node itself."""
    hashes = [record_hash(record) for record in read_records(path)]
    leaves = list(zip(new_salts(len(hashes)), hashes, strict=True))
    return StandardMerkleTree.of(leaves, LEAF_ENCODING).root


def _median(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        _write_csv(path, args.rows)
        size = path.stat().st_size
        ours = _median(lambda: build_commitments(read_records(path)), args.repeats)
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ours, run first
        reference = _median(lambda: file_sha256(path), args.repeats)
        murky = _median(lambda: _murky(path), args.repeats)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.rows:,} rows, {size / 1e6:.1f} MB CSV, median of {args.repeats}:")
    print(
        f"  ours (salts + records + OZ tree)  {ours:9.3f} s  ({ours / args.rows * 1e6:.1f} µs/row)"
    )
    print(f"  reference (sha256 of the file)    {reference:9.3f} s")
    print(f"  ratio ours/reference              {ours / reference:9.0f}x")
    print(
        f"  murky-tree hashing (before)       {murky:9.3f} s"
        f"  ({murky / args.rows * 1e6:.1f} µs/row)"
    )
    print(f"  ratio ours/before                 {ours / murky:9.2f}x")
    print(f"  peak memory, ours                 {peak_mib:9.0f} MiB")
    print(f"  peak memory, before (at least)    {peak_before:9.0f} MiB")


if __name__ == "__main__":
    main()
