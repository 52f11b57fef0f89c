"""Errors of reading predictions where they live: files, folders, globs, a Dask cluster."""

from __future__ import annotations

from typing import ClassVar

from audit.errors._base import AuditError, InputFileNotFound
from core.errors import ErrorCategory


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
