"""Uploaded files: request bodies streamed to disk, and the predictions reports made of them.

An upload is the raw request body (``Content-Type`` names its format), not a multipart form:
FastAPI parses forms only with ``python-multipart``, which fairgov does not depend on, and
a raw body streams straight to a file with nothing to parse. The options travel in the
query string. Upload routes have their own body limit, ``FAIRGOV_API_MAX_UPLOAD_BYTES``
(:class:`api.limits.LimitsMiddleware` checks it; :func:`receive_upload` counts again).

A predictions report is not a governed run: fairgov neither trained nor chose the model,
and anchoring every upload would spend the auditor's gas on anyone's file. Its files are
stored by report hash (``<data_dir>/predictions/<hash>/``), so each download is checked
against the hash in its URL, the one the upload's response gave; only the callers who
uploaded it, and auditors, may read it.

An upload is saved while it is audited in its own folder under ``<data_dir>/uploads``, named
after the process (``p<pid>-…``) and removed when the request ends. A process that crashed
mid-request leaves its folder behind: :func:`sweep_uploads`, run when the app starts, removes
the folders of processes that no longer run or had this process's pid (a restarted container
gets the same one), and any older than a day.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar, Final

import anyio

from api.errors import ApiError, BodyTooLarge, NotFound, StoredReportCorrupt
from audit.bundle import is_rendering
from audit.errors import AuditError
from audit.render import render_all
from audit.report import Report
from core.canonical import sha256_hex
from core.errors import ErrorCategory

#: Report files by download format, as ``GET /v1/reports`` names them.
PREDICTIONS_FILES: Final[dict[str, tuple[str, str]]] = {
    "json": ("report.json", "application/json"),
    "html": ("report.html", "text/html; charset=utf-8"),
    "csv": ("report.csv", "text/csv; charset=utf-8"),
    "pdf": ("report.pdf", "application/pdf"),
    "md": ("model-card.md", "text/markdown; charset=utf-8"),
}
#: The suffix an uploaded table gets from its ``Content-Type`` when no file name is given.
TABLE_TYPES: Final[dict[str, str]] = {
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
    "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet",
}
#: The routes (under ``/v1``) whose body is an uploaded file, with the upload body limit.
UPLOAD_PATHS: Final = ("/audits/predictions", "/models/external")
#: The one folder, under the data directory, that holds uploads while they are audited.
UPLOADS_FOLDER: Final = "uploads"
#: An upload folder older than this (seconds) is stale whatever process made it.
STALE_AFTER: Final = 24 * 3600.0
_OWNER = re.compile(r"p(\d+)-")
log = logging.getLogger("fairgov.api.uploads")


class EmptyUpload(ApiError):
    """An upload route got no body."""

    code: ClassVar[str] = "empty_upload"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the request body is empty: send the {what} itself as the body", what=what
        )


def upload_name(filename: str | None, content_type: str | None, *, default: str) -> str:
    """The file name an upload is saved (and reported) under: ``filename`` when given, else
    ``default`` with the suffix of ``content_type`` (:data:`TABLE_TYPES`). The schema has
    checked ``filename`` (a plain name: letters, digits, ``._-``, not starting with a dot).

    Examples
    --------
    >>> upload_name(None, "application/vnd.apache.parquet", default="predictions")
    'predictions.parquet'
    >>> upload_name("scores.csv", "application/octet-stream", default="predictions")
    'scores.csv'
    """
    if filename:
        return filename
    media = (content_type or "").split(";")[0].strip().lower()
    return default + TABLE_TYPES.get(media, ".csv")


async def receive_upload(chunks: AsyncIterator[bytes], path: Path, *, limit: int) -> int:
    """Write the body ``chunks`` to ``path``; the bytes written.

    Raises
    ------
    BodyTooLarge
        More than ``limit`` bytes arrived (the partial file is removed).
    """
    size = 0
    try:
        async with await anyio.open_file(path, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(limit)
                await out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return size


async def read_upload(chunks: AsyncIterator[bytes], *, limit: int) -> bytes:
    """The body ``chunks`` in memory (for files a library reads as bytes).

    Raises
    ------
    BodyTooLarge
        More than ``limit`` bytes arrived.
    """
    data = bytearray()
    async for chunk in chunks:
        if len(data) + len(chunk) > limit:
            raise BodyTooLarge(limit)
        data += chunk
    return bytes(data)


def upload_dir(data_dir: Path) -> Path:
    """A fresh private directory for one upload, under ``<data_dir>/uploads``, named after
    this process (``p<pid>-…``) so that :func:`sweep_uploads` knows whose it is."""
    root = data_dir / UPLOADS_FOLDER
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=root, prefix=f"p{os.getpid()}-"))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def _stale(folder: Path, now: float) -> bool:
    try:
        if now - folder.stat().st_mtime > STALE_AFTER:
            return True
    except OSError:
        return False
    owner = _OWNER.match(folder.name)
    if owner is None:
        return False
    pid = int(owner.group(1))
    # Before serving, no upload of this process is in flight: a folder with its pid is a
    # crashed predecessor's (a restarted container runs with the same pid).
    return pid == os.getpid() or not _running(pid)


def sweep_uploads(data_dir: Path, *, now: float | None = None) -> list[str]:
    """Remove the upload folders a crashed process left under ``<data_dir>/uploads``: those
    of a process that no longer runs or has this process's pid, and any older than
    :data:`STALE_AFTER`. Folders of other running processes (another worker's uploads in
    flight) stay. Run it when the app starts, before it serves: this process's own folders
    are then a crashed predecessor's with the same pid. Returns the names removed.

    Examples
    --------
    >>> sweep_uploads(Path("data"))  # doctest: +SKIP
    ['p4242-k2j3h1x0']
    """
    root = data_dir / UPLOADS_FOLDER
    if not root.is_dir():
        return []
    when = time.time() if now is None else now
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and _stale(folder, when):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    if removed:
        log.info("removed %d upload folder(s) left by stopped processes", len(removed))
    return removed


def discard(directory: Path) -> None:
    """Remove an upload's directory."""
    shutil.rmtree(directory, ignore_errors=True)


