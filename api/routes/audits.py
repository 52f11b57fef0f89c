"""Audit runs: public summaries, and starting a run (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from api.deps import CtxDep, CurrentOperator, SessionDep
from api.errors import NotFound, responses
from api.runs import start_run
from api.schemas.audits import AuditAccepted, AuditPublic, AuditsPublic, CheckSummary
from api.schemas.common import HASH_PATTERN, Limit, Offset
from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.service import latest_attempt, list_runs, stored_report
from audit.spec import ModelSpec, parse_spec

router = APIRouter(prefix="/audits", tags=["audits"])

RunIdPath = Annotated[str, Path(pattern=HASH_PATTERN, description="The run id (0x + 64 hex).")]


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


@router.get("/{run_id}", response_model=AuditPublic, responses=responses(404))
def read_audit(ctx: CtxDep, session: SessionDep, run_id: RunIdPath) -> AuditPublic:
    """A run's latest attempt: status, verdict, hashes, anchor and check summary."""
    row = latest_attempt(session, run_id)
    if row is None:
        model = ctx.accepted_audits.get(run_id.lower())
        if model is None:
            raise NotFound("audit run", run_id)
        return AuditPublic(
            run_id=run_id.lower(),
            kind=RunKind.TRAINING_RUN,
            status=RunStatus.QUEUED,
            model_name=model,
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
    spec = parse_spec(body.model_dump(), estimator_modules=ctx.settings.estimator_modules)
    return AuditAccepted(run_id=start_run(ctx, spec))
