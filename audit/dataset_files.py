"""The data of a dataset manifest that names a folder or a glob of files, not one file.

A manifest's ``uri`` names one file (``file:///data/loans.csv``, as it always could), a
folder (``file:///data/loans/``: the URI ends in ``/``) or a glob
(``file:///data/loans/part-*.parquet``: its wildcards ``*``, ``?`` and ``[``, ``]`` are
written as they are; every other character is percent-encoded as in a file's URI, so the
URI of one file never holds a wildcard). A folder or glob names the files
:func:`audit.sources.resolve_source` finds for ``fairgov audit predictions``: sorted by
their path below the root (the folder, or the glob's part before its first wildcard),
names starting with ``.`` or ``_`` skipped, all of one format. Their content hash is
:meth:`audit.sources.DataSource.content_hash`: sha256 of the canonical JSON list of
``[path below the root, file sha256]`` pairs, so adding, removing, renaming or changing a
file changes it. Path segments ``key=value`` of Parquet files are Hive partitions: ``key``
is a column whose values are the text in the path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import quote, unquote, urlparse

import pandas as pd

from audit.commitments import Progress, csv_header, read_records
from audit.errors import (
    RENAME_REPEATED,
    REPEATED_FIELD,
    DatasetFileMissing,
    InputFileNotFound,
    InvalidManifest,
    UnreadableFile,
    UnsupportedFileFormat,
)
from audit.parquet_records import parquet_records
from audit.source_files import SUFFIXES, DataSource, files_hash, find_files, resolve_source
from audit.sources import check_contents, check_parquet_schemas, unreadable_file
from core.types import Hash32

FileFormat = Literal["csv", "parquet"]
WILDCARDS = "*?[]"
FILE_SCHEME = "file://"
NOT_CSV_OR_PARQUET = (
    "the files of a dataset are CSV or Parquet, and {spec} holds {kind}: save it as CSV "
    "(comma-separated) or Parquet"
)
DATASET_SUFFIX = (
    "a dataset is a .csv, .parquet or .pq file, or a folder or glob of them (a CSV file "
    "without a header may have another suffix, its columns named with --columns)"
)
COLUMNS_NOT_IN = "columns {absent} are not in {where}"
_HIVE_SEGMENT = re.compile(r"^([^=/]+)=([^/]*)$")


def several_files(uri: str) -> str | None:
    """The local folder or glob that a manifest's ``uri`` names; None when it names one file
    (or is not local: :meth:`audit.manifest.DatasetManifest.local_path` refuses that).

    Examples
    --------
    >>> several_files("file:///data/loans/part-*.parquet")
    '/data/loans/part-*.parquet'
    >>> several_files("file:///data/loans.csv") is None
    True
    """
    if uri.startswith(FILE_SCHEME):
        raw = uri.removeprefix(FILE_SCHEME)
        text = unquote(raw)
        several = any(c in raw for c in WILDCARDS) or raw.endswith("/")
    elif urlparse(uri).scheme == "":
        text = uri
        several = uri.endswith("/") or (
            any(c in uri for c in WILDCARDS) and not Path(uri).is_file()
        )
    else:
        return None
    return text if several or Path(text).is_dir() else None


def files_uri(path: Path) -> str:
    """The URI of the absolute folder or glob ``path``: a folder's ends in ``/``, a glob's
    wildcards are written as they are.

    Examples
    --------
    >>> files_uri(Path("/data/loans/part-*.parquet"))
    'file:///data/loans/part-*.parquet'
    """
    text = path.as_posix()
    if not any(c in text for c in WILDCARDS):
        return path.as_uri() + "/"
    return FILE_SCHEME + quote(text, safe="/" + WILDCARDS)


def files_content_hash(spec: str, *, name: str) -> Hash32:
    """The content hash of the files the folder or glob ``spec`` holds now, whatever their
    format (a file of another format added after the vote changes the hash too).

    Raises
    ------
    DatasetFileMissing
        The folder is gone, or it (or the glob) holds no data file.
    """
    try:
        root, files = find_files(spec)
        if not files:
            raise DatasetFileMissing(name, spec)
        return files_hash(root, files)
    except (InputFileNotFound, OSError):
        raise DatasetFileMissing(name, spec) from None


def open_files(spec: str, *, name: str) -> DataSource:
    """:func:`audit.sources.resolve_source` of a manifest's folder or glob, with a folder that
    is gone or a glob that matches nothing reported as the dataset's missing data.

    Raises
    ------
    DatasetFileMissing, UnsupportedFileFormat
    """
    try:
        return resolve_source(spec)
    except InputFileNotFound:  # NoDataFiles too: the data the manifest names is gone
        raise DatasetFileMissing(name, spec) from None


def parquet_columns(path: Path) -> list[str]:
    """The columns of a Parquet file, from its footer alone (pandas' stored index left out).

    Raises
    ------
    OSError
        The file cannot be opened.
    UnreadableFile
        It is not a Parquet file (or a truncated one), or it names a column twice.
    """
    import pyarrow.parquet as pq

    try:
        names = [str(c) for c in pq.read_schema(path).names]
    except ValueError as exc:  # Arrow's parse errors (ArrowInvalid) are ValueErrors
        raise unreadable_file(path, exc, "parquet") from None
    columns = [c for c in names if not c.startswith("__index_level_")]
    repeated = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
    if repeated is not None:
        reason = REPEATED_FIELD.format(name=repeated)
        raise UnreadableFile(str(path), reason, kind="Parquet", advice=RENAME_REPEATED)
    return columns


def csv_columns(path: Path) -> list[str]:
    """The columns of a CSV file's header as pandas names them (spaces before a name
    dropped), refused when it names one twice: pandas would rename the second ``x.1``, a
    column the file does not have, and a record would keep one of the two values.

    Raises
    ------
    OSError
        The file cannot be opened.
    InvalidManifest
        The file is empty.
    UnreadableFile
        A column named twice, or a header pandas cannot parse (bytes that are not UTF-8).
    """
    csv_header(path)
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, skipinitialspace=True).columns]
    except pd.errors.EmptyDataError:
        # Regression (review, session 22): a 0-byte file was a pandas traceback.
        raise InvalidManifest(f"{path} is empty: it has no header row") from None
    except ValueError as exc:  # pandas' parse errors and UnicodeDecodeError are ValueErrors
        raise unreadable_file(path, exc, "csv") from None


def file_columns(path: Path, fmt: FileFormat) -> list[str]:
    """The columns of one data file: :func:`parquet_columns` or :func:`csv_columns`."""
    return parquet_columns(path) if fmt == "parquet" else csv_columns(path)


def check_file(path: Path, *, headerless: bool = False) -> FileFormat:
    """The format of one data file named by its suffix, checked against its first bytes
    (:func:`audit.sources.check_contents`: Parquet bytes named ``.csv``, UTF-16 text, a gzip
    or ZIP archive, text named ``.parquet``). A ``headerless`` file (its columns named by the
    manifest, as UCI's ``adult.data``) is CSV whatever its suffix.

    Raises
    ------
    UnsupportedFileFormat
        Another suffix than ``.csv``, ``.parquet`` or ``.pq`` on a file with a header.
    InvalidManifest
        A ``.tsv`` file: a manifest reads CSV or Parquet.
    UnreadableFile
        The file is not of its suffix's format.
    """
    kind = SUFFIXES.get(path.suffix.lower(), "csv" if headerless else None)
    if kind is None:
        raise UnsupportedFileFormat(str(path), DATASET_SUFFIX)
    if kind == "tsv":
        raise InvalidManifest(NOT_CSV_OR_PARQUET.format(spec=path, kind="TSV"))
    check_contents(DataSource(str(path), path.parent, (path,), kind, single=True))
    return kind


@dataclass(frozen=True)
class FilesDescription:
    """What a manifest records of a folder or glob: its URI, format, hash and columns."""

    uri: str
    format: FileFormat
    sha256: Hash32
    columns: list[str]


def describe_files(path: Path, *, columns: Sequence[str] | None = None) -> FilesDescription | None:
    """The URI, format, content hash and columns of the absolute folder or glob ``path``;
    None when ``path`` is a file or does not exist (one file's manifest is built as always).

    The columns are those every file has, in the first file's order (``columns``, for CSV
    files without a header), then the Hive partition keys of Parquet files.

    Raises
    ------
    NoDataFiles, UnsupportedFileFormat, InvalidManifest
    UnreadableFile
        A file not of its suffix's format, a header naming a column twice, or Parquet files
        that give a column two types.

    Examples
    --------
    >>> describe_files(Path("/data/loans")).uri  # doctest: +SKIP
    'file:///data/loans/'
    """
    text = path.as_posix()
    if not path.is_dir() and (path.is_file() or not any(c in text for c in WILDCARDS)):
        return None
    source = resolve_source(text)
    if source.format == "tsv":
        raise InvalidManifest(NOT_CSV_OR_PARQUET.format(spec=text, kind="TSV"))
    fmt: FileFormat = source.format
    check_contents(source)
    check_parquet_schemas(source)
    if columns:
        found = list(columns)
    else:
        headers = [_described_columns(p, fmt) for p in source.files]
        found = [c for c in headers[0] if all(c in h for h in headers[1:])]
    found += [key for key in source.hive if key not in found]
    return FilesDescription(files_uri(path), fmt, source.content_hash(), found)


def _described_columns(path: Path, fmt: FileFormat) -> list[str]:
    try:
        return file_columns(path, fmt)
    except OSError as exc:
        raise unreadable_file(path, exc, fmt) from None


def _hive_values(relative: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in PurePosixPath(relative).parts[:-1]:
        match = _HIVE_SEGMENT.match(part)
        if match:
            values[match.group(1)] = match.group(2)
    return values


def _read_one(
    path: Path, relative: str, fmt: FileFormat, wanted: list[str], columns: Sequence[str] | None
) -> pd.DataFrame:
    hive = _hive_values(relative) if fmt == "parquet" else {}
    if fmt == "parquet":
        present = parquet_columns(path)
        frame = pd.read_parquet(path, columns=[c for c in wanted if c in present])
    elif columns:
        frame = pd.read_csv(path, header=None, names=list(columns), skipinitialspace=True)
    else:
        csv_header(path)  # pandas would rename a repeated column "x.1"
        frame = pd.read_csv(path, skipinitialspace=True)
    for key, value in hive.items():
        if key in wanted and key not in frame.columns:
            frame[key] = value
    absent = [c for c in wanted if c not in frame.columns]
    if absent:
        raise InvalidManifest(COLUMNS_NOT_IN.format(absent=absent, where=relative))
    return frame[wanted]


def read_files(
    source: DataSource,
    wanted: Sequence[str],
    *,
    columns: Sequence[str] | None = None,
    name: str,
) -> pd.DataFrame:
    """The ``wanted`` columns of every file of ``source``, concatenated in its sorted file
    order (so training on it is deterministic), each file read as one file's manifest reads
    it (the same dtypes); a Hive partition key is a column of strings.

    Raises
    ------
    DatasetFileMissing, InvalidManifest, UnreadableFile

    Examples
    --------
    >>> source = resolve_source("/data/loans/")  # doctest: +SKIP
    >>> read_files(source, ["y", "sex"], name="loans").columns.tolist()  # doctest: +SKIP
    ['y', 'sex']
    """
    if source.format == "tsv":
        raise InvalidManifest(NOT_CSV_OR_PARQUET.format(spec=source.spec, kind="TSV"))
    fmt: FileFormat = source.format
    wanted = list(wanted)
    frames = []
    for path, relative in zip(source.files, source.relative_paths(), strict=True):
        try:
            frames.append(_read_one(path, relative, fmt, wanted, columns))
        except OSError:
            raise DatasetFileMissing(name, str(path)) from None
        except ValueError as exc:  # pandas' and Arrow's parse errors, UnicodeDecodeError
            raise unreadable_file(path, exc, fmt) from None
    return pd.concat(frames, ignore_index=True)


def files_records(
    source: DataSource,
    *,
    columns: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    every: int = 100_000,
) -> Iterator[bytes]:
    """The record bytes of every file of ``source``, file after file in its sorted order (the
    order :func:`read_files` loads them in), so record ``i`` is the ``i``-th row of the
    dataset. A CSV file's records are :func:`audit.commitments.read_records`'s, a Parquet
    file's :func:`audit.parquet_records.parquet_records`' with its Hive partition values.
    ``on_progress`` is called with the count so far every ``every`` rows and once at the end.

    Raises
    ------
    InvalidManifest, UnreadableFile, UncommittableColumn

    Examples
    --------
    >>> source = resolve_source("/data/loans/")  # doctest: +SKIP
    >>> next(files_records(source))  # doctest: +SKIP
    b'{"age":"41","approved":"1","group":"A"}'
    """
    if source.format == "tsv":
        raise InvalidManifest(NOT_CSV_OR_PARQUET.format(spec=source.spec, kind="TSV"))
    count = 0
    for path, relative in zip(source.files, source.relative_paths(), strict=True):
        if source.format == "parquet":
            records = parquet_records(path, partition=_hive_values(relative))
        else:
            records = read_records(path, columns=columns)
        for record in records:
            yield record
            count += 1
            if on_progress is not None and count % every == 0:
                on_progress(count)
    if on_progress is not None:
        on_progress(count)
