"""The record bytes of a Parquet row: each typed value's documented text, nulls as null,
streamed in batches; types without a stable text form refused naming the column."""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import struct
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audit.parquet_records as parquet_records_module
from audit.commitments import build_commitments, encode_record, read_records
from audit.errors import InputFileNotFound, UncommittableColumn, UnreadableFile
from audit.parquet_records import column_texts, has_text_form, parquet_records

#: A committed CSV's root with fixed salts, computed before Parquet records existed: CSV
#: record bytes and roots must never change.
CSV_TEXT = 'age,sex,note\r\n41,F,"a, b"\r\n35,M,\r\n41,F,"a, b"\r\n'
CSV_ROOT = "0x4cd40c525dd574402a9d0a6d477f855a4b45adac25dca99e985d0d4c3d0a1e34"


def _salts(count: int) -> list[bytes]:
    return [bytes([i % 255 + 1]) * 32 for i in range(count)]


def _write(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def _one_column(tmp_path: Path, values: pa.Array) -> list[str | None]:
    """The texts of ``values`` after a round trip through a Parquet file's records."""
    path = _write(tmp_path / "one.parquet", pa.table({"v": values}))
    return [json.loads(record)["v"] for record in parquet_records(path)]


def test_csv_records_and_roots_keep_their_bytes(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(CSV_TEXT, newline="")
    records = list(read_records(path))
    assert records[1] == b'{"age":"35","note":"","sex":"M"}'
    assert build_commitments(records, salts=_salts(3)).root == CSV_ROOT


@pytest.mark.parametrize(
    ("values", "texts"),
    [
        (pa.array([0.1, 1e-7, 1e21, -0.0, 100.0, 1e-6, 9999999999.0, 1e10]),
         ["0.1", "1e-7", "1e+21", "-0", "100", "0.000001", "9999999999", "1e+10"]),
        (pa.array([math.nan, math.inf, -math.inf, 1 / 3]),
         ["nan", "inf", "-inf", "0.3333333333333333"]),
        (pa.array([1 / 3, 0.1], pa.float32()), ["0.33333334", "0.1"]),
        (pa.array(np.array([0.1, 1.5], np.float16)), ["0.0999755859375", "1.5"]),
        (pa.array([2**63 - 1, -(2**63)], pa.int64()),
         ["9223372036854775807", "-9223372036854775808"]),
        (pa.array([2**64 - 1], pa.uint64()), ["18446744073709551615"]),
        (pa.array([-5], pa.int8()), ["-5"]),
        (pa.array([True, False]), ["true", "false"]),
        (pa.array(["é", "日本語", "e\u0301", ""]), ["é", "日本語", "e\u0301", ""]),
        (pa.array(["x"], pa.large_string()), ["x"]),
        (pa.array([dt.date(2020, 1, 2), dt.date(1, 1, 1)]), ["2020-01-02", "0001-01-01"]),
        (pa.array([dt.datetime(2020, 1, 2, 3, 4, 5, 123456)], pa.timestamp("us")),
         ["2020-01-02 03:04:05.123456"]),
        (pa.array([dt.datetime(2020, 1, 2, 3, 4, 5)], pa.timestamp("ms")),
         ["2020-01-02 03:04:05.000"]),
        # Parquet has no seconds unit: a file stores them as milliseconds.
        (pa.array([dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)], pa.timestamp("s", "UTC")),
         ["2020-01-02 03:04:05.000Z"]),
        (pa.array([dt.time(1, 2, 3)], pa.time64("us")), ["01:02:03.000000"]),
        (pa.array([Decimal("1.50"), Decimal("-0.001")], pa.decimal128(10, 3)),
         ["1.500", "-0.001"]),
        (pa.array(["b", "a", "b"]).dictionary_encode(), ["b", "a", "b"]),
        (pa.array([7, 7]).dictionary_encode(), ["7", "7"]),
        (pa.array([None, 1.5]), [None, "1.5"]),
        (pa.array([None, None], pa.string()), [None, None]),
        (pa.nulls(1), [None]),
    ],
)  # fmt: skip
def test_each_type_is_written_as_its_documented_text(
    tmp_path: Path, values: pa.Array, texts: list[str | None]
) -> None:
    assert _one_column(tmp_path, values) == texts


def test_a_zoned_timestamp_is_written_in_utc_whatever_its_zone(tmp_path: Path) -> None:
    instant = dt.datetime(2020, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    paris = pa.array([instant], pa.timestamp("ms", "Europe/Paris"))
    kolkata = pa.array([instant], pa.timestamp("ms", "+05:30"))
    assert _one_column(tmp_path, paris) == ["2020-01-02 03:04:05.000Z"]
    assert _one_column(tmp_path, kolkata) == ["2020-01-02 03:04:05.000Z"]


def test_float_texts_are_the_shortest_that_read_back_to_the_same_float() -> None:
    rng = random.Random(17)
    values = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]]
    values += [
        struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)
    ]
    values += [rng.uniform(-1e6, 1e6) for _ in range(20_000)]
    values = [v for v in values if not math.isnan(v)]
    texts = column_texts(pa.array(values))
    for value, text in zip(values, texts, strict=True):
        assert text is not None
        assert float(text) == value
        assert math.copysign(1, float(text)) == math.copysign(1, value)
        # shortest: as many significant digits as Python's repr (also shortest round-trip)
        assert _digits(text) == _digits(repr(value)), (value, text)


