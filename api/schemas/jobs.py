"""Scheduler job history as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class JobRunPublic(BaseModel):
    """One run of one scheduled job."""

    id: int
    job: str = Field(examples=["sync_chain"])
    started_at: datetime
    finished_at: datetime | None
    status: str = Field(examples=["succeeded"], description="running|succeeded|failed|skipped")
    error: str | None = None
    detail: str | None = Field(default=None, examples=["indexed blocks 10-12: 3 events"])
    holder: str = Field(description="the scheduler process that ran it")

    @classmethod
    def of(cls, row: Any) -> JobRunPublic:
        return cls.model_validate(row, from_attributes=True)


class JobRunsPublic(BaseModel):
    data: list[JobRunPublic]
    count: int
