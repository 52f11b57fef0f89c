"""Audit report files (auditors) and their verification against the chain (public).

``ETag`` is ``"0x" + sha256`` of the file's bytes; for ``.json`` that is exactly the
``reportHash`` anchored on chain. ``If-None-Match`` with it gives 304. Headers name the
anchor: ``X-Fairgov-Report-Hash``, ``X-Fairgov-Anchor-Registry``, ``X-Fairgov-Anchor-Chain-Id``,
``X-Fairgov-Anchor-Run-Id`` and, when known, ``X-Fairgov-Anchor-Tx`` and
``X-Fairgov-Anchor-Block``.

No file is served unless it is the one recorded: ``report.json`` must hash to the run's
recorded ``reportHash`` and name the run in the URL, and a rendering must equal the
rendering of that report (:mod:`audit.bundle`). Anything else is a server-side fault,
500 ``report_corrupt``, never a stale or forged file.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Header, Path, Response
from sqlmodel import Session

from api.deps import CtxDep, CurrentAuditor, SessionDep
from api.errors import ErrorResponse, NotFound, StoredReportCorrupt, responses
from api.schemas.audits import VerificationPublic
from api.schemas.common import HASH_PATTERN
from audit.bundle import RENDERERS, is_rendering
from audit.db_models import AuditRunRecord
from audit.errors import AuditError
from audit.report import Report
from audit.service import latest_attempt
from audit.verify import verify_report
from core.canonical import sha256_hex

router = APIRouter(prefix="/reports", tags=["reports"])

Format = Literal["json", "html", "csv", "pdf", "md"]
FILES: Final[dict[str, tuple[str, str]]] = {
    "json": ("report.json", "application/json"),
    "html": ("report.html", "text/html; charset=utf-8"),
    "csv": ("report.csv", "text/csv; charset=utf-8"),
    "pdf": ("report.pdf", "application/pdf"),
    "md": ("model-card.md", "text/markdown; charset=utf-8"),
}
RunIdPath = Annotated[str, Path(pattern=HASH_PATTERN, description="The run id (0x + 64 hex).")]

_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **responses(401, 403, 404),
    500: {
        "model": ErrorResponse,
        "description": "A stored file is not the recorded report (`report_corrupt`), or an "
        "unexpected error (`internal_error`).",
    },
    200: {
        "description": 'The report file. ETag: "0x" + sha256 of these bytes.',
        "content": {media: {"schema": {"type": "string"}} for _, media in FILES.values()},
    },
    304: {"description": "Not modified: the If-None-Match ETag is current."},
}


def _completed(session: Session, run_id: str) -> AuditRunRecord:
    row = latest_attempt(session, run_id)
    if row is None or row.report_dir is None:
        raise NotFound("report", run_id)
    return row


def _read(row: AuditRunRecord, name: str) -> bytes:
    body = _read_if_there(row, name)
    if body is None:
        raise NotFound("report file", f"{row.run_id}/{name}")
    return body


def _read_if_there(row: AuditRunRecord, name: str) -> bytes | None:
    assert row.report_dir is not None
    try:
        return (FilePath(row.report_dir) / name).read_bytes()
    except OSError:
        return None


def _stored_report(row: AuditRunRecord) -> Report:
    """The run's report.json, checked against the recorded hash and the run id."""
    body = _read(row, "report.json")
    digest = sha256_hex(body)
    if row.report_hash is not None and digest != row.report_hash:
        raise StoredReportCorrupt(row.run_id, "report.json", f"it hashes to {digest}")
    try:
        report = Report.from_bytes(body)
    except AuditError as exc:
        raise StoredReportCorrupt(row.run_id, "report.json", exc.message) from None
    if str(report.run_id).lower() != row.run_id.lower():
        raise StoredReportCorrupt(row.run_id, "report.json", f"it is run {report.run_id}'s")
    return report


def _served(row: AuditRunRecord, name: str) -> bytes:
    """The bytes of file ``name`` of the run, only if they are the recorded report's."""
    report = _stored_report(row)
    if name == "report.json":
        return report.canonical_bytes()
    body = _read(row, name)
    if not is_rendering(report, name, body):
        raise StoredReportCorrupt(row.run_id, name, "it is not the report's rendering")
    return body


def _matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/{run_id}.{fmt}",
    response_class=Response,
    responses=_FILE_RESPONSES,
)
def download_report(
    ctx: CtxDep,
    session: SessionDep,
    _auditor: CurrentAuditor,
    run_id: RunIdPath,
    fmt: Annotated[Format, Path(description="json, html, csv, pdf or md (the model card)")],
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """A report file (auditors only), with its hash and on-chain anchor in the headers."""
    row = _completed(session, run_id)
    name, media_type = FILES[fmt]
    body = _served(row, name)
    etag = f'"{sha256_hex(body)}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Fairgov-Report-Hash": row.report_hash or "",
        "X-Fairgov-Anchor-Registry": ctx.deployment.addresses.audit_registry,
        "X-Fairgov-Anchor-Chain-Id": str(ctx.deployment.chain_id),
        "X-Fairgov-Anchor-Run-Id": row.run_id,
    }
    if row.anchor_tx:
        headers["X-Fairgov-Anchor-Tx"] = row.anchor_tx
    if row.anchor_block is not None:
        headers["X-Fairgov-Anchor-Block"] = str(row.anchor_block)
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


@router.get(
    "/{run_id}/verification", response_model=VerificationPublic, responses=responses(404, 503)
)
def verify(ctx: CtxDep, session: SessionDep, run_id: RunIdPath) -> VerificationPublic:
    """Check the stored report against the anchor of the run in the URL, and every rendering
    against the report: ``verified`` only if all of it holds. A stored report that cannot be
    read is 500 ``report_corrupt``."""
    row = _completed(session, run_id)
    registry = ctx.deployment.addresses.audit_registry
    body = _read(row, "report.json")
    try:
        result = verify_report(
            ctx.w3,
            registry,
            body,
            run_id=run_id,
            renderings={name: _read_if_there(row, name) for name in RENDERERS},
        )
    except AuditError as exc:
        raise StoredReportCorrupt(row.run_id, "report.json", exc.message) from None
    return VerificationPublic.of(result, registry=registry, chain_id=ctx.deployment.chain_id)
