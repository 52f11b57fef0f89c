"""Errors of an audit run's own steps (its report files, its row)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from audit.errors._base import AuditError
from core.errors import ErrorCategory


class ReportWriteFailed(AuditError):
    """The report files could not be written to the reports folder (read-only, full, not
    ours): the operator must fix the folder; nothing was anchored."""

    code: ClassVar[str] = "report_write_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFIGURATION

    def __init__(self, folder: Path, reason: str) -> None:
        super().__init__(
            f"cannot write the report files to {folder} ({reason}): make the folder writable "
            "by the fairgov process (or free space on its disk), then run the audit again",
            folder=str(folder),
            reason=reason,
        )


class RunTakenOver(AuditError):
    """A queued run this process accepted was handed to another process by recovery (this one
    looked gone: its heartbeat was stale); the other one runs it, this one must not."""

    code: ClassVar[str] = "run_taken_over"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, owner: str | None) -> None:
        super().__init__(
            f"run {run_id} is no longer queued for this process: {owner or 'another process'} "
            "took it over while this one looked gone, and runs it; follow it there",
            run_id=run_id,
            owner=owner,
        )