def _report_dir(data_dir: Path, report_hash: str) -> Path:
    return data_dir / "predictions" / report_hash.lower().removeprefix("0x")


def store_predictions_report(data_dir: Path, report: Report, *, owner: str) -> Path:
    """Write the report's files (once per report hash) and record ``owner`` as a reader."""
    directory = _report_dir(data_dir, report.hash)
    if not (directory / "report.json").is_file():
        render_all(report, directory)
    owners = directory / "owners"
    owners.mkdir(exist_ok=True)
    (owners / owner.lower()).touch()
    return directory


def uploaded_by(data_dir: Path, report_hash: str, address: str) -> bool:
    """Whether ``address`` uploaded the predictions of report ``report_hash``."""
    return (_report_dir(data_dir, report_hash) / "owners" / address.lower()).is_file()


def read_predictions_file(
    data_dir: Path, report_hash: str, name: str, *, reader: str | None
) -> bytes:
    """The bytes of file ``name`` of the predictions report ``report_hash``, only if they are
    that report's: ``report.json`` must hash to ``report_hash`` and a rendering must be the
    report's. ``reader`` None is an auditor; else the file is found only if ``reader``
    uploaded it.

    Raises
    ------
    NotFound
        No such report, or not one ``reader`` uploaded.
    StoredReportCorrupt
        The stored file is not the report's.
    """
    directory = _report_dir(data_dir, report_hash)
    if reader is not None and not (directory / "owners" / reader.lower()).is_file():
        raise NotFound("predictions report", report_hash)
    try:
        body = (directory / "report.json").read_bytes()
    except OSError:
        raise NotFound("predictions report", report_hash) from None
    if sha256_hex(body) != report_hash.lower():
        raise StoredReportCorrupt(report_hash, "report.json", "it hashes to another value")
    try:
        report = Report.from_bytes(body)
    except AuditError as exc:
        raise StoredReportCorrupt(report_hash, "report.json", exc.message) from None
    if name == "report.json":
        return report.canonical_bytes()
    try:
        rendering = (directory / name).read_bytes()
    except OSError:
        raise NotFound("report file", f"{report_hash}/{name}") from None
    if not is_rendering(report, name, rendering):
        raise StoredReportCorrupt(report_hash, name, "it is not the report's rendering")
    return rendering
