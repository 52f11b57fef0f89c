"""Record commitments of a manifest's data: one CSV or Parquet file, or every file of a folder
or glob in its sorted order, the record indexes running on across files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from audit.commitments import build_commitments, prove, read_records, read_salts, verify
from audit.errors import (
    ManifestLacksRecordsRoot,
    RecordsRootMismatch,
    SaltsMismatch,
    UncommittableColumn,
)
from audit.manifest import DatasetManifest, build_manifest, commit_records, manifest_records
from audit.parquet_records import parquet_records
from audit.records_check import check_records_root
from audit.synthetic import write_loans_csv
from tests.unit.audit.test_manifest_folders import PARTS, _write_parts


def _manifest(path: Path | str, salts: Path | None, **options: object) -> DatasetManifest:
    return build_manifest(
        path,
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        salts_path=salts,
        **options,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    csv = write_loans_csv(tmp_path_factory.mktemp("csv") / "loans.csv", 400)
    return pd.read_csv(csv, skipinitialspace=True)


@pytest.fixture
def folder(tmp_path: Path, rows: pd.DataFrame) -> Path:
    return _write_parts(tmp_path / "loans", rows)


def test_a_parquet_folder_commits_its_rows_in_sorted_file_order(
    folder: Path, tmp_path: Path
) -> None:
    salts = tmp_path / "loans.salts"
    manifest = _manifest(folder, salts)
    assert manifest.records_root is not None
    assert manifest.uri.endswith("/")
    assert "records_root" in json.loads(manifest.canonical_json())
    # The records of part-0, part-1, part-10, part-2 one after the other: the load order.
    by_file = [
        record for part in sorted(PARTS) for record in parquet_records(folder / f"{part}.parquet")
    ]
    assert list(manifest_records(manifest)) == by_file
    assert len(by_file) == 400
    committed = build_commitments(by_file, salts=read_salts(salts, records=400))
    assert committed.root == manifest.records_root
    check_records_root(manifest, salts)
    # Record 150 is the 50th row of the second file in sorted order (part-1).
    second = list(parquet_records(folder / "part-1.parquet"))
    proof = prove(committed, 150)
    assert verify(proof, second[50], proof.salt, manifest.records_root)


def test_a_glob_and_its_folder_commit_the_same_records(folder: Path, tmp_path: Path) -> None:
    by_folder = _manifest(folder, tmp_path / "a.salts")
    by_glob = _manifest(str(folder / "part-*.parquet"), tmp_path / "b.salts")
    assert list(manifest_records(by_glob)) == list(manifest_records(by_folder))
    assert by_glob.records_root != by_folder.records_root  # fresh salts each time
    check_records_root(by_glob, tmp_path / "b.salts")


def test_a_single_parquet_file_commits_like_the_folder_it_was_split_into(
    folder: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "whole.parquet"
    frames = [pd.read_parquet(folder / f"{part}.parquet") for part in sorted(PARTS)]
    pd.concat(frames, ignore_index=True).to_parquet(whole)
    salts = tmp_path / "whole.salts"
    one = _manifest(whole, salts)
    assert one.format == "parquet"
    several = _manifest(folder, None)
    assert list(manifest_records(one)) == list(manifest_records(several))
    check_records_root(one, salts)
    assert read_salts(salts, records=400)


@pytest.mark.parametrize("what", ["change", "add", "drop"])
def test_a_changed_added_or_dropped_row_no_longer_matches_the_root(
    folder: Path, tmp_path: Path, what: str
) -> None:
    salts = tmp_path / "loans.salts"
    manifest = _manifest(folder, salts)
    part = folder / "part-2.parquet"
    frame = pd.read_parquet(part)
    if what == "change":
        frame.loc[frame.index[3], "income"] += 0.01
    elif what == "add":
        frame = pd.concat([frame, frame.iloc[:1]])
    else:
        frame = frame.iloc[1:]
    frame.to_parquet(part)
    error = RecordsRootMismatch if what == "change" else SaltsMismatch
    with pytest.raises(error):
        check_records_root(manifest, salts)


def test_reordering_the_files_changes_the_records_order(folder: Path, tmp_path: Path) -> None:
    salts = tmp_path / "loans.salts"
    manifest = _manifest(folder, salts)
    first, last = folder / "part-0.parquet", folder / "part-2.parquet"
    shutil.move(first, tmp_path / "swap")
    shutil.move(last, first)
    shutil.move(tmp_path / "swap", last)
    with pytest.raises(RecordsRootMismatch):
        check_records_root(manifest, salts)


def test_hive_partition_values_are_part_of_each_record(tmp_path: Path, rows: pd.DataFrame) -> None:
    root = tmp_path / "hive"
    for year, piece in (("2023", rows.iloc[:100]), ("2024", rows.iloc[100:])):
        (root / f"year={year}").mkdir(parents=True)
        piece.to_parquet(root / f"year={year}" / "part-0.parquet")
    salts = tmp_path / "hive.salts"
    manifest = _manifest(root, salts)
    records = [json.loads(r) for r in manifest_records(manifest)]
    assert [r["year"] for r in records] == ["2023"] * 100 + ["2024"] * 300
    check_records_root(manifest, salts)


def test_a_csv_folder_commits_each_file_as_one_csv_manifest_would(
    tmp_path: Path, rows: pd.DataFrame
) -> None:
    folder = _write_parts(tmp_path / "csv", rows, suffix=".csv")
    salts = tmp_path / "csv.salts"
    manifest = _manifest(folder, salts)
    assert manifest.format == "csv"
    by_file = [r for part in sorted(PARTS) for r in read_records(folder / f"{part}.csv")]
    assert list(manifest_records(manifest)) == by_file
    check_records_root(manifest, salts)


def test_headerless_csv_parts_commit_under_the_declared_columns(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.csv").write_text("1,A,3\n0,B,4\n")
    (folder / "b.csv").write_text("1,B,5\n")
    manifest = _manifest(folder, tmp_path / "raw.salts", columns=["approved", "group", "x"])
    assert list(manifest_records(manifest))[2] == b'{"approved":"1","group":"B","x":"5"}'


def test_a_folder_with_an_uncommittable_column_is_refused_before_any_salts(
    folder: Path, tmp_path: Path
) -> None:
    pd.DataFrame({"approved": [1], "group": ["A"], "income": [1.0], "blob": [b"\x00"]}).to_parquet(
        folder / "part-3.parquet"
    )
    salts = tmp_path / "loans.salts"
    with pytest.raises(UncommittableColumn, match="'blob'"):
        _manifest(folder, salts)
    assert not salts.exists()
    assert _manifest(folder, None).records_root is None  # hashing alone still works


def test_a_committed_folder_can_be_offered_and_an_uncommitted_one_cannot(
    folder: Path, tmp_path: Path
) -> None:
    provider = "0x" + "11" * 20
    committed = _manifest(folder, tmp_path / "loans.salts")
    offer = committed.offer(provider=provider, issued_at=1, deadline=2)
    assert (offer.records_root, offer.content_hash, offer.manifest_hash, offer.uri) == (
        committed.records_root,
        committed.sha256,
        committed.hash,
        committed.uri,
    )
    with pytest.raises(ManifestLacksRecordsRoot):
        _manifest(folder, None).offer(provider=provider, issued_at=1, deadline=2)


def test_committing_and_checking_the_records_report_progress(tmp_path: Path) -> None:
    """`datasets register --salts` and `provider offer` show how many records they have read
    (a 3e6-row register ran two minutes in silence)."""
    csv = write_loans_csv(tmp_path / "loans.csv", 250)
    plain = _manifest(csv, None)
    committed_counts: list[int] = []
    committed = commit_records(plain, tmp_path / "loans.salts", on_progress=committed_counts.append)
    assert committed_counts[-1] == 250 == committed.records
    checked_counts: list[int] = []
    check_records_root(committed, tmp_path / "loans.salts", on_progress=checked_counts.append)
    assert checked_counts == committed_counts
