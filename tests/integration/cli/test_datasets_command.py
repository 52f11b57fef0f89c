"""``fairgov datasets register --reference``: the privileged group the manifest declares; a
refused one leaves the provider's salts file alone."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from audit.manifest import DatasetManifest
from audit.synthetic import LABEL, POSITIVE_LABEL, write_loans_csv
from cli.main import app

runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    return write_loans_csv(tmp_path / "loans.csv", 200)


def _register(csv: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["datasets", "register", str(csv), "--label", LABEL, "--positive", POSITIVE_LABEL,
         "--sensitive", "group", *extra],
    )  # fmt: skip
    return result.exit_code, result.output


def test_the_privileged_group_enters_the_manifest_and_its_hash(data: Path) -> None:
    code, output = _register(data, "--reference", "group=B")
    assert code == 0, output
    manifest = DatasetManifest.from_json(output[output.index("{") :].strip())
    assert manifest.reference_group == {"group": "B"}
    assert "privileged group of directional metrics: group=B" in output
    code, output = _register(data, "--name", "plain")
    plain = DatasetManifest.from_json(output[output.index("{") :].strip())
    assert plain.reference_group is None
    assert b"reference_group" not in plain.canonical_json()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("group=Z", "The reference group group=Z does not occur: column 'group' holds A, B"),
        ("sex=male", "sex is not one"),
        ("best", "a manifest names the privileged group itself"),
        ("group", "FEATURE=VALUE"),
    ],
)
def test_a_privileged_group_that_cannot_be_audited_is_one_line(
    data: Path, reference: str, message: str
) -> None:
    code, output = _register(data, "--reference", reference)
    assert code != 0
    assert message in output
    assert "Traceback" not in output
    assert len(output.strip().splitlines()) == 1
    assert not list((data.parent / "datasets").glob("**/*.json"))


@pytest.mark.parametrize("reference", ["group=Z", "sex=male"])
def test_a_refused_privileged_group_leaves_the_salts_file_alone(data: Path, reference: str) -> None:
    """Review #18: a refused ``--reference`` rewrote the salts of the manifest already
    offered (its records root on chain): none of its records could be proved any more."""
    salts = data.parent / "loans.salts"
    code, output = _register(data, "--salts", str(salts))
    assert code == 0, output
    kept = salts.read_bytes()

    code, output = _register(data, "--salts", str(salts), "--reference", reference)
    assert code != 0
    assert len(output.strip().splitlines()) == 1  # the one-line refusal
    assert salts.read_bytes() == kept, "the refused register rewrote the provider's salts"


@pytest.mark.parametrize(
    ("rows", "positive", "message"),
    [
        ("x,group,y\n", "1", "'odd' has no data rows: register a file with data"),
        ("x,group,y\n1,A,0\n2,B,1\n", "yes", "none equals the positive label 'yes'"),
        ("x,group,y\n1,A,1\n2,B,1.0\n", "1", "all equal the positive label '1'"),
        ("x,group,y\n1,A,0\n2,B,\n3,A,1\n", "1", "column 'y' has 1 empty value(s)"),
        (  # an id as the sensitive column (session 24): 3.6 minutes and a 118 MB report a run
            "x,group,y\n" + "".join(f"{i},id{i},{i % 2}\n" for i in range(1001)),
            "1",
            "Grouping by group makes 1,001 groups, more than max_groups (1,000)",
        ),
    ],
)
def test_data_no_run_could_audit_is_refused_at_registration(
    data: Path, rows: str, positive: str, message: str
) -> None:
    """Review (session 22): a header-only file, a positive label no row has, one outcome
    only and empty labels were registered, offered and voted on; every governed run of them
    then failed. Each is now one line at registration, before anything is stored."""
    odd = data.parent / "odd.csv"
    odd.write_text(rows)
    result = runner.invoke(
        app,
        ["datasets", "register", str(odd), "--label", "y", "--positive", positive,
         "--sensitive", "group"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not list((data.parent / "datasets").glob("**/*.json"))


@pytest.mark.parametrize("where", ["missing/loans.salts", "."])
def test_a_salts_path_that_cannot_be_written_is_one_line(data: Path, where: str) -> None:
    """Review (session 23): a --salts in a missing folder, or naming a folder, was a
    FileNotFoundError or IsADirectoryError traceback."""
    code, output = _register(data, "--salts", str(data.parent / where))
    assert code == 2, output
    assert "name a file in an existing folder" in output
    assert len(output.strip().splitlines()) == 1
    assert not list((data.parent / "datasets").glob("**/*.json"))


def test_the_manifest_on_stdout_hashes_to_the_manifest_hash(data: Path) -> None:
    """Review (session 23): the README saves stdout as loans.manifest.json, but a newline
    after the canonical JSON made ``sha256sum`` of that file differ from the manifest hash."""
    result = runner.invoke(
        app,
        ["datasets", "register", str(data), "--label", LABEL, "--positive", POSITIVE_LABEL,
         "--sensitive", "group"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = DatasetManifest.from_json(result.stdout)
    assert "0x" + hashlib.sha256(result.stdout_bytes).hexdigest() == manifest.hash


ROWS = "y,sex,x\n1,M,a\n0,F,b\n1,F,c\n0,M,d\n"


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _mixed_schemas(folder: Path) -> None:
    folder.mkdir()
    frame = pd.DataFrame({"y": [1, 0], "sex": ["Female", "Male"], "x": [1.0, 2.0]})
    (folder / "a.parquet").write_bytes(_parquet(frame))
    (folder / "b.parquet").write_bytes(_parquet(frame.assign(sex=[1, 1])))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("dup.csv", "y,sex,x,x\n1,M,a,b\n0,F,c,d\n1,F,e,f\n0,M,g,h\n",
         "column 'x' appears more than once in the header): rename the copies"),
        ("trunc.parquet", _parquet(pd.read_csv(io.StringIO(ROWS)))[:300], "as Parquet ("),
        ("text.parquet", ROWS, "(it is text, not Parquet): if it is CSV, name it .csv"),
        ("pq.csv", _parquet(pd.read_csv(io.StringIO(ROWS))), "(it is a Parquet file)"),
        ("u16.csv", ROWS.encode("utf-16"), "(it is UTF-16 text): save it as UTF-8"),
        ("gz.csv", gzip.compress(ROWS.encode()), "(it is gzip-compressed)"),
        ("l1.csv", ROWS.replace("F,b", "F\u00e9,b").encode("latin-1"),
         "(invalid utf-8 sequence): save it as UTF-8 text"),
        ("d.txt", ROWS, "a dataset is a .csv, .parquet or .pq file, or a folder or glob"),
        ("d.tsv", ROWS.replace(",", "\t"), "CSV or Parquet, and"),
        ("ragged.csv", "y,sex,x\n1,M,1\n0,F\n1,F,3,extra\n0,M,4\n",
         "(data row 2 has 2 fields, the header 3): give every row one field per column"),
        ("mixed", _mixed_schemas,
         "its files give column sex different types: write them with one schema"),
    ],
    ids=["repeated-column", "truncated-parquet", "text-parquet", "parquet-csv", "utf16", "gzip",
         "latin1", "txt", "tsv", "ragged", "parquet-schemas"],
)  # fmt: skip
@pytest.mark.parametrize("salted", [False, True], ids=["plain", "salts"])
def test_a_malformed_data_file_is_one_line_and_nothing_is_stored(
    data: Path,
    name: str,
    content: str | bytes | Callable[[Path], None],
    message: str,
    salted: bool,
) -> None:
    """Review: these registered (a repeated column committed one of its values, a ragged
    file without --salts, Parquet files of two schemas) or were tracebacks (exit 1)."""
    path = data.parent / name
    if callable(content):
        content(path)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    salts = data.parent / "d.salts"
    result = runner.invoke(
        app,
        ["datasets", "register", str(path), "--label", "y", "--positive", "1",
         "--sensitive", "sex", *(["--salts", str(salts)] if salted else [])],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not list((data.parent / "datasets").glob("**/*.json"))
    assert not salts.exists()


def test_an_empty_sensitive_value_is_listed_as_empty_not_nan(data: Path) -> None:
    path = data.parent / "empty.csv"
    path.write_text("y,sex,x\n1,M,1\n0,F,2\n1,,3\n0,M,4\n1,F,5\n")
    result = runner.invoke(
        app,
        ["datasets", "register", str(path), "--label", "y", "--positive", "1",
         "--sensitive", "sex", "--reference", "sex=X"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "column 'sex' holds F, M and empty values." in result.output