def _digits(text: str) -> str:
    mantissa = text.lower().split("e")[0].lstrip("-").replace(".", "")
    return mantissa.strip("0") or "0"


def test_a_frame_commits_like_its_csv_for_text_ints_and_plain_fractional_floats(
    tmp_path: Path,
) -> None:
    """Strings, ints and non-integral floats in plain notation (1e-6 <= |x| < 1e10) are
    written alike by pandas' CSV writer and Arrow: the same records, so the same root with
    the same salts (docs/commitments.md)."""
    rng = np.random.default_rng(17)
    rows = 500
    frame = pd.DataFrame({
        "group": rng.choice(["A", "B", "ü"], rows),
        "age": rng.integers(-(2**40), 2**40, rows),
        "score": rng.integers(1, 10**6, rows) / 1024 + 0.5 ** 20,
        "approved": rng.integers(0, 2, rows),
    })  # fmt: skip
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    from_csv, from_parquet = list(read_records(csv)), list(parquet_records(parquet))
    assert from_parquet == from_csv
    salts = _salts(rows)
    assert build_commitments(from_parquet, salts=salts).root == (
        build_commitments(from_csv, salts=salts).root
    )


def test_where_the_csv_text_differs_the_records_differ(tmp_path: Path) -> None:
    """Documented: a CSV holds the text its writer chose; Parquet's text is Arrow's."""
    frame = pd.DataFrame({"x": [1e-7], "n": [37212.0], "ok": [True], "s": [None]})
    csv, parquet = tmp_path / "d.csv", tmp_path / "d.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    assert next(read_records(csv)) == b'{"n":"37212.0","ok":"True","s":"","x":"1e-07"}'
    assert next(parquet_records(parquet)) == b'{"n":"37212","ok":"true","s":null,"x":"1e-7"}'


def test_a_categorical_column_commits_as_its_values(tmp_path: Path) -> None:
    plain = pd.DataFrame({"g": ["A", "B", None], "n": pd.array([1, None, 3], "Int64")})
    categorical = plain.assign(g=plain["g"].astype("category"))
    plain.to_parquet(tmp_path / "plain.parquet")
    categorical.to_parquet(tmp_path / "cat.parquet")
    records = list(parquet_records(tmp_path / "cat.parquet"))
    assert records == list(parquet_records(tmp_path / "plain.parquet"))
    assert records == [
        b'{"g":"A","n":"1"}',
        b'{"g":"B","n":null}',
        b'{"g":null,"n":"3"}',
    ]
    assert records[1] == encode_record({"g": "B", "n": None})


def test_pandas_stored_index_is_not_a_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2]}, index=[10, 20])
    frame.to_parquet(tmp_path / "d.parquet")
    assert pq.read_schema(tmp_path / "d.parquet").names == ["a", "__index_level_0__"]
    assert list(parquet_records(tmp_path / "d.parquet")) == [b'{"a":"1"}', b'{"a":"2"}']


def test_a_partition_value_is_a_text_column_unless_the_file_has_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"a": [1], "year": [2023]}))
    records = list(parquet_records(path, partition={"year": "2024", "region": "north"}))
    assert records == [b'{"a":"1","region":"north","year":"2023"}']


@pytest.mark.parametrize(
    ("values", "type_name"),
    [
        (pa.array([b"\x00"]), "binary"),
        (pa.array([[1, 2]]), "list<element: int64>"),
        (pa.array([{"a": 1}]), "struct<a: int64>"),
        (pa.array([dt.timedelta(seconds=3)]), "duration[us]"),
        (pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())), "map<string, int64"),
    ],
)
def test_a_column_without_a_stable_text_form_is_refused_by_name(
    tmp_path: Path, values: pa.Array, type_name: str
) -> None:
    path = _write(tmp_path / "d.parquet", pa.table({"ok": [1], "blob": values}))
    assert not has_text_form(values.type)
    with pytest.raises(UncommittableColumn) as raised:
        next(parquet_records(path))
    message = str(raised.value)
    assert "'blob'" in message
    assert type_name in message
    assert str(path) in message
    assert "\n" not in message
    assert raised.value.code == "uncommittable_column"


def test_rows_stream_in_batches_with_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_records_module, "BATCH_ROWS", 4)
    values = np.arange(10)
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"i": values}), path, row_group_size=3)
    seen: list[int] = []
    records = list(parquet_records(path, on_progress=seen.append, every=4))
    assert records == [encode_record({"i": str(i)}) for i in range(10)]
    assert seen == [4, 8, 10]


def test_a_changed_value_changes_the_root(tmp_path: Path) -> None:
    frame = pd.DataFrame({"age": [41, 35, 52], "score": [0.5, 0.25, 0.125]})
    frame.to_parquet(tmp_path / "a.parquet")
    frame.assign(score=[0.5, 0.25, 0.1250001]).to_parquet(tmp_path / "b.parquet")
    salts = _salts(3)
    roots = [
        build_commitments(parquet_records(tmp_path / name), salts=salts).root
        for name in ("a.parquet", "b.parquet")
    ]
    assert roots[0] != roots[1]


def test_a_missing_or_broken_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFound):
        next(parquet_records(tmp_path / "absent.parquet"))
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(UnreadableFile, match="as Parquet") as raised:
        next(parquet_records(broken))
    assert "\n" not in str(raised.value)
