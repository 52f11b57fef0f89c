"""Audit runs: reproducible, frozen on their policy, refused on a changed manifest, atomic."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

import audit.publish
from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord
from audit.errors import ManifestMismatch, ReportWriteFailed
from audit.manifest import build_manifest, store_manifest
from audit.service import run_audit
from audit.spec import ModelSpec
from core.db import session_scope
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.policy.snapshot import read_snapshot
from tests.helpers import mine, signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]
SPEC = ModelSpec(name="loans-lr", dataset="loans", n_boot=50)


@pytest.fixture
def allowed(isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path) -> Web3:
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1"), mitigate()]
    govern(isolated_chain, deployment, actions, "allow loans with mitigation")
    return isolated_chain


def _run(w3: Web3, deployment: Deployment, engine: Engine, data_dir: Path, **kw: object):  # type: ignore[no-untyped-def]
    return run_audit(audit_env(engine, w3, deployment, data_dir), SPEC, **kw)


def test_same_inputs_give_the_same_report_hash(
    allowed: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    first = _run(allowed, deployment, engine, tmp_path / "a")
    mine(allowed, 5)  # a later block, same policy version
    second = _run(allowed, deployment, engine, tmp_path / "b")
    assert second.run_id == first.run_id
    assert second.report_hash == first.report_hash
    assert second.model_hash == first.model_hash
    assert (second.report_dir / "report.json").read_bytes() == (
        first.report_dir / "report.json"
    ).read_bytes()
    assert second.anchor.block_number == first.anchor.block_number  # published once


def test_a_vote_landing_mid_run_does_not_change_its_verdict(
    allowed: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    policy = deployment.addresses.training_policy
    version_before = read_snapshot(allowed, policy).policy_version

    def progress(stage: str, step: int, total: int) -> None:
        if stage == "train":
            govern(allowed, deployment, [dp_threshold("0.000001")], "impossibly strict")

    run = _run(allowed, deployment, engine, tmp_path, progress=progress)
    assert read_snapshot(allowed, policy).policy_version > version_before
    assert run.policy_version == version_before
    assert run.verdict == "PASS"


def test_a_manifest_that_differs_from_the_allowed_one_is_refused(
    allowed: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    changed = build_manifest(
        tmp_path / "loans.csv",
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        description="the same file, described differently",
        salts_path=tmp_path / "changed.salts",
    )
    with session_scope(engine) as session:
        store_manifest(session, changed)
    with pytest.raises(ManifestMismatch):
        _run(allowed, deployment, engine, tmp_path)
    assert not (tmp_path / "models").exists()


def test_a_crash_before_anchoring_leaves_no_report_and_no_anchor(
    allowed: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut while rendering")

    monkeypatch.setattr(audit.publish, "render_all", crash)
    with pytest.raises(RuntimeError):
        _run(allowed, deployment, engine, tmp_path)
    assert [p.name for p in (tmp_path / "reports").iterdir()] == []
    with session_scope(engine) as session:
        (row,) = session.exec(select(AuditRunRecord)).all()
    assert (row.status, row.error_code, row.report_hash) == ("failed", "RuntimeError", None)
    assert read_anchor(allowed, deployment.addresses.audit_registry, row.run_id) is None


def test_a_run_anchored_before_a_crash_records_its_transaction_when_run_again(
    allowed: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed after the anchor was mined")

    with monkeypatch.context() as patch:
        patch.setattr(audit.publish, "record_audit", crash)
        with pytest.raises(RuntimeError):
            _run(allowed, deployment, engine, tmp_path)
    with session_scope(engine) as session:
        (crashed,) = session.exec(select(AuditRunRecord)).all()
    assert crashed.report_hash is not None
    assert crashed.anchor_tx is None
    registry = bind(allowed, "AuditRegistry", deployment.addresses.audit_registry)
    (published,) = registry.events.AuditPublished().get_logs(from_block=0)

    again = _run(allowed, deployment, engine, tmp_path)  # reads the anchor back
    assert again.anchor.tx_hash == "0x" + published["transactionHash"].hex().removeprefix("0x")
    with session_scope(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.status == "completed")).one()
    assert (row.anchor_tx, row.anchor_block) == (again.anchor.tx_hash, published["blockNumber"])


def test_a_reports_folder_it_cannot_write_fails_the_run_with_one_coded_line(
    allowed: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read_only(report: object, directory: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    monkeypatch.setattr(audit.publish, "render_all", read_only)
    with pytest.raises(ReportWriteFailed) as raised:
        _run(allowed, deployment, engine, tmp_path)
    assert str(tmp_path / "reports") in raised.value.message
    assert "Permission denied" in raised.value.message
    with session_scope(engine) as session:
        (row,) = session.exec(select(AuditRunRecord)).all()
    assert (row.status, row.error_code) == ("failed", "report_write_failed")
    assert row.error == raised.value.message
