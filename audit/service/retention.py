"""Report retention: which report directories may be deleted.

Kept whatever their age: the report of every anchored run (its hash is on chain, so auditors
will ask for it) and of every approved model's latest run. That leaves the reports of runs
that never anchored, directories no run row knows, and staging leftovers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion
from audit.env import AuditEnv


def reports_to_keep(session: Session) -> set[str]:
    """The run ids whose reports are kept at any age: anchored, or an approved model's."""
    anchored = session.exec(
        select(AuditRunRecord.run_id).where(col(AuditRunRecord.anchor_tx).is_not(None))
    ).all()
    approved = session.exec(
        select(ModelVersion.latest_run_id).where(ModelVersion.status == ModelStatus.APPROVED)
    ).all()
    return {r for r in [*anchored, *approved] if r}


@dataclass(frozen=True)
class Retained:
    """How many old report directories were deleted, and how many old ones were kept."""

    deleted: int
    kept: int


def delete_old_reports(env: AuditEnv, *, older_than: datetime) -> Retained:
    """Delete the report directories last changed before ``older_than`` that nobody can ask
    about (see the module docstring).

    Examples
    --------
    >>> delete_old_reports(env, older_than=utcnow() - timedelta(days=90))  # doctest: +SKIP
    Retained(deleted=2, kept=5)
    """
    with Session(env.engine) as session:
        keep = reports_to_keep(session)
    cutoff = older_than.timestamp()
    reports = env.reports_dir
    deleted = kept = 0
    for directory in sorted(reports.iterdir()) if reports.is_dir() else []:
        if not directory.is_dir() or directory.stat().st_mtime >= cutoff:
            continue
        if directory.name in keep:
            kept += 1
            continue
        shutil.rmtree(directory, ignore_errors=True)
        deleted += 1
    return Retained(deleted, kept)
