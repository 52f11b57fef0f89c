"""Audit runs: public summaries, and starting a run (operators)."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from sqlmodel import col, func, select

from api.deps import CtxDep, CurrentOperator, SessionDep
from api.errors import NotFound, responses
from api.runs import latest_attempt, start_run
from api.schemas.audits import AuditAccepted, AuditPublic, AuditsPublic, CheckSummary
from api.schemas.common import HASH_PATTERN, Limit, Offset
from audit.db_models import AuditRunRecord
from audit.errors import AuditError
from audit.report import Report
from audit.training import ModelSpec, parse_spec

router = APIRouter(prefix="/audits", tags=["audits"])

RunIdPath = Annotated[str, Path(pattern=HASH_PATTERN, description="The run id (0x + 64 hex).")]
RunStatus = Literal["queued", "running", "completed", "failed", "refused"]


def _checks(row: AuditRunRecord) -> list[CheckSummary] | None:
    if row.report_dir is None:
        return None
    try:
        report = Report.from_bytes((FilePath(row.report_dir) / "report.json").read_bytes())
    except (OSError, AuditError):
        return None
    return [
        CheckSummary(
            metric=c["threshold"]["metric"],
            direction=c["threshold"]["direction"],
            bound=c["threshold"].get("bound"),
            value=c.get("value"),
            verdict=c["verdict"],
        )
        for c in report.data["audit"]["checks"]
    ]


@router.get("", response_model=AuditsPublic, responses=responses())
def read_audits(
    session: SessionDep,
    status: Annotated[RunStatus | None, Query()] = None,
    model: Annotated[str | None, Query(max_length=200, description="A model name.")] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> AuditsPublic:
    """Audit run attempts, newest first."""
    query = select(AuditRunRecord)
    counting = select(func.count()).select_from(AuditRunRecord)
    if status is not None:
        query = query.where(AuditRunRecord.status == status)
        counting = counting.where(AuditRunRecord.status == status)
    if model is not None:
        query = query.where(AuditRunRecord.model_name == model)
        counting = counting.where(AuditRunRecord.model_name == model)
    rows = session.exec(
        query.order_by(col(AuditRunRecord.id).desc()).offset(offset).limit(limit)
    ).all()
    return AuditsPublic(
        data=[AuditPublic.of(r) for r in rows], count=int(session.exec(counting).one())
    )


@router.get("/{run_id}", response_model=AuditPublic, responses=responses(404))
def read_audit(ctx: CtxDep, session: SessionDep, run_id: RunIdPath) -> AuditPublic:
    """A run's latest attempt: status, verdict, hashes, anchor and check summary."""
    row = latest_attempt(session, run_id)
    if row is None:
        model = ctx.accepted_audits.get(run_id.lower())
        if model is None:
            raise NotFound("audit run", run_id)
        return AuditPublic(
            run_id=run_id.lower(), kind="training_run", status="queued", model_name=model
        )
    return AuditPublic.of(row, _checks(row))


@router.post(
    "",
    response_model=AuditAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses=responses(401, 403, 404, 503),
)
def start_audit(ctx: CtxDep, _operator: CurrentOperator, body: ModelSpec) -> AuditAccepted:
    """Train and audit a model under the current policy, in the background (operators)."""
    spec = parse_spec(body.model_dump())
    return AuditAccepted(run_id=start_run(ctx, spec))
