"""``fairgov datasets register`` on a folder and a glob of Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from audit.commitments import InclusionProof, encode_record, read_salts, verify
from audit.manifest import DatasetManifest
from audit.parquet_records import parquet_records
from audit.source_files import resolve_source
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from cli.main import app

runner = CliRunner()
OPTIONS = ("--label", LABEL, "--positive", POSITIVE_LABEL, "--sensitive", ",".join(SENSITIVE))


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    rows = pd.read_csv(write_loans_csv(tmp_path / "loans.csv", 300), skipinitialspace=True)
    folder = tmp_path / "loans-2024"
    folder.mkdir()
    rows.iloc[:100].to_parquet(folder / "part-0.parquet")
    rows.iloc[100:].to_parquet(folder / "part-1.parquet")
    return folder


def _register(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["datasets", "register", *args, *OPTIONS])
    return result.exit_code, result.stdout, result.stderr


def test_a_folder_and_a_glob_register_under_the_folder_name_with_their_files_hash(
    folder: Path,
) -> None:
    code, out, err = _register(str(folder))
    assert code == 0, err
    by_folder = DatasetManifest.from_json(out)
    assert (by_folder.name, by_folder.uri) == ("loans-2024", folder.as_uri() + "/")
    assert by_folder.sha256 == resolve_source(folder).content_hash()
    assert f"content hash {by_folder.sha256}" in err
    saved = folder.parent / "data" / "datasets" / "loans-2024" / f"{by_folder.hash[2:]}.json"
    assert saved.read_bytes() == by_folder.canonical_json()

    code, out, err = _register(str(folder / "part-*.parquet"), "--version", "2")
    assert code == 0, err
    by_glob = DatasetManifest.from_json(out)
    assert (by_glob.name, by_glob.uri) == ("loans-2024", folder.as_uri() + "/part-*.parquet")
    assert by_glob.sha256 == by_folder.sha256


def test_a_folder_registers_with_commitments_and_proves_a_record_of_its_second_file(
    folder: Path,
) -> None:
    salts = folder.parent / "loans.salts"
    code, out, err = _register(str(folder), "--salts", str(salts))
    assert code == 0, err
    manifest = DatasetManifest.from_json(out)
    assert manifest.records_root is not None
    assert f"records root {manifest.records_root}" in err
    assert len(read_salts(salts)) == 300
    manifest_file = folder.parent / "loans.manifest.json"
    manifest_file.write_text(out)

    args = ["provider", "prove", str(manifest_file), "--salts", str(salts), "--row", "120"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    claim = json.loads(result.stdout)
    # Row 120 is the 20th row of part-1.parquet, the second file in sorted order.
    expected = json.loads(list(parquet_records(folder / "part-1.parquet"))[20])
    assert claim["record"] == expected
    assert claim["records_root"] == manifest.records_root
    proof = InclusionProof(
        index=120,
        salt=bytes.fromhex(claim["salt"][2:]),
        record_hash=b"",
        path=tuple(claim["proof"]),
        root=manifest.records_root,
    )
    record = encode_record(claim["record"])
    assert verify(proof, record, proof.salt, manifest.records_root)
    assert not verify(proof, encode_record({**claim["record"], "group": "Z"}), proof.salt,
                      manifest.records_root)  # fmt: skip

    result = runner.invoke(app, [*args[:-1], "300"])
    assert result.exit_code == 2
    assert "no record 300: the dataset has 300 records" in result.stderr


def test_a_column_without_a_text_form_is_one_line_and_writes_no_salts(folder: Path) -> None:
    frame = pd.read_parquet(folder / "part-1.parquet")
    frame.assign(tags=[[1, 2]] * len(frame)).to_parquet(folder / "part-1.parquet")
    salts = folder.parent / "loans.salts"
    code, out, err = _register(str(folder), "--salts", str(salts))
    assert code == 2
    assert out == ""
    assert "column 'tags' of" in err
    assert "no stable text form" in err
    assert "Traceback" not in err
    assert not salts.exists()


def test_an_empty_folder_says_what_to_name(folder: Path) -> None:
    empty = folder.parent / "empty"
    empty.mkdir()
    code, _, err = _register(str(empty))
    assert code != 0
    assert "no data files match" in err
    assert len(err.strip().splitlines()) == 1


def test_a_folder_manifest_has_no_records_to_prove_or_offer(folder: Path) -> None:
    code, out, err = _register(str(folder))
    assert code == 0, err
    manifest_file = folder.parent / "loans.manifest.json"
    manifest_file.write_text(out)
    salts = folder.parent / "loans.salts"
    salts.write_text("")
    for command in (["prove", "--row", "0"], ["offer", "--dev-account", "5"]):
        result = runner.invoke(
            app, ["provider", command[0], str(manifest_file), "--salts", str(salts), *command[1:]]
        )
        assert result.exit_code == 2, result.output
        assert "has no records root" in result.stderr
        assert "Traceback" not in result.stderr
