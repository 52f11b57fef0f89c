"""Rows an external (ONNX) model's audits leave: its run (``external`` or ``reaudit``) with
an :class:`~audit.external.ExternalAuditSpec` and its approved version."""

from __future__ import annotations

from sqlmodel import Session

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunKind, RunStatus
from audit.external import ExternalAuditSpec
from governance.actions import dataset_id_of


def external_audit(
    session: Session, name: str, dataset: str, *, kind: RunKind = RunKind.EXTERNAL, n: int = 1
) -> ExternalAuditSpec:
    """A completed external audit of a registered model on ``dataset``, and its approved
    version."""
    model_hash = "0x" + f"{n:064x}"
    spec = ExternalAuditSpec(name=name, model_hash=model_hash, dataset=dataset)
    session.add(
        AuditRunRecord(
            run_id="0x" + f"{n + 1000:064x}",
            kind=kind,
            model_name=name,
            dataset_name=dataset,
            dataset_id=dataset_id_of(dataset),
            status=RunStatus.COMPLETED,
            spec_json=spec.canonical_json().decode(),
            chain_id=31337,
            policy_version=4,
            policy_block=1,
            policy_snapshot_hash="0x" + "00" * 32,
            model_hash=model_hash,
        )
    )
    session.add(
        ModelVersion(
            name=name,
            model_hash=model_hash,
            artifact_path=f"/external/{name}/{n}.onnx",
            status=ModelStatus.APPROVED,
            latest_run_id="0x" + f"{n + 1000:064x}",
        )
    )
    return spec
