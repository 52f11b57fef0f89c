"""The last steps of every governed run, central, external or federated: write the report
directory atomically, anchor the report's hash, gate the model, and record how the run ended.

The report directory is rendered into a staging directory and renamed into place before the
anchor is sent, so a crash leaves no half-written report and no anchor pointing at missing
files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from audit.anchor import Anchor, publish_audit
from audit.db_models import AuditRunRecord, ModelStatus, RunKind, RunStatus, utcnow
from audit.env import AuditEnv
from audit.errors import ReportWriteFailed
from audit.gate import record_audit
from audit.render import render_all
from audit.report import Report
from bias_checks import OnInconclusive, Verdict
from core.db import session_scope
from core.errors import FairgovError
from core.fence import LeaseLost
from governance.policy.snapshot import PolicySnapshot


@dataclass(frozen=True)
class AuditRun:
    """The outcome of a completed run."""

    run_id: str
    kind: RunKind
    model_name: str
    verdict: Verdict
    model_hash: str
    report_hash: str
    report_dir: Path
    policy_version: int
    anchor: Anchor
    model_status: ModelStatus


def _write_report_dir(report: Report, directory: Path) -> Path:
    """Render into a staging directory, then rename it into place in one step.

    Raises :class:`ReportWriteFailed` when the reports folder cannot be written.
    """
    try:
        return _render_in_place(report, directory)
    except OSError as exc:
        raise ReportWriteFailed(directory.parent, exc.strerror or str(exc)) from exc


def _render_in_place(report: Report, directory: Path) -> Path:
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        render_all(report, staging / "report")
        if directory.exists():
            old = staging / "old"
            os.replace(directory, old)
        os.replace(staging / "report", directory)
        fd = os.open(directory.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return directory


def update_row(engine: Engine, row_id: int, **fields: Any) -> None:
    """Set ``fields`` on the run row ``row_id``."""
    with session_scope(engine) as session:
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        for name, value in fields.items():
            setattr(row, name, value)
        session.add(row)


def finish_run(engine: Engine, row_id: int, status: RunStatus, exc: BaseException) -> None:
    """Record that the run in row ``row_id`` ended ``status`` because of ``exc``."""
    code = exc.code if isinstance(exc, FairgovError | LeaseLost) else type(exc).__name__
    update_row(engine, row_id, status=status, error_code=code, error=str(exc), finished_at=utcnow())


@dataclass(frozen=True)
class Publication:
    """A built report and its stored model, ready to be written, anchored and gated."""

    row_id: int
    kind: RunKind
    model_name: str
    report: Report
    model_path: Path
    model_hash: str
    dataset_id: str
    snapshot: PolicySnapshot
    on_inconclusive: OnInconclusive


def publish_run(
    env: AuditEnv, auditor_key: str, done: Publication, *, step: Callable[[str], None]
) -> AuditRun:
    """Write the report directory, anchor the report's hash and gate the model: the last
    steps of every governed run, central or federated. ``step`` announces each stage."""
    report, snapshot, row_id = done.report, done.snapshot, done.row_id
    run_id, model_hash, kind = report.run_id, done.model_hash, done.kind
    report_dir = _write_report_dir(report, env.reports_dir / run_id)
    update_row(
        env.engine,
        row_id,
        model_hash=model_hash,
        report_hash=report.hash,
        verdict=report.verdict,
        report_dir=str(report_dir),
    )
    step("anchor")
    anchor = publish_audit(
        env.w3,
        env.deployment.addresses.audit_registry,
        auditor_key,
        run_id=run_id,
        model_hash=model_hash,
        dataset_id=done.dataset_id,
        report_hash=report.hash,
        policy_version=snapshot.policy_version,
        passed=report.verdict == Verdict.PASS,
    )
    step("gate")
    with session_scope(env.engine) as session:
        version = record_audit(
            session,
            name=done.model_name,
            model_hash=model_hash,
            artifact_path=str(done.model_path),
            run_id=run_id,
            verdict=report.verdict,
            anchored=True,
            policy_version=snapshot.policy_version,
            on_inconclusive=done.on_inconclusive,
        )
        status = ModelStatus(version.status)
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        row.status, row.finished_at = RunStatus.COMPLETED, utcnow()
        row.anchor_tx, row.anchor_block = anchor.tx_hash, anchor.block_number
        session.add(row)
    return AuditRun(
        run_id=run_id,
        kind=kind,
        model_name=done.model_name,
        verdict=report.verdict,
        model_hash=model_hash,
        report_hash=report.hash,
        report_dir=report_dir,
        policy_version=snapshot.policy_version,
        anchor=anchor,
        model_status=status,
    )
