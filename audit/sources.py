"""Predictions where they live: CSV, TSV and Parquet files, folders and globs, read lazily.

A *source* is what a user names on the command line: one file, a folder (every data file under
it, skipping names that start with ``.`` or ``_`` such as Spark's ``_SUCCESS``), or a glob
(``data/*.parquet``, ``data/year=*/part-*.parquet``).
:func:`audit.source_files.resolve_source` turns it into a sorted list of files of one format;
nothing is read yet. Path segments ``key=value`` between the
source's root and a Parquet file are Hive partitions: ``key`` becomes a column whose values
are the text in the path (on every engine, so results do not depend on the engine).

:func:`open_source` opens the files as a lazy frame: Polars (``scan_parquet``/``scan_csv``,
collected with its streaming engine) on this machine, or ``dask.dataframe`` on a Dask cluster
(an address, or ``"local"`` for a :class:`distributed.LocalCluster` closed afterwards). Only
small tables come back: the distinct combinations of the audited columns with their row
counts (:func:`count_cells`, which is :func:`bias_checks.frame_cells`), so the data may be
far larger than memory.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl

from audit.errors import (
    NOT_UTF8,
    ONE_SCHEMA,
    RENAME_REPEATED,
    REPEATED_COLUMN,
    SAVE_AS_UTF8,
    TYPE_MISMATCH,
    DaskUnreachable,
    InvalidDaskAddress,
    MissingColumn,
    UnreadableFile,
)
from audit.source_files import (
    DataFormat,
    DataSource,
)
from bias_checks import BiasChecksError, frame_cells

KIND_NAMES: Mapping[DataFormat, str] = {"csv": "CSV", "tsv": "TSV", "parquet": "Parquet"}
LOCAL_DASK = "local"
#: Seconds a Dask scheduler has to answer before :class:`DaskUnreachable`.
DEFAULT_DASK_TIMEOUT = 5.0
#: The texts pandas' ``read_csv`` (and so Dask's) reads as missing; Polars is given the same
#: list, so a label written ``NA`` is an empty value on every engine, as it always was.
CSV_NULL_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
PARQUET_MAGIC = b"PAR1"
#: First bytes that say a file named .csv/.tsv is not text, with what to do about it.
_NOT_TEXT: tuple[tuple[bytes, str, str], ...] = (
    (PARQUET_MAGIC, "it is a Parquet file", "name it .parquet"),
    (b"\xff\xfe", "it is UTF-16 text", "save it as UTF-8"),
    (b"\xfe\xff", "it is UTF-16 text", "save it as UTF-8"),
    (b"\x1f\x8b", "it is gzip-compressed", "decompress it first"),
    (b"PK\x03\x04", "it is a ZIP archive (an Excel workbook?)", "export the sheet as CSV"),
)
_SNIFF_BYTES = 4096
_DASK_NARWHALS_WARNING = "Dask support is moving out of Narwhals"
# Read errors of the engines: Polars' own, Arrow's (ValueError/OSError subclasses) and the
# parse errors pandas raises inside Dask's CSV reader.
_READ_ERRORS = (pl.exceptions.PolarsError, OSError, ValueError)


#: How many rows Polars reads to guess a CSV column's type (see :func:`_scan`).
_INFER_ROWS = 10_000


def _scan(source: DataSource) -> pl.LazyFrame:
    files = [str(p) for p in source.files]
    if source.format == "parquet":
        if source.hive:
            return pl.scan_parquet(
                files,
                hive_partitioning=True,
                hive_schema=dict.fromkeys(source.hive, pl.String),
                glob=False,
            )
        return pl.scan_parquet(files, hive_partitioning=False, glob=False)
    separator = "\t" if source.format == "tsv" else ","
    return pl.scan_csv(
        files,
        separator=separator,
        infer_schema_length=_INFER_ROWS,
        null_values=list(CSV_NULL_VALUES),
        glob=False,  # the files are resolved already; "preds[1].csv" is a name, not a glob
    )


def _reason(exc: Exception) -> str:
    """The reader's own line: the first of the message, or the one after Dask's
    ``Original Message:`` (Dask wraps pandas' parse errors in a line of its own)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Original Message:"):
            return line.removeprefix("Original Message:").strip()[:200]
    return (lines or [type(exc).__name__])[0][:200]


#: What to do about the reader's complaints that are not "this is not a CSV/Parquet file":
#: (pattern of the reader's line, advice with the pattern's groups).
_ADVICE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"could not parse `(.*?)` as dtype `(\w+)` at column '(.*?)'"),
        f"column '{{2}}' reads as {{1}} in its first {_INFER_ROWS:,} rows but holds `{{0}}` "
        "further down: correct that value or make the column one type",
    ),
    (
        re.compile(r"Mismatched dtypes found"),
        "a column holds values of another type than in the first block Dask read: correct"
        " them or make the column one type",
    ),
    (re.compile(r"invalid utf-8"), SAVE_AS_UTF8),
    (
        # Polars infers a 128-bit integer column, and its message names an internal type.
        re.compile(r"_pli128"),
        "a whole number in it does not fit in 64 bits (beyond 9223372036854775807): correct "
        "that value, or write the column as text",
    ),
    (
        re.compile(r"data type mismatch for column ([^\s:]+)"),
        ONE_SCHEMA.replace("{column}", "{0}"),
    ),
)


