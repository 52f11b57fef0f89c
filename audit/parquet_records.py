"""The records of a Parquet file, as :mod:`audit.commitments` commits to them (#17).

A row becomes the canonical JSON of ``{column: text}``, exactly as a CSV row does, where
``text`` is Arrow's own cast of the typed value to a string (``pyarrow.compute.cast(column,
pa.string())``), so a record's owner can rebuild it from their values with pyarrow:

- integers (any width, signed or not): decimal digits, ``"-9223372036854775808"``;
- floats: the shortest digits that read back to the same float (double-conversion's
  shortest mode, as Arrow formats floats), plain for ``1e-6 <= |x| < 1e10`` and with an
  exponent otherwise: ``0.1`` → ``"0.1"``, ``1e-7`` → ``"1e-7"``, ``1e21`` → ``"1e+21"``,
  ``100.0`` → ``"100"``, ``-0.0`` → ``"-0"``, NaN → ``"nan"``, infinity → ``"inf"``; a
  32-bit float's shortest digits are those of the 32-bit value (``"0.33333334"``), a
  16-bit float's digits those of the double it equals;
- booleans: ``"true"``, ``"false"``;
- strings: as stored (UTF-8, unnormalised); a dictionary (pandas categorical) column: its
  values' text, so dictionary encoding does not change a record;
- dates: ``"2020-01-02"``; times and timestamps with the digits of the column's unit
  (``"2020-01-02 03:04:05.123456"`` for microseconds); a timestamp with a time zone is
  written in UTC with a ``Z`` (``"2020-01-02 03:04:05.123Z"``), so the tz database's
  version cannot change it;
- decimals: with the column's scale, ``"1.500"``;
- a null, of any type: ``None`` (JSON ``null``).

Columns of other types (binary, lists, structs, maps, durations, intervals) have no stable
text form and are refused (:class:`~audit.errors.UncommittableColumn`), naming the column.
pandas' stored index (``__index_level_N__``) is not a column. The file is read in batches
(``ParquetFile.iter_batches``), never whole.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from audit.commitments import Progress, encode_record
from audit.errors import (
    RENAME_REPEATED,
    REPEATED_FIELD,
    InputFileNotFound,
    UncommittableColumn,
    UnreadableFile,
)

#: Rows read from the file at a time.
BATCH_ROWS: Final = 65_536
_PANDAS_INDEX = "__index_level_"


def has_text_form(data_type: pa.DataType) -> bool:
    """Whether a value of ``data_type`` has a stable text form in a record.

    Examples
    --------
    >>> has_text_form(pa.float64()), has_text_form(pa.list_(pa.int64()))
    (True, False)
    """
    if pa.types.is_dictionary(data_type):
        return has_text_form(data_type.value_type)
    checks = (
        pa.types.is_integer,
        pa.types.is_floating,
        pa.types.is_boolean,
        pa.types.is_string,
        pa.types.is_large_string,
        pa.types.is_string_view,
        pa.types.is_date,
        pa.types.is_time,
        pa.types.is_timestamp,
        pa.types.is_decimal,
        pa.types.is_null,
    )
    return any(check(data_type) for check in checks)


def column_texts(column: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """The text of each value of ``column`` (None for a null), as a record holds it.

    Examples
    --------
    >>> column_texts(pa.array([0.1, 1e-7, None]))
    ['0.1', '1e-7', None]
    """
    data_type = column.type
    if pa.types.is_timestamp(data_type) and data_type.tz is not None:
        column = pc.cast(column, pa.timestamp(data_type.unit, tz="UTC"))
    texts: list[str | None] = pc.cast(column, pa.string()).to_pylist()
    return texts


def parquet_records(
    path: Path,
    *,
    partition: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
    every: int = 100_000,
) -> Iterator[bytes]:
    """The record bytes of each row of a Parquet file, streamed in batches.

    ``partition`` holds the Hive partition values of a file in a folder (``{"year": "2024"}``
    from ``year=2024/``): text columns of every record, unless the file has a column of that
    name. ``on_progress`` is called with the count every ``every`` rows and once at the end.

    Raises
    ------
    InputFileNotFound, UnreadableFile, UncommittableColumn

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "d.parquet"
    >>> pq.write_table(pa.table({"age": [41], "score": [0.1], "sex": ["F"]}), p)
    >>> list(parquet_records(p))
    [b'{"age":"41","score":"0.1","sex":"F"}']
    """
    if not path.is_file():
        raise InputFileNotFound(str(path))
    try:
        handle = pq.ParquetFile(path)
        names = _columns(path, handle.schema_arrow)
        extra = {k: v for k, v in (partition or {}).items() if k not in names}
        count = 0
        for batch in handle.iter_batches(batch_size=BATCH_ROWS, columns=names):
            texts = [column_texts(batch.column(i)) for i in range(len(names))]
            for values in zip(*texts, strict=True):
                row: dict[str, str | None] = dict(zip(names, values, strict=True))
                if extra:
                    row.update(extra)
                yield encode_record(row)
                count += 1
                if on_progress is not None and count % every == 0:
                    on_progress(count)
    except (OSError, pa.ArrowException) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise UnreadableFile(str(path), reason, kind="Parquet") from None
    if on_progress is not None:
        on_progress(count)


def _columns(path: Path, schema: pa.Schema) -> list[str]:
    names: list[str] = []
    for field in schema:
        if field.name.startswith(_PANDAS_INDEX):
            continue
        if field.name in names:
            raise UnreadableFile(
                str(path),
                REPEATED_FIELD.format(name=field.name),
                kind="Parquet",
                advice=RENAME_REPEATED,
            )
        if not has_text_form(field.type):
            raise UncommittableColumn(str(path), field.name, str(field.type))
        names.append(field.name)
    return names
