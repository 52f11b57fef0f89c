"""Run and model queries: what the API and the CLI list and show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from sqlmodel import Session, col, func, select

from audit.db_models import (
    AuditRunRecord,
    DatasetManifestRecord,
    ModelStatus,
    ModelVersion,
    RunStatus,
)
from audit.errors import AuditError
from audit.report import Report

Row = TypeVar("Row")


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows, and how many rows match in all."""

    rows: list[Row]
    count: int


def latest_attempt(session: Session, run_id: str) -> AuditRunRecord | None:
    """The newest recorded attempt of ``run_id``."""
    return session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.run_id == run_id.lower())
        .order_by(col(AuditRunRecord.id).desc())
    ).first()


def list_runs(
    session: Session,
    *,
    status: RunStatus | None = None,
    model: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[AuditRunRecord]:
    """Run attempts, newest first, optionally of one status and one model name.

    Examples
    --------
    >>> page = list_runs(session, status=RunStatus.COMPLETED, limit=10)  # doctest: +SKIP
    >>> page.count  # doctest: +SKIP
    3
    """
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
    return Page(list(rows), int(session.exec(counting).one()))


def list_models(
    session: Session, *, status: ModelStatus | None = None, offset: int = 0, limit: int = 50
) -> Page[ModelVersion]:
    """Model versions, most recently updated first, optionally of one gate status."""
    query = select(ModelVersion)
    counting = select(func.count()).select_from(ModelVersion)
    if status is not None:
        query = query.where(ModelVersion.status == status)
        counting = counting.where(ModelVersion.status == status)
    rows = session.exec(
        query.order_by(col(ModelVersion.updated_at).desc(), col(ModelVersion.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(list(rows), int(session.exec(counting).one()))


def get_model(session: Session, model_id: int) -> ModelVersion | None:
    """One model version by its id."""
    return session.get(ModelVersion, model_id)


def list_manifests(
    session: Session, *, offset: int = 0, limit: int = 50
) -> Page[DatasetManifestRecord]:
    """Every registered dataset manifest, newest first."""
    rows = session.exec(
        select(DatasetManifestRecord)
        .order_by(col(DatasetManifestRecord.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    count = session.exec(select(func.count()).select_from(DatasetManifestRecord)).one()
    return Page(list(rows), int(count))


def dataset_manifests(session: Session, dataset_id: str) -> list[DatasetManifestRecord]:
    """The manifests of one dataset (by id, any case), newest first."""
    return list(
        session.exec(
            select(DatasetManifestRecord)
            .where(DatasetManifestRecord.dataset_id == dataset_id.lower())
            .order_by(col(DatasetManifestRecord.id).desc())
        ).all()
    )


def stored_report(row: AuditRunRecord) -> Report | None:
    """The report a run wrote, or None if it wrote none or the file cannot be read as one."""
    if row.report_dir is None:
        return None
    try:
        report = Report.from_bytes((Path(row.report_dir) / "report.json").read_bytes())
        report.model  # noqa: B018 - a report this version cannot read is no report here
    except (OSError, AuditError):
        return None
    return report
