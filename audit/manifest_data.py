"""A registered dataset's data as it is now: its content hash, its rows, and whether an
offer of it is one a governed run would accept.

The manifest itself (what was registered, and where it is stored) is :mod:`audit.manifest`;
this module reads the files a manifest points to.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlmodel import Session

from audit.commitments import check_rows, csv_header
from audit.dataset_files import (
    files_content_hash,
    open_files,
    parquet_columns,
    read_files,
    several_files,
)
from audit.errors import (
    DatasetFileMissing,
    DatasetHashMismatch,
    InputFileNotFound,
    InvalidManifest,
    ManifestNotRegistered,
)
from audit.manifest import DatasetManifest, manifest_by_hash
from audit.sources import unreadable_file
from core.canonical import file_sha256
from core.types import Hash32


def manifest_content_hash(manifest: DatasetManifest) -> Hash32:
    """The content hash of the manifest's data as it is now, to compare with the voted one:
    its file's sha256, or for a folder or glob the hash of its sorted ``[path, file sha256]``
    list (:func:`audit.dataset_files.files_content_hash`).

    Raises
    ------
    DatasetFileMissing
        The file, or every file of the folder or glob, is gone.

    Examples
    --------
    >>> manifest_content_hash(manifest) == manifest.sha256  # doctest: +SKIP
    True
    """
    spec = several_files(manifest.uri)
    if spec is not None:
        return files_content_hash(spec, name=manifest.name)
    path = manifest.local_path()
    try:
        return file_sha256(path)
    except OSError:
        raise DatasetFileMissing(manifest.name, str(path)) from None


def check_offerable(session: Session, manifest: DatasetManifest) -> None:
    """Refuse to offer a manifest no run would accept: one whose hash is not registered here
    (edited after registration), or whose data no longer hashes to its content hash.

    Raises
    ------
    ManifestNotRegistered, DatasetHashMismatch, DatasetFileMissing
    """
    if manifest_by_hash(session, manifest.hash) is None:
        raise ManifestNotRegistered(manifest.name, manifest.hash)
    actual = manifest_content_hash(manifest)
    if actual != manifest.sha256:
        raise DatasetHashMismatch(
            manifest.name,
            manifest.sha256,
            actual,
            registered=True,
            several=several_files(manifest.uri) is not None,
        )


def load_frame(manifest: DatasetManifest, *, only: Sequence[str] | None = None) -> pd.DataFrame:
    """Read the manifest's file (or the files of its folder or glob, in their sorted order)
    with its declared columns (label, sensitive, features), or with the columns ``only``.

    Raises
    ------
    DatasetFileMissing, InvalidManifest
    UnreadableFile
        A file that cannot be parsed, or a CSV header naming a column twice.

    Examples
    --------
    >>> load_frame(manifest).shape  # doctest: +SKIP
    (4000, 7)
    """
    declared = [*manifest.features, *manifest.sensitive_features, manifest.label]
    wanted = list(dict.fromkeys(declared if only is None else only))
    spec = several_files(manifest.uri)
    if spec is not None:
        source = open_files(spec, name=manifest.name)
        return read_files(source, wanted, columns=manifest.columns, name=manifest.name)
    path = manifest.local_path()
    try:
        if manifest.format == "parquet":
            absent = [c for c in wanted if c not in parquet_columns(path)]
            if absent:
                raise InvalidManifest(f"columns {absent} are not in {path.name}")
            frame = pd.read_parquet(path, columns=wanted)
        elif manifest.columns:  # only the wanted columns are parsed; an absent one is named below
            frame = pd.read_csv(
                path,
                header=None,
                names=list(manifest.columns),
                skipinitialspace=True,
                usecols=lambda c: c in wanted,
            )
        else:
            csv_header(path)  # pandas would rename a repeated column "x.1"
            frame = pd.read_csv(path, skipinitialspace=True, usecols=lambda c: c in wanted)
    except OSError:
        raise DatasetFileMissing(manifest.name, str(path)) from None
    except ValueError as exc:  # pandas' and Arrow's parse errors, UnicodeDecodeError
        raise unreadable_file(path, exc, manifest.format) from None
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InvalidManifest(f"columns {missing} are not in {path.name}")
    return frame[wanted]


def check_csv_rows(manifest: DatasetManifest) -> None:
    """Read every CSV file of the manifest through, as its records are read
    (:func:`audit.commitments.check_rows`): pandas fills a short row with empty values and,
    reading some columns, drops a long row's extra fields, so a ragged file would be
    registered (and trained on) although its records cannot be committed. A Parquet
    manifest has nothing to check.

    Raises
    ------
    DatasetFileMissing
    UnreadableFile
        A row with another number of fields than the header (its data row number), a
        header naming a column twice, bytes that are not UTF-8.
    """
    if manifest.format != "csv":
        return
    spec = several_files(manifest.uri)
    if spec is not None:
        paths = open_files(spec, name=manifest.name).files
    else:
        paths = (manifest.local_path(),)
    for path in paths:
        try:
            check_rows(path, columns=manifest.columns)
        except (InputFileNotFound, OSError):
            raise DatasetFileMissing(manifest.name, str(path)) from None
