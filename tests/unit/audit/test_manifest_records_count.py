"""A manifest's ``records``: how many records its records root commits to (session 26).

A federated node's row counts are checked against it, so it is set where the records are
committed, hashed with the manifest, checked against the file wherever the records root is,
and left out of a manifest without it, whose bytes and hash stay what they were.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audit.errors import InvalidManifest, RecordsCountMismatch
from audit.manifest import DatasetManifest, build_manifest
from audit.records_check import check_records_root
from audit.synthetic import write_loans_csv
from cli.main import app
from tests.unit.audit.test_manifest import OLD_MANIFEST, PINNED_HASH, PINNED_JSON

ROOT = "0x" + "ab" * 32


def _with(**fields: object) -> DatasetManifest:
    return DatasetManifest.from_json(json.dumps(json.loads(PINNED_JSON) | fields))


def _committed(tmp_path: Path, csv: Path) -> DatasetManifest:
    return build_manifest(
        csv,
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        salts_path=tmp_path / "loans.salts",
    )


@pytest.mark.parametrize("raw", [PINNED_JSON, OLD_MANIFEST])
def test_a_manifest_without_records_keeps_its_bytes_and_hash(raw: bytes) -> None:
    manifest = DatasetManifest.from_json(raw)
    assert manifest.records is None
    assert manifest.canonical_json() == raw
    assert manifest.hash == "0x" + hashlib.sha256(raw).hexdigest()
    assert DatasetManifest.from_json(PINNED_JSON).hash == PINNED_HASH


def test_records_are_hashed_with_the_manifest() -> None:
    rooted = _with(records_root=ROOT)
    counted = _with(records_root=ROOT, records=300)
    assert json.loads(counted.canonical_json())["records"] == 300
    assert "records" not in json.loads(rooted.canonical_json())
    assert counted.hash != rooted.hash
    assert counted.hash != _with(records_root=ROOT, records=301).hash
    assert DatasetManifest.from_json(counted.canonical_json()) == counted


@pytest.mark.parametrize("records", [0, -3, "300", 300.0, True, None])
def test_records_must_be_a_positive_whole_number(records: object) -> None:
    if records is None:
        assert _with(records_root=ROOT, records=None).records is None
        return
    with pytest.raises(InvalidManifest, match=r"^invalid dataset manifest: records: "):
        _with(records_root=ROOT, records=records)


def test_records_without_a_records_root_are_refused() -> None:
    with pytest.raises(InvalidManifest, match="give the records root too"):
        _with(records=300)


def test_committing_the_records_counts_them(tmp_path: Path) -> None:
    csv = write_loans_csv(tmp_path / "loans.csv", 300)
    with csv.open("a") as data:
        data.write("\n")  # a blank line is no record, for the commitments as for pandas
    manifest = _committed(tmp_path, csv)
    assert manifest.records == 300
    assert json.loads(manifest.canonical_json())["records"] == 300
    check_records_root(manifest, tmp_path / "loans.salts")
    plain = build_manifest(
        csv, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )
    assert plain.records is None
    assert "records" not in json.loads(plain.canonical_json())


@pytest.mark.parametrize("records", [299, 301, 600])
def test_a_manifest_whose_records_disagree_with_its_file_is_refused(
    tmp_path: Path, records: int
) -> None:
    csv = write_loans_csv(tmp_path / "loans.csv", 300)
    edited = _committed(tmp_path, csv).model_copy(update={"records": records})
    with pytest.raises(RecordsCountMismatch) as refused:
        check_records_root(edited, tmp_path / "loans.salts")
    assert refused.value.code == "records_count_mismatch"
    assert refused.value.message == (
        f"the file of dataset loans holds 300 records, not the {records} its manifest "
        "records: rebuild the manifest from the data file (fairgov datasets register --salts)"
    )


def test_a_proof_of_a_manifest_whose_records_disagree_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    csv = write_loans_csv(tmp_path / "loans.csv", 40)
    manifest = _committed(tmp_path, csv)
    edited = manifest.model_copy(update={"records": 80})
    manifest_file = tmp_path / "loans.manifest.json"
    salts = str(tmp_path / "loans.salts")
    args = ["provider", "prove", str(manifest_file), "--salts", salts, "--row", "3"]
    manifest_file.write_bytes(manifest.canonical_json())
    assert CliRunner().invoke(app, args).exit_code == 0
    manifest_file.write_bytes(edited.canonical_json())
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "holds 40 records, not the 80 its manifest records" in result.output
    assert "Traceback" not in result.output
