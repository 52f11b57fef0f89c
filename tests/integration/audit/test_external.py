"""Governed external audits on a real chain: ONNX models scored on voted data, anchored,
approved on PASS and blocked on FAIL; unregistered hashes and changed data are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord, ModelStatus, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import (
    DatasetHashMismatch,
    InvalidOnnxOutput,
    ModelNotApproved,
    ModelNotRegistered,
)
from audit.external import ExternalAuditSpec, register_onnx, run_external_audit
from audit.gate import require_approved
from audit.manifest import DatasetManifest
from bias_checks import Verdict
from core.db import session_scope
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern, register_loans
from tests.unit.audit.external import onnx_models as models

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture
def voted(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> tuple[AuditEnv, DatasetManifest]:
    """The loans dataset allowed with demographic parity difference <= 0.1."""
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1")]
    govern(isolated_chain, deployment, actions, "allow loans, dp <= 0.1")
    return audit_env(engine, isolated_chain, deployment, tmp_path / "data"), manifest


def _runs(env: AuditEnv) -> list[AuditRunRecord]:
    with session_scope(env.engine) as session:
        return list(session.exec(select(AuditRunRecord)).all())


def test_a_fair_model_is_approved_and_a_biased_one_blocked(
    voted: tuple[AuditEnv, DatasetManifest],
) -> None:
    env, _ = voted
    team_data = models.loans(3000, seed=7)  # the team trained on its own data
    fair = register_onnx(env, name="loans-xgb", data=models.xgboost_tensor(*team_data).data)
    biased = register_onnx(env, name="loans-pipe", data=models.sklearn_pipeline(*team_data).data)
    stages: list[str] = []

    fair_spec = ExternalAuditSpec(
        name="loans-xgb",
        model_hash=fair.model_hash,
        dataset="loans",
        inputs=models.NUMERIC,
        n_boot=0,
    )
    passed = run_external_audit(
        env, fair_spec, progress=lambda stage, step, total: stages.append(stage)
    )
    assert stages == ["policy", "verify", "score", "audit", "report", "anchor", "gate"]
    assert (passed.verdict, passed.model_status) == (Verdict.PASS, ModelStatus.APPROVED)
    assert passed.kind == RunKind.EXTERNAL
    assert passed.model_hash == fair.model_hash
    anchor = read_anchor(env.w3, env.deployment.addresses.audit_registry, passed.run_id)
    assert anchor is not None
    assert (anchor.model_hash, anchor.report_hash, anchor.passed) == (
        fair.model_hash,
        passed.report_hash,
        True,
    )
    report = json.loads((passed.report_dir / "report.json").read_bytes())
    external = report["model"]["external"]
    assert report["kind"] == "external"
    assert external["kind"] == "external_onnx"
    assert external["inputs"] == list(models.NUMERIC)
    assert external["scored_rows"] == report["dataset"]["rows"] == 4000
    assert any("content hash the DAO allowed on chain" in v for v in external["verified"])
    assert any("how the model was trained" in v for v in external["not_verified"])
    html = (passed.report_dir / "report.html").read_text("utf-8")
    assert "fairgov did not train this model" in html
    card = (passed.report_dir / "model-card.md").read_text("utf-8")
    assert "- not verified: how the model was trained, and on which data" in card
    again = run_external_audit(env, fair_spec)  # the same inputs: the same run and report
    assert (again.run_id, again.report_hash) == (passed.run_id, passed.report_hash)

    blocked = run_external_audit(
        env, ExternalAuditSpec(name="loans-pipe", model_hash=biased.model_hash, dataset="loans")
    )
    assert (blocked.verdict, blocked.model_status) == (Verdict.FAIL, ModelStatus.BLOCKED)
    with session_scope(env.engine) as session:
        assert require_approved(session, fair.model_hash).model_hash == fair.model_hash
        with pytest.raises(ModelNotApproved):
            require_approved(session, biased.model_hash)
    assert {(r.kind, r.status) for r in _runs(env)} == {(RunKind.EXTERNAL, RunStatus.COMPLETED)}


# Refusals write nothing or one row through finish_run (tested on PostgreSQL by the central
# runs); the approve/block test above covers the external_model table on both databases.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_unregistered_hash_is_refused_before_anything_is_recorded(
    voted: tuple[AuditEnv, DatasetManifest],
) -> None:
    env, _ = voted
    block = env.w3.eth.block_number
    spec = ExternalAuditSpec(name="loans-xgb", model_hash="0x" + "ab" * 32, dataset="loans")
    with pytest.raises(ModelNotRegistered, match=r"fairgov models register FILE\.onnx"):
        run_external_audit(env, spec)
    assert _runs(env) == []
    assert env.w3.eth.block_number == block  # no gas spent


# Refusals write nothing or one row through finish_run (tested on PostgreSQL by the central
# runs); the approve/block test above covers the external_model table on both databases.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_dataset_whose_bytes_changed_after_the_vote_is_refused(
    voted: tuple[AuditEnv, DatasetManifest],
) -> None:
    env, manifest = voted
    model = register_onnx(env, name="mlp", data=models.torch_like_mlp().data)
    path = manifest.local_path()
    path.write_bytes(path.read_bytes().replace(b",B,", b",A,", 50))
    block = env.w3.eth.block_number
    spec = ExternalAuditSpec(
        name="mlp",
        model_hash=model.model_hash,
        dataset="loans",
        output="logit",
        inputs=models.NUMERIC,
    )
    with pytest.raises(DatasetHashMismatch):
        run_external_audit(env, spec)
    (row,) = _runs(env)
    assert (row.status, row.error_code) == (RunStatus.REFUSED, "dataset_hash_mismatch")
    assert env.w3.eth.block_number == block
    assert read_anchor(env.w3, env.deployment.addresses.audit_registry, row.run_id) is None


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_scores_that_are_not_probabilities_fail_the_run_before_any_gas_is_spent(
    voted: tuple[AuditEnv, DatasetManifest],
) -> None:
    """Review of #17: a model's outputs are checked while scoring, before the anchor."""
    env, _ = voted
    model = register_onnx(env, name="mlp", data=models.torch_like_mlp().data)
    block = env.w3.eth.block_number
    spec = ExternalAuditSpec(
        name="mlp",
        model_hash=model.model_hash,
        dataset="loans",
        output="probability",  # the file gives logits
        inputs=models.NUMERIC,
    )
    with pytest.raises(InvalidOnnxOutput, match="say 'output: logit' in the spec"):
        run_external_audit(env, spec)
    (row,) = _runs(env)
    assert (row.status, row.error_code) == (RunStatus.FAILED, "invalid_onnx_output")
    assert env.w3.eth.block_number == block  # no gas spent
    assert read_anchor(env.w3, env.deployment.addresses.audit_registry, row.run_id) is None
    with session_scope(env.engine) as session, pytest.raises(ModelNotApproved):
        require_approved(session, model.model_hash)