def _advice(reason: str) -> str | None:
    for pattern, advice in _ADVICE:
        found = pattern.search(reason)
        if found:
            return advice.format(*found.groups())
    return None


def _unreadable(source: DataSource, exc: Exception) -> UnreadableFile:
    where = source.files[0] if source.single else source.spec
    return unreadable_file(where, exc, source.format)


def unreadable_file(path: Path | str, exc: Exception, kind: DataFormat) -> UnreadableFile:
    """The one-line refusal of a file a reader could not parse (pandas', Arrow's or Polars'
    exception ``exc``): the reader's own line, with advice where it says what is wrong.

    Examples
    --------
    >>> unreadable_file("p.csv", UnicodeDecodeError("utf-8", b"\\xe9", 0, 1, "bad"), "csv").message
    'cannot read p.csv as CSV (invalid utf-8 sequence): save it as UTF-8 text'
    """
    reason = NOT_UTF8 if isinstance(exc, UnicodeDecodeError) else _reason(exc)
    return UnreadableFile(str(path), reason, kind=KIND_NAMES[kind], advice=_advice(reason))


def _what_it_is(head: bytes, kind: DataFormat) -> tuple[str, str] | None:
    """What the first bytes of a file say it is, when that is not ``kind``: (what, advice)."""
    if kind == "parquet":
        if head.startswith(PARQUET_MAGIC) or not head:
            return None  # the reader says what is wrong with a damaged Parquet file
        if head.startswith(b"\x1f\x8b"):
            return "it is gzip-compressed", "decompress it, or write the data as Parquet"
        if head.isascii() and b"\0" not in head:
            return "it is text, not Parquet", "if it is CSV, name it .csv"
        return "it does not start with the Parquet magic bytes PAR1", "is it a Parquet file?"
    for magic, what, advice in _NOT_TEXT:
        if head.startswith(magic):
            return what, advice
    if b"\0" in head.split(b"\n", 1)[0]:
        return "its first line holds NUL bytes, so it is not text", "export it as UTF-8 CSV"
    return None


def check_contents(source: DataSource) -> None:
    """Refuse a file whose first bytes say it is not of its suffix's format (Parquet bytes
    named ``.csv``, UTF-16 text, a gzip or ZIP archive), with what to do; the readers'
    messages (or column names of binary garbage) would not say it.

    Raises
    ------
    UnreadableFile
        The first such file.
    """
    for path in source.files:
        try:
            with path.open("rb") as stream:
                head = stream.read(_SNIFF_BYTES)
        except OSError as exc:
            raise UnreadableFile(
                str(path), exc.strerror or type(exc).__name__, kind=KIND_NAMES[source.format]
            ) from None
        found = _what_it_is(head, source.format)
        if found is not None:
            what, advice = found
            raise UnreadableFile(str(path), what, kind=KIND_NAMES[source.format], advice=advice)


def schema_columns(source: DataSource) -> list[str]:
    """The column names, from Parquet footers or the CSV header alone (no data is read);
    first :func:`check_contents`."""
    check_contents(source)
    try:
        names = list(_scan(source).collect_schema().names())
    except _READ_ERRORS as exc:
        raise _unreadable(source, exc) from None
    for name in names:  # Polars renames a repeated header name; the first would be audited
        base = _DUPLICATED.fullmatch(name)
        if base is not None and base[1] in names:
            raise UnreadableFile(
                str(source.files[0] if source.single else source.spec),
                REPEATED_COLUMN.format(name=base[1]),
                kind=KIND_NAMES[source.format],
                advice=RENAME_REPEATED,
            )
    return names


