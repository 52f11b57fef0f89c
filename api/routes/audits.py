"""Audit runs: public summaries, and starting a run (operators)."""

from __future__ import annotations

from functools import partial
from pathlib import Path as FilePath
from typing import Annotated, Any, Final, Literal

import anyio.to_thread
from fastapi import APIRouter, Header, Path, Query, Request, Response, status

from api import uploads
from api.auth import SignedIn, holds_auditor_role, on_list
from api.context import ApiContext
from api.deps import CtxDep, CurrentOperator, CurrentUser, SessionDep, refuse_repeated
from api.errors import AuditsBusy, ErrorResponse, NotFound, responses
from api.runs import start_external_run, start_run
from api.schemas.audits import AuditAccepted, AuditPublic, AuditsPublic, CheckSummary
from api.schemas.common import HASH_PATTERN, Limit, Offset
from api.schemas.predictions import PredictionsAuditPublic, PredictionsOptions
from audit.db_models import AuditRunRecord, RunStatus
from audit.errors import UnreadableFile
from audit.external import ExternalAuditSpec
from audit.service import latest_attempt, list_runs, stored_report
from audit.spec import ModelSpec, parse_spec
from core.canonical import sha256_hex

router = APIRouter(prefix="/audits", tags=["audits"])
#: The seconds a client told ``audits_busy`` waits before it uploads again.
BUSY_RETRY_AFTER: Final = 5

RunIdPath = Annotated[str, Path(pattern=HASH_PATTERN, description="The run id (0x + 64 hex).")]
ReportHashPath = Annotated[
    str, Path(pattern=HASH_PATTERN, description="The report hash (0x + 64 hex).")
]


def _is_auditor(ctx: ApiContext, user: SignedIn) -> bool:
    if on_list(user.address, ctx.settings.auditors):
        return True
    return holds_auditor_role(ctx.w3, ctx.deployment.addresses.audit_registry, user.address)


_TABLE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The predictions file itself: CSV, TSV or Parquet.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in (*uploads.TABLE_TYPES, "application/octet-stream")
        },
    }
}
_FILE_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **responses(401, 403, 404),
    500: {
        "model": ErrorResponse,
        "description": "A stored file is not the report (`report_corrupt`), or an "
        "unexpected error (`internal_error`).",
    },
    200: {
        "description": 'The report file. ETag: "0x" + sha256 of these bytes.',
        "content": {
            m: {"schema": {"type": "string"}} for _, m in uploads.PREDICTIONS_FILES.values()
        },
    },
}


def _checks(row: AuditRunRecord) -> list[CheckSummary] | None:
    report = stored_report(row)
    if report is None:
        return None
    return [CheckSummary.of(c) for c in report.model.audit.checks]


