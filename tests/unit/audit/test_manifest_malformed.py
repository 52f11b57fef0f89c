"""Data files a manifest cannot describe faithfully are refused at registration, in one line
with the code and words ``fairgov audit predictions`` uses for the same file (review of
``fairgov datasets register``): a column named twice, files not of their suffix's format, a
ragged CSV, Parquet files of two schemas; an empty sensitive value is named as such."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.commitments import build_commitments, read_records
from audit.errors import AuditError, InvalidManifest, UnreadableFile, UnsupportedFileFormat
from audit.manifest import DatasetManifest, build_manifest, manifest_records
from audit.manifest_data import load_frame
from audit.parquet_records import parquet_records
from audit.training import check_registration
from bias_checks import UnknownReferenceGroupError

ROWS = "y,sex,x\n1,M,a\n0,F,b\n1,F,c\n0,M,d\n"
REPEATED = "column 'x' appears more than once in the header"


def _manifest(path: Path, **options: object) -> DatasetManifest:
    return build_manifest(
        path, name="d", label="y", positive_label="1", sensitive_features=["sex"],
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def _registered(path: Path, **options: object) -> DatasetManifest:
    """:func:`_manifest` and the checks of ``fairgov datasets register``."""
    manifest = _manifest(path, **options)
    check_registration(manifest)
    return manifest


def _written(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def _parquet_bytes() -> bytes:
    buffer = io.BytesIO()
    pd.read_csv(io.StringIO(ROWS)).to_parquet(buffer)
    return buffer.getvalue()


def test_a_csv_header_naming_a_column_twice_is_refused_not_renamed(tmp_path: Path) -> None:
    """Regression: pandas renamed the second ``x`` to ``x.1`` (a column the file does not
    have) and the records kept one value of the two, so files differing in the other had the
    same records root."""
    path = _written(tmp_path / "dup.csv", "y,sex,x,x\n1,M,a,b\n0,F,c,d\n1,F,e,f\n0,M,g,h\n")
    with pytest.raises(UnreadableFile) as caught:
        _manifest(path, salts_path=tmp_path / "dup.salts")
    assert caught.value.code == "unreadable_file"
    assert REPEATED in caught.value.message
    assert caught.value.message.endswith("rename the copies so every column has a name of its own")
    assert not (tmp_path / "dup.salts").exists()
    with pytest.raises(UnreadableFile, match=REPEATED):
        next(read_records(path))


def test_every_reader_of_a_governed_csv_refuses_a_column_named_twice(tmp_path: Path) -> None:
    """A manifest registered before the check (or edited) still cannot be loaded: pandas'
    renamed column would be trained on."""
    path = _written(tmp_path / "dup.csv", "y,sex,x, x\n1,M,a,b\n0,F,c,d\n")
    manifest = DatasetManifest(
        name="d", uri=path.as_uri(), sha256="0x" + "0" * 64, label="y", positive_label="1",
        sensitive_features=("sex",), features=("x",),
    )  # fmt: skip
    with pytest.raises(UnreadableFile, match=REPEATED):
        load_frame(manifest)
    folder = tmp_path / "parts"
    _written(folder / "a.csv", ROWS)
    _written(folder / "b.csv", "y,sex,x,x\n1,M,a,b\n")
    with pytest.raises(UnreadableFile, match=REPEATED):
        _manifest(folder)


def test_a_parquet_file_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.parquet"
    columns = [pa.array(["1", "0"]), pa.array(["M", "F"]), pa.array(["a", "b"]), pa.array([1, 2])]
    pq.write_table(pa.table(columns, names=["y", "sex", "x", "x"]), path)
    message = "column 'x' appears more than once in its schema"
    with pytest.raises(UnreadableFile, match=message):
        _manifest(path)
    with pytest.raises(UnreadableFile, match=message):
        next(parquet_records(path))


def _gzip() -> bytes:
    return gzip.compress(ROWS.encode())


@pytest.mark.parametrize(
    ("name", "content", "code", "message"),
    [
        ("t.parquet", lambda: _parquet_bytes()[:300], "unreadable_file", "as Parquet ("),
        ("t.parquet", ROWS.encode, "unreadable_file", "if it is CSV, name it .csv"),
        ("p.csv", _parquet_bytes, "unreadable_file", "(it is a Parquet file): name it .parquet"),
        ("u.csv", lambda: ROWS.encode("utf-16"), "unreadable_file", "save it as UTF-8"),
        ("g.csv", _gzip, "unreadable_file", "(it is gzip-compressed): decompress it first"),
        ("z.csv", lambda: b"PK\x03\x04" + bytes(64), "unreadable_file", "export the sheet"),
        (
            "l.csv",
            lambda: ROWS.replace("F,b", "F\u00e9,b").encode("latin-1"),
            "unreadable_file",
            "(invalid utf-8 sequence): save it as UTF-8 text",
        ),
        ("d.txt", ROWS.encode, "unsupported_file_format", "a .csv, .parquet or .pq"),
        ("d.tsv", lambda: ROWS.replace(",", "\t").encode(), "invalid_manifest", "holds TSV"),
    ],
    ids=["truncated", "text-parquet", "parquet-csv", "utf16", "gzip", "zip", "latin1", "txt",
         "tsv"],
)  # fmt: skip
def test_a_file_that_is_not_what_its_suffix_says_is_one_line(
    tmp_path: Path, name: str, content: Callable[[], bytes], code: str, message: str
) -> None:
    """Regression: tracebacks (ArrowInvalid, UnicodeDecodeError), binary garbage listed as
    column names, and a ``.txt`` file read as CSV."""
    path = _written(tmp_path / name, content())
    with pytest.raises(AuditError) as caught:
        _registered(path)
    assert (caught.value.code, "\n" in caught.value.message) == (code, False)
    assert message in caught.value.message


def test_a_tsv_file_is_told_which_formats_a_dataset_may_have(tmp_path: Path) -> None:
    path = _written(tmp_path / "preds.tsv", ROWS.replace(",", "\t"))
    with pytest.raises(InvalidManifest, match=r"CSV or Parquet.*save it as CSV \(comma"):
        _manifest(path)
    with pytest.raises(UnsupportedFileFormat, match=r"\.csv, \.parquet or \.pq"):
        _manifest(_written(tmp_path / "preds.dat", ROWS))
    # a headerless CSV whose columns are named may keep its suffix (UCI's adult.data)
    raw = _written(tmp_path / "adult.data", ROWS.split("\n", 1)[1])
    assert _registered(raw, columns=["y", "sex", "x"]).format == "csv"


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("y,pred,sex\n1,1,M\n0,1\n1,0,F,extra\n", "data row 2 has 2 fields, the header 3"),
        ("y,pred,sex\n1,1,M\n0,1,F\n1,0,F,extra\n0,0,M\n", "data row 3 has 4 fields"),
    ],
    ids=["short", "long"],
)
def test_a_ragged_csv_is_refused_without_salts_too(tmp_path: Path, rows: str, problem: str) -> None:
    """Regression: with --salts the record reader refused it; without, pandas filled the
    short row and dropped the long row's field, and the file was registered."""
    path = _written(tmp_path / "ragged.csv", rows)
    with pytest.raises(UnreadableFile) as caught:
        _registered(path)
    assert problem in caught.value.message
    assert caught.value.message.endswith("give every row one field per column")
    folder = tmp_path / "parts"
    _written(folder / "a.csv", "y,pred,sex\n1,1,M\n0,0,F\n")
    _written(folder / "b.csv", rows)
    with pytest.raises(UnreadableFile, match=problem):
        _registered(folder)