def _comparable(data_type: Any) -> Any:
    """A Parquet column's type as one schema compares it: dictionary encoding (a pandas
    categorical) and the large and view string layouts are storage, not type."""
    import pyarrow as pa

    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    if pa.types.is_large_string(data_type) or pa.types.is_string_view(data_type):
        return pa.string()
    if pa.types.is_large_binary(data_type) or pa.types.is_binary_view(data_type):
        return pa.binary()
    return data_type


def check_parquet_schemas(source: DataSource, columns: Collection[str] | None = None) -> None:
    """Refuse Parquet files of one source that give a column two types, from their footers
    alone: ``columns`` only, or every column two files have. Polars refuses such files when
    it reads the column; Dask and pandas would read each file with its own type, so one
    group would be counted twice (``"1"`` and ``1``).

    Raises
    ------
    UnreadableFile
        Naming the column, two files and their types ("write them with one schema").
    """
    if source.format != "parquet" or len(source.files) < 2:
        return
    import pyarrow.parquet as pq

    seen: dict[str, tuple[str, Any]] = {}
    for path, relative in zip(source.files, source.relative_paths(), strict=True):
        try:
            schema = pq.read_schema(path)
        except (OSError, ValueError) as exc:
            raise unreadable_file(path, exc, "parquet") from None
        for field in schema:
            if columns is not None and field.name not in columns:
                continue
            data_type = _comparable(field.type)
            first = seen.setdefault(field.name, (relative, data_type))
            if first[1] != data_type:
                raise UnreadableFile(
                    source.spec,
                    TYPE_MISMATCH.format(
                        column=field.name,
                        first=first[0],
                        one=first[1],
                        other=relative,
                        two=data_type,
                    ),
                    kind=KIND_NAMES["parquet"],
                    advice=ONE_SCHEMA.format(column=field.name),
                )


#: How Polars names the second and later columns of a repeated CSV header name.
_DUPLICATED = re.compile(r"(.+)_duplicated_[0-9]+")


def require_columns(source: DataSource, wanted: Mapping[str, str]) -> list[str]:
    """Check that every column in ``wanted`` (name -> the option that named it) exists.

    Raises
    ------
    MissingColumn
        The first column that is not in the schema, with the columns that are.
    UnreadableFile
        Parquet files that give one of them two types (:func:`check_parquet_schemas`).
    """
    available = schema_columns(source)
    for column, option in wanted.items():
        if column not in available:
            shown = [name if name.isprintable() else repr(name) for name in available]
            raise MissingColumn(column, option, shown)
    check_parquet_schemas(source, wanted)  # before Dask reads each file with its own types
    return available


@dataclass(frozen=True)
class OpenedSource:
    """A source opened as a lazy frame, and where it is computed."""

    source: DataSource
    frame: nw.LazyFrame[Any]
    engine: str
    partitions: int | None = None

    def describe(self) -> str:
        """``Polars (streaming), 3 files`` or ``Dask at tcp://...: 2 workers, 40 partitions``."""
        files = f"{len(self.source.files)} file{'s' * (len(self.source.files) != 1)}"
        if self.partitions is None:
            return f"{self.engine}, {files}"
        return f"{self.engine}, {files} in {self.partitions} partitions"


def _dask_frame(source: DataSource) -> Any:
    import dask.dataframe as dd

    files = [str(p) for p in source.files]
    if source.format != "parquet":
        return dd.read_csv(files, sep="\t" if source.format == "tsv" else ",")
    if not source.hive:
        return dd.read_parquet(files)
    frame = dd.read_parquet(files, dataset={"partitioning": "hive"})
    return frame.astype(dict.fromkeys(source.hive, "string"))


