from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from audit.errors import DatasetFileMissing, DatasetNotRegistered, InvalidManifest
from audit.manifest import DatasetManifest, build_manifest, latest_manifest, store_manifest
from audit.manifest_data import load_frame, manifest_content_hash
from audit.synthetic import write_loans_csv
from core.db import session_scope
from governance.actions import dataset_id_of


@pytest.fixture
def manifest(tmp_path: Path) -> DatasetManifest:
    csv = write_loans_csv(tmp_path / "loans.csv", 300)
    return build_manifest(
        csv,
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        licence="CC0-1.0",
        salts_path=tmp_path / "loans.salts",
    )


def test_canonical_json_is_sorted_compact_utf8_and_hashed(manifest: DatasetManifest) -> None:
    raw = manifest.canonical_json()
    data = json.loads(raw)
    assert (
        raw == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert manifest.hash == "0x" + hashlib.sha256(raw).hexdigest()
    assert manifest.sha256 == "0x" + hashlib.sha256(manifest.local_path().read_bytes()).hexdigest()
    assert DatasetManifest.from_json(raw) == manifest


def test_features_default_to_all_but_label_and_sensitive(manifest: DatasetManifest) -> None:
    assert manifest.features == ("income", "debt_ratio", "credit_years", "employment", "region")
    assert manifest.dataset_id == dataset_id_of("loans")
    assert manifest.records_root is not None
    offer = manifest.offer(provider="0x" + "11" * 20, issued_at=5, deadline=9)
    assert (offer.content_hash, offer.manifest_hash) == (manifest.sha256, manifest.hash)
    assert (offer.records_root, offer.dataset_id) == (manifest.records_root, manifest.dataset_id)


def test_unknown_columns_are_refused(tmp_path: Path) -> None:
    csv = write_loans_csv(tmp_path / "loans.csv", 50)
    with pytest.raises(InvalidManifest, match="nope"):
        build_manifest(
            csv, name="x", label="nope", positive_label="1", sensitive_features=["group"]
        )
    with pytest.raises(InvalidManifest, match="uri"):
        DatasetManifest.from_json(b'{"name": "x"}')


@pytest.mark.parametrize("name", ["../../etc/x", "/tmp/abs", "..", ".", "a\\b", "tab\there"])
def test_a_name_that_is_not_one_path_segment_is_refused(tmp_path: Path, name: str) -> None:
    # Regression (review, session 22): the manifest file is stored under datasets/<name>/,
    # and "../../etc/x" wrote it outside the data directory.
    csv = write_loans_csv(tmp_path / "loans.csv", 50)
    with pytest.raises(InvalidManifest, match="is not a dataset name"):
        build_manifest(
            csv, name=name, label="approved", positive_label="1", sensitive_features=["group"]
        )


def test_an_empty_file_is_refused_in_one_line(tmp_path: Path) -> None:
    # Regression (review, session 22): pandas' EmptyDataError reached the user.
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InvalidManifest, match=r"empty\.csv is empty: it has no header row"):
        build_manifest(
            tmp_path / "empty.csv", name="e", label="y", positive_label="1",
            sensitive_features=["sex"],
        )  # fmt: skip


