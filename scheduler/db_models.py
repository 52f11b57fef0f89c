"""Tables of the scheduler: the leader lease, the job history and small persisted marks.

APScheduler's own job store lives in a table it creates itself (:data:`JOBSTORE_TABLE`);
it is not part of ``SQLModel.metadata`` and no migration creates or drops it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

#: The table APScheduler's SQLAlchemyJobStore creates and owns (outside the migrations).
JOBSTORE_TABLE = "scheduler_apscheduler_jobs"


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class SchedulerLease(SQLModel, table=True):
    """Who may run the jobs now: ``holder`` until ``expires_at``."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=200)
    expires_at: datetime
    acquired_at: datetime = Field(default_factory=utcnow)


class JobRun(SQLModel, table=True):
    """One run of one job: written when it starts, completed when it finishes."""

    __tablename__ = "job_run"

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(index=True, max_length=100)
    started_at: datetime = Field(default_factory=utcnow, index=True)
    finished_at: datetime | None = Field(default=None, index=True)
    status: JobStatus = Field(default=JobStatus.RUNNING, sa_type=AutoString(length=12))
    error: str | None = Field(default=None, max_length=500)
    detail: str | None = Field(default=None, max_length=500)
    holder: str = Field(max_length=200)


class SchedulerMark(SQLModel, table=True):
    """A named value the jobs keep between runs (e.g. the last re-audited policy version)."""

    __tablename__ = "scheduler_mark"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow)
