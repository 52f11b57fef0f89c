"""Runs over several datasets: each must be allowed and share the schema, before anything is
trained; the run id covers them all, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from audit.commitments import build_commitments, prove, read_records, read_salts
from audit.db_models import AuditRunRecord, RunStatus
from audit.errors import DatasetNotAllowed, DatasetSchemaMismatch
from audit.inclusion import check_inclusion
from audit.manifest import build_manifest, store_manifest
from audit.service import plan_run, run_audit
from audit.spec import ModelSpec
from audit.synthetic import write_loans_csv
from core.db import session_scope
from governance.chain.deploy import Deployment
from governance.policy.snapshot import read_snapshot
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, address_of, signed_offer
from tests.integration.audit.audit_support import audit_env, govern, mitigate, register_loans

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def rows(engine: Engine) -> list[AuditRunRecord]:
    with Session(engine) as session:
        return list(session.exec(select(AuditRunRecord)).all())


def test_datasets_of_another_schema_are_refused_before_any_run_is_recorded(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    register_loans(engine, tmp_path, "loans-a")
    csv = write_loans_csv(tmp_path / "other.csv", 200, seed=3)
    other = build_manifest(
        csv, name="loans-other", label="group", positive_label="A", sensitive_features=["approved"]
    )
    with session_scope(engine) as session:
        store_manifest(session, other)
    env = audit_env(engine, isolated_chain, deployment, tmp_path)
    spec = ModelSpec(name="mixed", datasets=("loans-a", "loans-other"))
    with pytest.raises(DatasetSchemaMismatch) as raised:
        plan_run(env, spec)
    assert raised.value.details == {"first": "loans-a", "other": "loans-other", "field": "label"}
    with pytest.raises(DatasetSchemaMismatch):
        run_audit(env, spec)
    assert rows(engine) == []


def test_every_dataset_must_be_allowed_and_the_run_id_covers_each_in_order(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = register_loans(engine, tmp_path, "loans-a")
    register_loans(engine, tmp_path / "b", "loans-b")  # registered, never allowed
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, a), mitigate()],
        "allow loans-a only",
    )
    env = audit_env(engine, isolated_chain, deployment, tmp_path)
    ab = ModelSpec(name="m", datasets=("loans-a", "loans-b"))
    ba = ModelSpec(name="m", datasets=("loans-b", "loans-a"))
    plan = plan_run(env, ab)
    assert [m.name for m in plan.manifests] == ["loans-a", "loans-b"]
    assert plan_run(env, ba).run_id != plan.run_id
    with pytest.raises(DatasetNotAllowed, match="'loans-b'"):
        run_audit(env, ab)
    (row,) = rows(engine)
    assert (row.run_id, row.status, row.error_code) == (
        plan.run_id,
        RunStatus.REFUSED,
        "dataset_not_allowed",
    )
    assert (row.dataset_name, row.dataset_id) == ("loans-a + loans-b", plan.dataset_id)
    assert row.model_hash is None  # nothing was trained


def test_a_record_owner_sees_every_model_its_dataset_trained_even_with_others(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = register_loans(engine, tmp_path, "loans-a")
    b = register_loans(engine, tmp_path / "b", "loans-b", seed=1)
    govern(
        isolated_chain,
        deployment,
        [
            signed_offer(isolated_chain, deployment, a),
            signed_offer(isolated_chain, deployment, b, SECOND_PROVIDER_KEY),
            mitigate(),
        ],
        "allow both",
    )
    env = audit_env(engine, isolated_chain, deployment, tmp_path)
    both = run_audit(env, ModelSpec(name="both", datasets=("loans-a", "loans-b"), n_boot=20))
    only_b = run_audit(env, ModelSpec(name="only-b", dataset="loans-b", n_boot=20))

    records = list(read_records(a.local_path()))
    commitments = build_commitments(records, salts=read_salts(tmp_path / "loans-a.salts"))
    proof = prove(commitments, 3)
    snapshot = read_snapshot(isolated_chain, deployment.addresses.training_policy)
    with Session(engine) as session:
        inclusion = check_inclusion(
            session,
            snapshot,
            dataset_id=a.dataset_id,
            record=json.loads(records[3]),
            salt=proof.salt,
            proof=list(proof.path),
        )
    assert [(m.model_name, m.run_id) for m in inclusion.models] == [("both", both.run_id)]
    assert only_b.run_id not in {m.run_id for m in inclusion.models}
    assert inclusion.dataset.provider == address_of(PROVIDER_KEY)
    (model,) = inclusion.models
    assert model.anchored