@router.get("", response_model=AuditsPublic, responses=responses())
def read_audits(
    session: SessionDep,
    status: Annotated[RunStatus | None, Query()] = None,
    model: Annotated[str | None, Query(max_length=200, description="A model name.")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AuditsPublic:
    """Audit run attempts, newest first."""
    page = list_runs(session, status=status, model=model, offset=offset, limit=limit)
    return AuditsPublic(data=[AuditPublic.of(r) for r in page.rows], count=page.count)


@router.post(
    "/predictions",
    response_model=PredictionsAuditPublic,
    responses=responses(401, 413, 503),
    openapi_extra=_TABLE_BODY,
)
async def audit_uploaded_predictions(
    request: Request,
    ctx: CtxDep,
    user: CurrentUser,
    options: Annotated[PredictionsOptions, Query()],
) -> PredictionsAuditPublic:
    """Audit an uploaded predictions file, as ``fairgov audit predictions`` does (signed-in
    users). The body is the file; the options are query parameters. The report files are
    kept by report hash for the uploader and auditors: ``GET /v1/audits/predictions/{hash}.json``.
    At most ``FAIRGOV_API_MAX_CONCURRENT_AUDITS`` uploads are audited at once per process;
    beyond, 503 ``audits_busy`` with ``Retry-After``, before the body is read.
    """
    refuse_repeated(request, PredictionsOptions)
    slots = ctx.audit_slots
    if not slots.take():
        raise AuditsBusy(slots.size, BUSY_RETRY_AFTER)
    try:
        return await _audit_upload(request, ctx, user, options)
    finally:
        slots.give_back()


async def _audit_upload(
    request: Request, ctx: ApiContext, user: SignedIn, options: PredictionsOptions
) -> PredictionsAuditPublic:
    from audit.predictions import audit_predictions_file

    name = uploads.upload_name(
        options.filename, request.headers.get("content-type"), default="predictions"
    )
    data_dir = FilePath(ctx.settings.data_dir)
    directory = uploads.upload_dir(data_dir)
    try:
        path = directory / name
        size = await uploads.receive_upload(
            request.stream(), path, limit=ctx.settings.api_max_upload_bytes
        )
        if size == 0:
            raise uploads.EmptyUpload("predictions file")
        audit = partial(
            audit_predictions_file,
            path,
            label=options.label,
            prediction=options.prediction,
            sensitive=options.sensitive,
            positive=options.positive,
            thresholds=options.threshold,
            cutoff=options.cutoff,
            score=options.score,
            evidence=options.evidence(),
            n_boot=options.n_boot,
            random_state=options.seed,
            reference=options.reference_group(),
        )
        try:
            outcome = await anyio.to_thread.run_sync(audit)
        except UnreadableFile as exc:  # name the upload, not where the server saved it
            raise exc.named(name) from None
        report = outcome.report
        store = partial(uploads.store_predictions_report, data_dir, report, owner=user.address)
        await anyio.to_thread.run_sync(store)
    finally:
        uploads.discard(directory)
    files = {
        fmt: request.app.url_path_for(
            "download_predictions_report", report_hash=report.hash, fmt=fmt
        )
        for fmt in uploads.PREDICTIONS_FILES
    }
    return PredictionsAuditPublic(
        run_id=report.run_id,
        report_hash=report.hash,
        verdict=report.verdict,
        checks=[CheckSummary.of(c) for c in report.model.audit.checks],
        used_default_thresholds=outcome.used_default_thresholds,
        warnings=list(report.model.warnings),
        files=files,
    )


@router.get("/predictions/{report_hash}.{fmt}", response_class=Response, responses=_FILE_RESPONSES)
def download_predictions_report(
    ctx: CtxDep,
    user: CurrentUser,
    report_hash: ReportHashPath,
    fmt: Annotated[
        Literal["json", "html", "csv", "pdf", "md"],
        Path(description="json, html, csv, pdf or md (the model card)"),
    ],
    if_none_match: Annotated[str | None, Header(max_length=1000)] = None,
) -> Response:
    """A file of a predictions report, to the user who uploaded the predictions or an auditor;
    ``report.json`` hashes to the URL's report hash."""
    data_dir = FilePath(ctx.settings.data_dir)
    reader: str | None = user.address
    if not uploads.uploaded_by(data_dir, report_hash, user.address) and _is_auditor(ctx, user):
        reader = None
    name, media_type = uploads.PREDICTIONS_FILES[fmt]
    body = uploads.read_predictions_file(data_dir, report_hash, name, reader=reader)
    etag = f'"{sha256_hex(body)}"'
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "X-Fairgov-Report-Hash": report_hash.lower(),
    }
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type=media_type, headers=headers)


@router.get("/{run_id}", response_model=AuditPublic, responses=responses(404))
def read_audit(session: SessionDep, run_id: RunIdPath) -> AuditPublic:
    """A run's latest attempt: status, verdict, hashes, anchor and check summary (``queued``
    from the 202 until the audit worker starts it)."""
    row = latest_attempt(session, run_id)
    if row is None:
        raise NotFound("audit run", run_id)
    return AuditPublic.of(row, _checks(row))


@router.post(
    "",
    response_model=AuditAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 403, 404, 503),
)
def start_audit(ctx: CtxDep, _operator: CurrentOperator, body: ModelSpec) -> AuditAccepted:
    """Train and audit a model under the current policy, in the background (operators)."""
    spec = parse_spec(body.model_dump(), estimator_modules=ctx.settings.estimator_modules)
    return AuditAccepted(run_id=start_run(ctx, spec))


@router.post(
    "/external",
    response_model=AuditAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 403, 404, 503),
)
def start_external_audit(
    ctx: CtxDep, _operator: CurrentOperator, body: ExternalAuditSpec
) -> AuditAccepted:
    """Audit a registered ONNX model on a voted dataset, in the background (operators):
    scored with onnxruntime, audited under the voted policy, anchored and gated. 404
    ``model_not_registered`` when the name and hash are not a registration."""
    return AuditAccepted(run_id=start_external_run(ctx, body))