@contextmanager
def _dask_client(address: str, timeout: float) -> Iterator[tuple[str, int]]:
    from distributed import Client, LocalCluster

    if address == LOCAL_DASK:
        with (
            # The scheduler's HTTP server starts even without a dashboard, on 8787 unless told
            # otherwise: ":0" takes a free port, so two local clusters never collide.
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=2,
                threads_per_worker=1,
                dashboard_address=":0",
                # A task that fails (a bad row) comes back as the exception, which is one
                # line; the workers' own "Compute Failed" log would add twenty more.
                silence_logs=logging.CRITICAL,
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield "Dask LocalCluster", len(client.scheduler_info()["workers"])
        return
    if not address.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://", "ucx://")):
        raise InvalidDaskAddress(address)
    try:
        client = Client(address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError):
        raise DaskUnreachable(address, timeout) from None
    with client:
        yield f"Dask at {address}", len(client.scheduler_info()["workers"])


@contextmanager
def open_source(
    source: DataSource, *, dask: str | None = None, timeout: float = DEFAULT_DASK_TIMEOUT
) -> Iterator[OpenedSource]:
    """Open ``source`` lazily: with Polars, or on a Dask cluster while the context is open.

    Parameters
    ----------
    source : DataSource
    dask : str, optional
        A scheduler address (``tcp://host:8786``) or ``"local"`` (a LocalCluster of two
        workers, closed on exit); None computes with Polars' streaming engine here.
    timeout : float
        Seconds the scheduler has to answer.

    Raises
    ------
    DaskUnreachable
        No scheduler answered at ``dask`` within ``timeout``.
    """
    if dask is None:
        yield OpenedSource(source, nw.from_native(_scan(source)), "Polars (streaming)")
        return
    with _dask_client(dask, timeout) as (where, workers), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DASK_NARWHALS_WARNING, category=FutureWarning)
        try:  # Dask reads the first CSV block here, to infer the columns' types
            native = _dask_frame(source)
        except _READ_ERRORS as exc:
            raise _unreadable(source, exc) from None
        engine = f"{where} ({workers} worker{'s' * (workers != 1)})"
        yield OpenedSource(source, nw.from_native(native), engine, native.npartitions)


def _collect(opened: OpenedSource, frame: nw.LazyFrame[Any]) -> pd.DataFrame:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=_DASK_NARWHALS_WARNING, category=FutureWarning
            )
            if opened.partitions is None:
                return frame.collect(engine="streaming").to_pandas()
            return frame.collect().to_pandas()
    except _READ_ERRORS as exc:
        raise _unreadable(opened.source, exc) from None


def count_cells(
    opened: OpenedSource,
    columns: Sequence[str],
    *,
    score: str | None = None,
    cutoff: float | None = None,
    score_sums: str | None = None,
) -> pd.DataFrame:
    """:func:`bias_checks.frame_cells` of the opened source: the distinct combinations of
    ``columns`` (and of ``score >= cutoff``, in the column ``score``) with their row count
    ``n``, computed where the data is; a file that cannot be parsed is one line.

    A null value is its own combination (NaN or None in the result). ``score_sums`` adds the
    per-cell score statistics of that column (see :func:`bias_checks.frame_cells`).
    """
    try:
        return frame_cells(
            opened.frame, columns=columns, score=score, cutoff=cutoff, score_sums=score_sums
        )
    except BiasChecksError:
        raise
    except _READ_ERRORS as exc:
        raise _unreadable(opened.source, exc) from None


def any_true(opened: OpenedSource, expression: nw.Expr) -> bool:
    """Whether ``expression`` (a boolean column expression) holds on some row."""
    result = _collect(opened, opened.frame.select(expression.any().alias("any")))
    return bool(result["any"].iloc[0])


def first_values(opened: OpenedSource, column: str, count: int) -> pd.Series[Any]:
    """Up to ``count`` distinct values of ``column`` among its first 10,000 rows (for a
    message)."""
    head = _collect(opened, opened.frame.select(column).head(10_000))
    return head[column].drop_duplicates().head(count)


def first_null_row(opened: OpenedSource, column: str) -> int:
    """The 1-based row (in file order) of ``column``'s first empty value; 0 if none.

    In a float column NaN and infinities count as empty too: a score of ``inf`` is no score
    (:func:`bias_checks.frame_cells` makes it null), so the message must point at its row.
    """
    is_float = opened.frame.collect_schema()[column].is_float()
    if opened.partitions is None:
        native = opened.frame.to_native()
        value = pl.col(column)
        empty = (value.is_null() | ~value.is_finite()) if is_float else value.is_null()
        found = (
            native.with_row_index("row")
            .filter(empty)
            .select(pl.col("row").min())
            .collect(engine="streaming")
        )
        value = found.item()
        return 0 if value is None else int(value) + 1
    series = opened.frame.to_native()[column]

    def _first(part: pd.Series[Any]) -> int:
        empty = part.isna().to_numpy()
        if is_float:
            empty = empty | np.isinf(part.to_numpy(dtype=np.float64, na_value=np.nan))
        return int(empty.argmax()) if empty.any() else -1

    lengths = series.map_partitions(len).compute().tolist()
    firsts = series.map_partitions(_first).compute()
    offset: int = 0
    for length, first in zip(lengths, firsts.tolist(), strict=True):
        if first >= 0:
            return int(offset + first) + 1
        offset += int(length)
    return 0
