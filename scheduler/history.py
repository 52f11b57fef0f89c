"""Job history: one row per job run, for ``GET /v1/jobs``, ``fairgov jobs`` and health.

A run is written when it starts (``running``) and completed when it finishes
(``succeeded``, ``failed`` or ``skipped``), so a run that is still going, or whose process
died, is visible. :func:`abandon` closes the ``running`` rows of a scheduler that lost
its lease; :func:`prune` deletes old rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from scheduler.db_models import JobRun, JobStatus, SchedulerMark, utcnow

#: Longest error or detail text kept; the first line only.
MAX_TEXT = 500
ABANDONED = "abandoned: its scheduler stopped before the run finished"


def one_line(text: str) -> str:
    """The first line of ``text``, at most :data:`MAX_TEXT` characters."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= MAX_TEXT else first[: MAX_TEXT - 1] + "…"


def start(session: Session, job: str, *, holder: str) -> JobRun:
    """Record that ``job`` starts now on ``holder``."""
    run = JobRun(job=job, holder=holder)
    session.add(run)
    session.flush()
    return run


def finish(
    session: Session,
    run_id: int,
    status: JobStatus,
    *,
    error: str | None = None,
    detail: str | None = None,
) -> None:
    """Complete the run ``run_id`` with ``status`` (error and detail cut to one line)."""
    run = session.get(JobRun, run_id)
    if run is None:
        return
    run.status = status
    run.finished_at = utcnow()
    run.error = None if error is None else one_line(error)
    run.detail = None if detail is None else one_line(detail)
    session.add(run)


def recent(session: Session, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
    """The newest runs first, optionally of one ``job`` only.

    Examples
    --------
    >>> [r.status for r in recent(session, job="sync_chain", limit=2)]  # doctest: +SKIP
    ['succeeded', 'succeeded']
    """
    statement = select(JobRun)
    if job is not None:
        statement = statement.where(JobRun.job == job)
    statement = statement.order_by(col(JobRun.started_at).desc(), col(JobRun.id).desc())
    return list(session.exec(statement.limit(limit)).all())


def last_heartbeat(session: Session) -> datetime | None:
    """When any job last finished (UTC), or None if none ever did."""
    latest: datetime | None = session.exec(select(func.max(JobRun.finished_at))).one()
    return latest


def prune(session: Session, *, older_than: datetime) -> int:
    """Delete finished runs that started before ``older_than``; returns how many."""
    result = session.execute(
        delete(JobRun).where(
            col(JobRun.started_at) < older_than, col(JobRun.finished_at).is_not(None)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def abandon(session: Session, *, except_holder: str) -> int:
    """Close the ``running`` rows of every other holder as failed; returns how many."""
    result = session.execute(
        update(JobRun)
        .where(col(JobRun.status) == JobStatus.RUNNING, col(JobRun.holder) != except_holder)
        .values(status=JobStatus.FAILED, finished_at=utcnow(), error=ABANDONED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def get_mark(session: Session, key: str) -> str | None:
    """The persisted value called ``key``, or None."""
    mark = session.get(SchedulerMark, key)
    return None if mark is None else mark.value


def set_mark(session: Session, key: str, value: str) -> None:
    """Persist ``value`` under ``key``."""
    mark = session.get(SchedulerMark, key) or SchedulerMark(key=key, value=value)
    mark.value, mark.updated_at = value, utcnow()
    session.add(mark)
