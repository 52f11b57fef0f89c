"""Jobs: the scheduler's run history (sync, relay, keeper, audits, retention)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CtxDep, SessionDep
from api.errors import responses
from api.schemas.common import Limit
from api.schemas.jobs import JobRunPublic, JobRunsPublic

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=JobRunsPublic, responses=responses())
def read_jobs(
    ctx: CtxDep,
    session: SessionDep,
    job: Annotated[str | None, Query(max_length=100, examples=["sync_chain"])] = None,
    limit: Limit = 50,
) -> JobRunsPublic:
    """The newest job runs first, optionally of one job. Empty when this API process was
    started without the scheduler's history (the process that runs the scheduler attaches
    it)."""
    if ctx.job_history is None:
        return JobRunsPublic(data=[], count=0)
    rows = ctx.job_history(session, job, limit)
    return JobRunsPublic(data=[JobRunPublic.of(r) for r in rows], count=len(rows))