def test_parquet_files_of_two_schemas_are_refused(tmp_path: Path) -> None:
    """Regression: ``sex`` as text in one file and as integers in the other was registered
    (docs: "write them with one schema"); a run would audit ``"1"`` and ``1`` apart."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    frame = pd.DataFrame({"y": [1, 0], "sex": ["Male", "Female"], "x": [1.0, 2.0]})
    frame.to_parquet(folder / "a.parquet")
    frame.assign(sex=[1, 1]).to_parquet(folder / "b.parquet")
    with pytest.raises(UnreadableFile) as caught:
        _manifest(folder, salts_path=tmp_path / "m.salts")
    assert "column sex: a.parquet has string, b.parquet has int64" in caught.value.message
    assert caught.value.message.endswith(
        "its files give column sex different types: write them with one schema"
    )
    assert not (tmp_path / "m.salts").exists()
    # a pandas categorical is the same column stored with a dictionary: one schema
    frame.assign(sex=frame["sex"].astype("category")).to_parquet(folder / "b.parquet")
    assert _manifest(folder).features == ("x",)


def test_an_empty_sensitive_value_is_named_as_such_not_as_nan(tmp_path: Path) -> None:
    """An empty sensitive cell is a group of its own in a governed run (as on a federated
    node and in an external model's audit), so registration keeps it; a privileged group that
    does not occur lists it as empty values, not as ``nan``."""
    path = _written(tmp_path / "d.csv", "y,sex,x\n1,M,1\n0,F,2\n1,,3\n0,M,4\n1,F,5\n")
    _registered(path)
    with pytest.raises(UnknownReferenceGroupError) as caught:
        _registered(path, reference_group={"sex": "X"})
    assert str(caught.value) == (
        "The reference group sex=X does not occur: column 'sex' holds F, M and empty values."
    )


def test_well_formed_files_keep_their_manifest_and_records(tmp_path: Path) -> None:
    path = _written(tmp_path / "d.csv", ROWS)
    manifest = _registered(path)
    assert json.loads(manifest.canonical_json())["features"] == ["x"]
    assert next(manifest_records(manifest)) == b'{"sex":"M","x":"a","y":"1"}'
    salts = [bytes([i]) * 32 for i in range(4)]
    assert build_commitments(manifest_records(manifest), salts=salts).count == 4
