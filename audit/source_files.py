"""Which files a source names: one file, a folder (every data file under it, skipping names
that start with ``.`` or ``_``) or a glob, sorted, all of one format; nothing is read.

:mod:`audit.sources` reads them; :mod:`audit.dataset_files` hashes a governed dataset's
files with :func:`files_hash`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from audit.errors import InputFileNotFound, NoDataFiles, UnreadableFolder, UnsupportedFileFormat
from core.canonical import canonical_json, file_sha256, sha256_hex
from core.types import Hash32

DataFormat = Literal["csv", "tsv", "parquet"]
SUFFIXES: Mapping[str, DataFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
UNSUPPORTED_SUFFIX = "name a .csv, .tsv, .parquet or .pq file (or export the data to one)"
MIXED_FORMATS = "it holds files of more than one format ({found}): name one with a glob"
_GLOB_CHARS = re.compile(r"[*?\[]")
_HIVE_SEGMENT = re.compile(r"^([^=/]+)=([^/]*)$")


@dataclass(frozen=True)
class DataSource:
    """The files a source names, sorted, all of one format; nothing read yet."""

    spec: str
    root: Path
    files: tuple[Path, ...]
    format: DataFormat
    hive: tuple[str, ...] = ()
    single: bool = False

    def relative_paths(self) -> list[str]:
        """Each file's path below :attr:`root`, with ``/`` separators."""
        return [path.relative_to(self.root).as_posix() for path in self.files]

    def content_hash(self) -> Hash32:
        """sha256 of the file's bytes for one file; for several, sha256 of the canonical JSON
        list of ``[relative path, file sha256]`` pairs sorted by path."""
        return file_sha256(self.files[0]) if self.single else files_hash(self.root, self.files)

    @property
    def name(self) -> str:
        """The dataset name in a report: the file name, or the source with its file count."""
        if self.single:
            return self.files[0].name
        count = len(self.files)
        files = f"{count} file{'s' * (count != 1)}"
        return f"{self.spec} ({files}; content hash of their sorted path+sha256 list)"


def _data_format(path: Path) -> DataFormat:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFileFormat(str(path), UNSUPPORTED_SUFFIX)
    return kind


def _visible(path: Path, root: Path) -> bool:
    return not any(part.startswith((".", "_")) for part in path.relative_to(root).parts)


def _walk(root: Path) -> list[Path]:
    """Every file below ``root``. A folder that cannot be listed, or a link to a folder (not
    followed), is :class:`UnreadableFolder`: Python's own walks skip both without a word, and
    the audit would judge part of the data (review, session 22). Hidden folders (``.``,
    ``_``) are not entered."""

    def refuse(exc: OSError) -> None:
        raise UnreadableFolder(str(exc.filename or root), exc.strerror or str(exc))

    found: list[Path] = []
    for folder, folders, files in os.walk(root, onerror=refuse):
        here = Path(folder)
        folders[:] = [f for f in folders if not f.startswith((".", "_"))]
        for name in folders:
            if (here / name).is_symlink():
                raise UnreadableFolder(
                    str(here / name),
                    "it is a link to a folder, which is not followed: name the folder it "
                    "links to, or copy its files in",
                )
        found += [here / f for f in files if (here / f).is_file()]
    return found


def _glob_root(spec: str) -> tuple[Path, str]:
    parts = Path(spec).parts
    fixed = [p for p in parts[: next(i for i, p in enumerate(parts) if _GLOB_CHARS.search(p))]]
    root = Path(*fixed) if fixed else Path()
    return root, Path(*parts[len(fixed) :]).as_posix()


def _hive_keys(files: Sequence[Path], root: Path) -> tuple[str, ...]:
    keys: dict[str, None] = {}
    for path in files:
        for part in path.relative_to(root).parts[:-1]:
            match = _HIVE_SEGMENT.match(part)
            if match:
                keys[match.group(1)] = None
    return tuple(keys)


def files_hash(root: Path, files: Sequence[Path]) -> Hash32:
    """sha256 of the canonical JSON list of ``[path below root, file sha256]``, sorted."""
    pairs = [[path.relative_to(root).as_posix(), file_sha256(path)] for path in files]
    return sha256_hex(canonical_json(sorted(pairs)))


def find_files(spec: str) -> tuple[Path, tuple[Path, ...]]:
    """The root and the files (sorted by path below it) of a folder or glob ``spec``, of any
    format and perhaps none; :class:`InputFileNotFound` if it is neither."""
    path = Path(spec)
    if path.is_dir():  # before globbing: a folder may be named "my data [1]"
        root = path
        found = [p for p in _walk(root) if _visible(p, root) and p.suffix.lower() in SUFFIXES]
    elif _GLOB_CHARS.search(spec):
        root, pattern = _glob_root(spec)
        if len(Path(pattern).parts) > 1:  # the glob enters folders: none may be skipped
            _walk(root)
        found = [p for p in root.glob(pattern) if p.is_file() and _visible(p, root)]
    else:
        raise InputFileNotFound(spec)
    return root, tuple(sorted(found, key=lambda p: p.relative_to(root).as_posix()))


def resolve_source(spec: str | Path) -> DataSource:
    """The files that ``spec`` (a file, a folder or a glob) names.

    Raises
    ------
    InputFileNotFound
        ``spec`` is neither a glob nor an existing file or folder.
    NoDataFiles
        The folder or glob holds no CSV, TSV or Parquet file.
    UnsupportedFileFormat
        A file with another suffix, or a folder or glob mixing formats.

    Examples
    --------
    >>> resolve_source("data/year=*/part-*.parquet").hive  # doctest: +SKIP
    ('year',)
    """
    text = str(spec)
    path = Path(text)
    if path.is_file():  # before globbing: a file may be named "preds[1].csv"
        return DataSource(text, path.parent, (path,), _data_format(path), single=True)
    root, files = find_files(text)
    if not files:
        raise NoDataFiles(text)
    kinds = sorted({_data_format(p) for p in files})
    if len(kinds) > 1:
        raise UnsupportedFileFormat(text, MIXED_FORMATS.format(found=", ".join(kinds)))
    kind = kinds[0]
    hive = _hive_keys(files, root) if kind == "parquet" else ()
    return DataSource(text, root, tuple(files), kind, hive)
