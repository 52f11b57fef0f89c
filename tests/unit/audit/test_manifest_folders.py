"""A dataset that is a folder or glob of Parquet (or CSV) files: registered with the hash of
its sorted file list, verified by it (any file added, removed, renamed or changed is refused),
and loaded in its sorted file order like the one file it was split from."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from audit.dataset_files import COLUMNS_NOT_IN
from audit.errors import (
    DatasetFileMissing,
    DatasetHashMismatch,
    InvalidManifest,
    NoDataFiles,
    UnreadableFile,
    UnsupportedFileFormat,
)
from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame, manifest_content_hash
from audit.plan import current_content_hash
from audit.source_files import resolve_source
from audit.spec import parse_spec
from audit.synthetic import write_loans_csv
from audit.training import predict, split, train
from audit.verify import verify_dataset
from tests.unit.audit.test_manifest_parquet import _snapshot

SPEC = parse_spec({"name": "m", "dataset": "loans", "seed": 0})
#: Part names whose sorted order (part-0, part-1, part-10, part-2) is not their row order.
PARTS = ("part-0", "part-1", "part-2", "part-10")


def _manifest(path: Path | str, **options: object) -> DatasetManifest:
    return build_manifest(
        path,
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        **options,  # type: ignore[arg-type]
    )


def _by_hand(root: Path, pattern: str = "**/*.parquet") -> str:
    """The docs/hashes.md recipe, with hashlib and json only."""
    pairs = sorted(
        [p.relative_to(root).as_posix(), "0x" + hashlib.sha256(p.read_bytes()).hexdigest()]
        for p in root.glob(pattern)
        if not p.name.startswith(("_", "."))
    )
    raw = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False).encode()
    return "0x" + hashlib.sha256(raw).hexdigest()


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    csv = write_loans_csv(tmp_path_factory.mktemp("csv") / "loans.csv", 1200)
    return pd.read_csv(csv, skipinitialspace=True)


def _write_parts(folder: Path, rows: pd.DataFrame, suffix: str = ".parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    chunk = -(-len(rows) // len(PARTS))
    for i, part in enumerate(PARTS):
        piece = rows.iloc[i * chunk : (i + 1) * chunk]
        if suffix == ".parquet":
            piece.to_parquet(folder / f"{part}{suffix}")
        else:
            piece.to_csv(folder / f"{part}{suffix}", index=False)
    (folder / "_SUCCESS").write_text("")  # Spark's marker: skipped, like in audit predictions
    return folder


@pytest.fixture
def folder(tmp_path: Path, rows: pd.DataFrame) -> Path:
    return _write_parts(tmp_path / "loans", rows)


def _sorted_rows(rows: pd.DataFrame, manifest: DatasetManifest) -> pd.DataFrame:
    """The rows in the parts' sorted-name order, as the manifest's columns."""
    chunk = -(-len(rows) // len(PARTS))
    pieces = {part: rows.iloc[i * chunk : (i + 1) * chunk] for i, part in enumerate(PARTS)}
    ordered = pd.concat([pieces[p] for p in sorted(PARTS)], ignore_index=True)
    return ordered[[*manifest.features, *manifest.sensitive_features, manifest.label]]


def test_a_folder_manifest_names_the_folder_and_hashes_its_sorted_file_list(folder: Path):
    manifest = _manifest(folder)
    assert manifest.uri == folder.resolve().as_uri() + "/"
    assert manifest.format == "parquet"
    assert manifest.sha256 == _by_hand(folder) == resolve_source(folder).content_hash()
    assert manifest.features == ("income", "debt_ratio", "credit_years", "employment", "region")
    assert manifest_content_hash(manifest) == manifest.sha256
    assert DatasetManifest.from_json(manifest.canonical_json()) == manifest
    assert "records_root" not in json.loads(manifest.canonical_json())


def test_a_glob_manifest_keeps_its_wildcards_and_hashes_what_it_matches(folder: Path):
    every = _manifest(str(folder / "part-*.parquet"))
    assert every.uri == folder.resolve().as_uri() + "/part-*.parquet"
    assert every.sha256 == _manifest(folder).sha256  # the same files below the same root
    some = _manifest(str(folder / "part-1*.parquet"))  # part-1 and part-10
    assert some.sha256 == _by_hand(folder, "part-1*.parquet") != every.sha256
    assert len(load_frame(some)) == 600
    assert verify_dataset(_snapshot(some), some).content_hash == some.sha256


def test_a_folder_loads_in_sorted_file_order_like_the_file_it_was_split_from(
    folder: Path, rows: pd.DataFrame, tmp_path: Path
):
    manifest = _manifest(folder)
    frame = load_frame(manifest)
    pd.testing.assert_frame_equal(frame, _sorted_rows(rows, manifest))
    whole = tmp_path / "whole.parquet"
    _sorted_rows(rows, manifest).to_parquet(whole)
    pd.testing.assert_frame_equal(frame, load_frame(_manifest(whole)))


def test_a_folder_trains_the_model_its_single_file_trains(
    folder: Path, rows: pd.DataFrame, tmp_path: Path
):
    manifest = _manifest(folder)
    whole = tmp_path / "whole.parquet"
    _sorted_rows(rows, manifest).to_parquet(whole)
    outputs = []
    for m in (manifest, _manifest(whole)):
        data = split(load_frame(m), m, SPEC)
        outputs.append(predict(train(SPEC, data), data.x_test, data.a_test, random_state=0))
    assert (outputs[0] == outputs[1]).all()


def _tamper_add(folder: Path) -> None:
    shutil.copy(folder / "part-0.parquet", folder / "part-3.parquet")


def _tamper_remove(folder: Path) -> None:
    (folder / "part-2.parquet").unlink()


def _tamper_change(folder: Path) -> None:
    path = folder / "part-1.parquet"
    pd.read_parquet(path).iloc[:-1].to_parquet(path)  # one record dropped


def _tamper_rename(folder: Path) -> None:
    (folder / "part-2.parquet").rename(folder / "part-20.parquet")


def _tamper_nest(folder: Path) -> None:
    (folder / "more").mkdir()
    shutil.copy(folder / "part-0.parquet", folder / "more" / "part-0.parquet")


def _tamper_csv(folder: Path) -> None:
    (folder / "extra.csv").write_text("approved,group\n1,A\n")  # another format


@pytest.mark.parametrize(
    "tamper",
    [_tamper_add, _tamper_remove, _tamper_change, _tamper_rename, _tamper_nest, _tamper_csv],
)
def test_any_file_added_removed_renamed_or_changed_after_the_vote_is_refused(folder: Path, tamper):
    manifest = _manifest(folder)
    snapshot = _snapshot(manifest)
    verify_dataset(snapshot, manifest)
    tamper(folder)
    with pytest.raises(
        DatasetHashMismatch, match="a file was added, removed, renamed or changed since the vote"
    ) as raised:
        verify_dataset(snapshot, manifest)
    assert raised.value.details["actual"] == manifest_content_hash(manifest) != manifest.sha256
    message = str(raised.value)
    assert "\n" not in message
    # Outside review: a folder's refusal spoke of "the file's sha256" and "the file changed".
    assert "the file's sha256" not in message
    assert "of its files (their list and each one's sha256)" in message


def test_hidden_and_underscore_files_added_later_are_not_data(folder: Path):
    manifest = _manifest(folder)
    (folder / "_metadata").write_text("spark")
    (folder / ".part-0.parquet.crc").write_bytes(b"\0\1")
    verify_dataset(_snapshot(manifest), manifest)


def test_a_folder_emptied_or_gone_is_missing_data_and_the_plan_keeps_the_voted_hash(
    folder: Path,
):
    manifest = _manifest(folder)
    glob = _manifest(str(folder / "part-*.parquet"))
    for part in folder.glob("part-*.parquet"):
        part.unlink()
    for m in (manifest, glob):
        with pytest.raises(DatasetFileMissing, match="cannot read"):
            verify_dataset(_snapshot(m), m)
        with pytest.raises(DatasetFileMissing):
            load_frame(m)
        assert current_content_hash(m) == m.sha256
    shutil.rmtree(folder)
    with pytest.raises(DatasetFileMissing):
        verify_dataset(_snapshot(manifest), manifest)


def test_hive_partitions_are_string_columns_that_may_be_sensitive(
    tmp_path: Path, rows: pd.DataFrame
):
    root = tmp_path / "hive"
    for year, piece in (("2023", rows.iloc[:500]), ("2024", rows.iloc[500:])):
        (root / f"year={year}").mkdir(parents=True)
        piece.to_parquet(root / f"year={year}" / "part-0.parquet")
    manifest = build_manifest(
        str(root / "year=*" / "*.parquet"),
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group", "year"],
    )
    assert "year" not in manifest.features
    frame = load_frame(manifest)
    assert frame["year"].tolist() == ["2023"] * 500 + ["2024"] * 700
    assert verify_dataset(_snapshot(manifest), manifest).content_hash == _by_hand(
        root, "year=*/*.parquet"
    )


def test_a_csv_folder_loads_each_file_as_one_csv_manifest_would(tmp_path: Path, rows: pd.DataFrame):
    folder = _write_parts(tmp_path / "csv", rows, suffix=".csv")
    manifest = _manifest(folder)
    assert (manifest.format, manifest.uri) == ("csv", folder.resolve().as_uri() + "/")
    pd.testing.assert_frame_equal(load_frame(manifest), _sorted_rows(rows, manifest))


def test_headerless_csv_parts_use_the_declared_columns(tmp_path: Path):
    folder = tmp_path / "raw"
    folder.mkdir()
    (folder / "a.csv").write_text("1, a, yes\n")
    (folder / "b.csv").write_text("2, b, no\n")
    manifest = build_manifest(
        folder, name="raw", label="y", positive_label="yes", sensitive_features=["s"],
        columns=["x", "s", "y"],
    )  # fmt: skip
    assert load_frame(manifest)["s"].tolist() == ["a", "b"]


def test_a_column_one_part_lacks_is_refused_when_registering_and_loading(
    folder: Path, tmp_path: Path
):
    manifest = _manifest(folder)
    path = folder / "part-2.parquet"
    pd.read_parquet(path).drop(columns=["region"]).to_parquet(path)
    with pytest.raises(InvalidManifest, match=r"columns \['region'\] are not in loans"):
        _manifest(folder, features=["income", "region"])
    with pytest.raises(InvalidManifest) as raised:
        load_frame(manifest)
    assert str(raised.value).endswith(
        COLUMNS_NOT_IN.format(absent=["region"], where="part-2.parquet")
    )


def test_empty_mixed_tsv_and_misnamed_sources_are_one_line_errors(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoDataFiles):
        _manifest(empty)
    with pytest.raises(NoDataFiles):
        _manifest(str(tmp_path / "nothing-*.parquet"))
    with pytest.raises(DatasetFileMissing):
        _manifest(tmp_path / "absent.csv")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "a.csv").write_text("approved,group\n1,A\n")
    pd.DataFrame({"approved": [1], "group": ["A"]}).to_parquet(mixed / "b.parquet")
    with pytest.raises(UnsupportedFileFormat, match="more than one format"):
        _manifest(mixed)
    tsv = tmp_path / "tsv"
    tsv.mkdir()
    (tsv / "a.tsv").write_text("approved\tgroup\tx\n1\tA\t2\n")
    with pytest.raises(InvalidManifest, match="CSV or Parquet"):
        _manifest(tsv)
    text = tmp_path / "text"
    text.mkdir()
    (text / "a.parquet").write_text("approved,group\n1,A\n")
    with pytest.raises(UnreadableFile, match=r"name it \.csv"):
        _manifest(text)