def test_headerless_csv_uses_declared_columns(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    path.write_text("1, a, yes\n2, b, no\n")
    m = build_manifest(
        path,
        name="raw",
        label="y",
        positive_label="yes",
        sensitive_features=["s"],
        columns=["x", "s", "y"],
    )
    frame = load_frame(m)
    assert list(frame["s"]) == ["a", "b"]
    assert list(frame["y"]) == ["yes", "no"]


def test_store_is_idempotent_and_latest_wins(engine: Engine, manifest: DatasetManifest) -> None:
    newer = manifest.model_copy(update={"version": "2"})
    with session_scope(engine) as session:
        first = store_manifest(session, manifest)
        assert store_manifest(session, manifest).id == first.id
        store_manifest(session, newer)
    with session_scope(engine) as session:
        assert latest_manifest(session, "loans").version == "2"
        with pytest.raises(DatasetNotRegistered):
            latest_manifest(session, "other")


#: A manifest as fairgov wrote it before ``reference_group`` existed.
OLD_MANIFEST = (
    b'{"columns":null,"description":"","features":["income"],"format":"csv","label":"approved",'
    b'"licence":"","name":"loans","positive_label":"1","provider":null,"schema_version":1,'
    b'"sensitive_features":["sex","race"],"sha256":"0x' + b"ab" * 32 + b'","uri":"file:///l.csv",'
    b'"version":"1"}'
)


def test_a_manifest_without_a_privileged_group_keeps_its_bytes_and_hash() -> None:
    manifest = DatasetManifest.from_json(OLD_MANIFEST)
    assert manifest.reference_group is None
    assert manifest.canonical_json() == OLD_MANIFEST
    assert manifest.hash == "0x" + hashlib.sha256(OLD_MANIFEST).hexdigest()


def test_a_privileged_group_is_hashed_with_the_manifest() -> None:
    data = json.loads(OLD_MANIFEST) | {"reference_group": {"race": "W", "sex": "M"}}
    manifest = DatasetManifest.model_validate(data)
    assert json.loads(manifest.canonical_json())["reference_group"] == {"race": "W", "sex": "M"}
    assert manifest.hash != DatasetManifest.from_json(OLD_MANIFEST).hash
    assert DatasetManifest.from_json(manifest.canonical_json()) == manifest
    other = DatasetManifest.model_validate(data | {"reference_group": {"race": "B", "sex": "M"}})
    assert other.hash != manifest.hash


@pytest.mark.parametrize(
    ("group", "problem"),
    [
        ({"sex": "M"}, "race has none"),
        ({"sex": "M", "race": "W", "age": "old"}, "age is not one"),
        ({"sex": "M", "race": " "}, "race is empty"),
        ({}, "sex has none"),
    ],
)
def test_a_privileged_group_names_exactly_one_value_per_sensitive_feature(
    group: dict[str, str], problem: str
) -> None:
    raw = json.dumps(json.loads(OLD_MANIFEST) | {"reference_group": group})
    with pytest.raises(InvalidManifest) as raised:
        DatasetManifest.from_json(raw)
    assert str(raised.value) == (
        "invalid dataset manifest: reference_group: the reference group must name one value "
        f"for each sensitive feature (sex, race); {problem}"
    )


def test_build_manifest_takes_the_privileged_group(tmp_path: Path) -> None:
    csv = write_loans_csv(tmp_path / "loans.csv", 50)
    options = {"name": "loans", "label": "approved", "positive_label": "1"}
    plain = build_manifest(csv, sensitive_features=["group"], **options)
    named = build_manifest(
        csv, sensitive_features=["group"], reference_group={"group": "B"}, **options
    )
    assert named.reference_group == {"group": "B"}
    assert named.hash != plain.hash
    assert named.sha256 == plain.sha256
    with pytest.raises(InvalidManifest, match="region is not one"):
        build_manifest(
            csv, sensitive_features=["group"], reference_group={"region": "north"}, **options
        )


#: A one-file manifest as fairgov wrote it before folders and globs; its hash is pinned.
PINNED_JSON = (
    b'{"columns":null,"description":"","features":["income"],"format":"csv",'
    b'"label":"approved","licence":"","name":"loans","positive_label":"1","provider":null,'
    b'"schema_version":1,"sensitive_features":["group"],"sha256":"0x' + b"ab" * 32 + b'",'
    b'"uri":"file:///data/loans.csv","version":"1"}'
)
PINNED_HASH = "0xf74e3b7889f879d7f7f63c44168db6173bfa7c2f69ac38f967ad295d4aaabc50"


def test_a_one_file_manifest_keeps_its_canonical_json_and_hash() -> None:
    manifest = DatasetManifest.from_json(PINNED_JSON)
    assert manifest.canonical_json() == PINNED_JSON
    assert manifest.hash == PINNED_HASH


def test_one_file_named_with_glob_characters_is_still_one_file(tmp_path: Path) -> None:
    """Its URI escapes ``[`` and ``]`` as always, so it is never read as a glob; the bytes
    are those fairgov wrote for it before folders and globs (checked against that code)."""
    path = tmp_path / "loans [v1].csv"
    path.write_text("income,group,approved\n1.5,A,1\n2.0,B,0\n")
    manifest = build_manifest(
        path, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )
    sha = "0x7161425a07f09c0f7bc5f60ffa5f95932ce9138d3d69fb0e4f4d5e3363179b79"
    expected = PINNED_JSON.replace(b"0x" + b"ab" * 32, sha.encode()).replace(
        b"file:///data/loans.csv", path.as_uri().encode()
    )
    assert path.as_uri().endswith("/loans%20%5Bv1%5D.csv")
    assert manifest.canonical_json() == expected
    assert manifest_content_hash(manifest) == manifest.sha256 == sha
    assert load_frame(manifest)["group"].tolist() == ["A", "B"]
    path.unlink()
    with pytest.raises(DatasetFileMissing, match=r"loans \[v1\]\.csv"):
        manifest_content_hash(manifest)
