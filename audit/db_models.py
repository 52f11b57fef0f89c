"""Tables of the audit package: dataset manifests, audit runs and the model registry.

Status, kind and verdict columns are typed with their enums but stored as the plain strings
the migrations created (``AutoString``); rows read back hold ``str`` values, which compare
equal to the ``StrEnum`` members.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Connection, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapper
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from audit.run_heartbeat import LIVE, keep_alive
from audit.run_owner import process_owner
from bias_checks import Verdict


def utcnow() -> datetime:
    return datetime.now(UTC)


class RunKind(StrEnum):
    """What a run audited; the same word in the run's row and in its report's ``kind``.

    ``training_run`` trained the model and audited it; ``reaudit`` audited an existing model
    file again under a newer policy (nothing trained); ``predictions`` audited a third
    party's predictions file (no model, no policy, no row); ``external`` scored a registered
    ONNX model, trained elsewhere, on voted data (:mod:`audit.external`).
    """

    TRAINING_RUN = "training_run"
    REAUDIT = "reaudit"
    PREDICTIONS = "predictions"
    EXTERNAL = "external"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    REFUSED = "refused"


class ModelStatus(StrEnum):
    CANDIDATE = "candidate"
    APPROVED = "approved"
    BLOCKED = "blocked"


class DatasetManifestRecord(SQLModel, table=True):
    """One registered manifest; a dataset name may have several (one per version or file)."""

    __tablename__ = "dataset_manifest"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=200)
    version: str = Field(max_length=100)
    dataset_id: str = Field(index=True, max_length=66)
    manifest_hash: str = Field(unique=True, max_length=66)
    content_hash: str = Field(max_length=66)
    manifest_json: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class AuditRunRecord(SQLModel, table=True):
    """One attempt at an audit run. Re-running the same inputs reuses the run id.

    A run accepted over HTTP is a ``queued`` row (its spec in ``spec_json``) before the 202
    is sent, so a crash loses no accepted run.
    """

    __tablename__ = "audit_run"

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(index=True, max_length=66)
    kind: RunKind = Field(default=RunKind.TRAINING_RUN, sa_type=AutoString(length=20))
    model_name: str = Field(index=True, max_length=200)
    dataset_name: str = Field(max_length=200)
    dataset_id: str = Field(max_length=66)
    status: RunStatus = Field(default=RunStatus.QUEUED, index=True, sa_type=AutoString(length=12))
    error_code: str | None = Field(default=None, max_length=60)
    error: str | None = Field(default=None, sa_column=Column(Text))
    spec_json: str = Field(sa_column=Column(Text, nullable=False))
    chain_id: int = Field(sa_type=BigInteger)
    policy_version: int = Field(sa_type=BigInteger)
    policy_block: int = Field(sa_type=BigInteger)
    policy_snapshot_hash: str = Field(max_length=66)
    content_hash: str | None = Field(default=None, max_length=66)
    model_hash: str | None = Field(default=None, index=True, max_length=66)
    report_hash: str | None = Field(default=None, max_length=66)
    verdict: Verdict | None = Field(default=None, sa_type=AutoString(length=12))
    report_dir: str | None = Field(default=None, sa_column=Column(Text))
    anchor_tx: str | None = Field(default=None, max_length=66)
    anchor_block: int | None = Field(default=None, sa_type=BigInteger)
    #: The hash of the anchor's block when a pass of :mod:`audit.reanchor` last saw it there,
    #: and since when; the anchor is ``final`` once that block is deep enough and was seen
    #: long enough, and is checked against the chain on every pass until then (migration 0012).
    anchor_block_hash: str | None = Field(default=None, max_length=66)
    anchor_seen_at: datetime | None = None
    anchor_final: bool = Field(default=False, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    #: The process that accepted or runs the attempt (:mod:`audit.run_owner`); a ``queued`` or
    #: ``running`` row whose owner is gone is recovered at start-up (:mod:`audit.run_recovery`).
    owner: str | None = Field(default_factory=process_owner, max_length=200)
    #: When the owner last showed it lives (:mod:`audit.run_heartbeat`): refreshed every
    #: ``HEARTBEAT_INTERVAL`` while the row is ``queued`` or ``running``; a row silent for
    #: ``HEARTBEAT_TIMEOUT`` is recovered whatever its host (migration 0013).
    heartbeat_at: datetime = Field(default_factory=utcnow)


@event.listens_for(AuditRunRecord, "after_insert")
@event.listens_for(AuditRunRecord, "after_update")
def _beat_while_live(_mapper: Mapper[AuditRunRecord], connection: Connection, row: object) -> None:
    """Keep this process's heartbeat going while it writes a live row it owns."""
    assert isinstance(row, AuditRunRecord)
    if row.status in LIVE and row.owner == process_owner():
        keep_alive(connection.engine)


class ModelVersion(SQLModel, table=True):
    """A trained model file and whether serving may use it."""

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("name", "model_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=200)
    model_hash: str = Field(index=True, max_length=66)
    artifact_path: str = Field(sa_column=Column(Text, nullable=False))
    status: ModelStatus = Field(
        default=ModelStatus.CANDIDATE, index=True, sa_type=AutoString(length=12)
    )
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    latest_run_id: str | None = Field(default=None, max_length=66)
    policy_version: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExternalModelRecord(SQLModel, table=True):
    """A registered external (ONNX) model file: its name, hash, stored path and signature."""

    __tablename__ = "external_model"
    __table_args__ = (UniqueConstraint("name", "model_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=200)
    model_hash: str = Field(index=True, max_length=66)
    path: str = Field(sa_column=Column(Text, nullable=False))
    size: int = Field(sa_type=BigInteger)
    signature_json: str = Field(sa_column=Column(Text, nullable=False))
    producer: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
