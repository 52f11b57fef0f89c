"""Errors of reading predictions where they live: files, folders, globs, a Dask cluster."""

from __future__ import annotations

from typing import ClassVar

from audit.errors._base import AuditError, InputFileNotFound
from core.errors import ErrorCategory

# The words of an ``unreadable_file`` refusal, the same from every reader of a data file
# (``fairgov audit predictions``, ``fairgov datasets register``, a governed run, the records).
#: A header that names a column twice: a record (a dict) would keep one of its values.
REPEATED_COLUMN = "column {name!r} appears more than once in the header"
RENAME_REPEATED = "rename the copies so every column has a name of its own"
#: A Parquet schema that names a column twice (pyarrow writes such files).
REPEATED_FIELD = "column {name!r} appears more than once in its schema"
#: A row with another number of fields than the header (1-based, blank lines not counted).
RAGGED_ROW = "data row {row} has {fields} fields, the header {columns}"
ONE_FIELD_A_COLUMN = "give every row one field per column"
#: Bytes that are not UTF-8, in the words of the Polars reader.
NOT_UTF8 = "invalid utf-8 sequence"
SAVE_AS_UTF8 = "save it as UTF-8 text"
#: Parquet files of one source whose schemas give a column two types.
TYPE_MISMATCH = "data type mismatch for column {column}: {first} has {one}, {other} has {two}"
ONE_SCHEMA = "its files give column {column} different types: write them with one schema"


class NoDataFiles(InputFileNotFound):
    """A folder or glob that names no CSV, TSV or Parquet file."""

    code: ClassVar[str] = "no_data_files"

    def __init__(self, spec: str) -> None:
        AuditError.__init__(
            self,
            f"no data files match {spec}: name a CSV, TSV or Parquet file, a folder holding "
            "them, or a glob such as 'data/*.parquet'",
            path=spec,
        )


class DaskUnreachable(AuditError):
    """No Dask scheduler answered at the address given with ``--dask``."""

    code: ClassVar[str] = "dask_unreachable"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, address: str, timeout: float) -> None:
        super().__init__(
            f"No Dask scheduler answered at {address} within {timeout:g} s; start one "
            "(dask scheduler) or pass --dask local",
            address=address,
            timeout=timeout,
        )


class InvalidDaskAddress(AuditError):
    """``--dask`` that is neither a scheduler address nor ``local``."""

    code: ClassVar[str] = "invalid_dask_address"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, address: str) -> None:
        super().__init__(
            f"--dask {address!r} is not a scheduler address: pass one such as "
            "tcp://10.0.0.5:8786, or 'local' for a local cluster",
            address=address,
        )
