"""Governed runs with an operator-allowed scikit-learn classifier named ``module:Class``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord, ModelVersion
from audit.errors import EstimatorNotAllowed, ModelTypesNotAllowed
from audit.models import load_model
from audit.runs import reaudit_model
from audit.service import run_audit
from audit.spec import parse_spec
from core.db import session_scope
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]
FOREST = "sklearn.ensemble:RandomForestClassifier"
SPEC = parse_spec(
    {
        "name": "loans-rf",
        "dataset": "loans",
        "estimator": FOREST,
        "hyperparameters": {"n_estimators": 20, "max_depth": 6},
        "n_boot": 50,
    }
)
ALLOWED = ("sklearn.ensemble", "sklearn.tree")


def _rows(engine: Engine) -> list[AuditRunRecord]:
    with session_scope(engine) as session:
        return list(session.exec(select(AuditRunRecord)).all())


# The run's database writes are every central run's, tested on PostgreSQL by test_runs.py.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_allowed_forest_is_trained_audited_anchored_and_reloaded(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3 = isolated_chain
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(w3, deployment, manifest), dp_threshold("0.3"), mitigate()]
    govern(w3, deployment, actions, "allow loans with mitigation")
    env = audit_env(engine, w3, deployment, tmp_path / "data")

    with pytest.raises(EstimatorNotAllowed, match="FAIRGOV_ESTIMATOR_MODULES"):
        run_audit(env, SPEC)
    assert _rows(engine) == []  # refused before anything is recorded

    # The forest holds sklearn.tree's Tree: a model file it could not reload is not anchored.
    with pytest.raises(ModelTypesNotAllowed, match=r"add sklearn\.tree to"):
        run_audit(dataclasses.replace(env, estimator_modules=("sklearn.ensemble",)), SPEC)
    (failed,) = _rows(engine)
    assert (failed.status, failed.error_code) == ("failed", "model_types_not_allowed")
    assert read_anchor(w3, deployment.addresses.audit_registry, failed.run_id) is None

    env = dataclasses.replace(env, estimator_modules=ALLOWED)
    run = run_audit(env, SPEC)
    assert read_anchor(w3, deployment.addresses.audit_registry, run.run_id) is not None
    report = json.loads((run.report_dir / "report.json").read_bytes())
    assert report["model"]["estimator"] == "RandomForestClassifier"
    assert report["model"]["spec"]["estimator"] == FOREST
    with session_scope(engine) as session:
        version = session.exec(
            select(ModelVersion).where(ModelVersion.model_hash == run.model_hash)
        ).one()
        session.expunge(version)
    stored = load_model(
        Path(version.artifact_path), expected_hash=run.model_hash, trusted_modules=ALLOWED
    )
    forest = stored["pipeline"].named_steps["estimator"]
    assert (type(forest).__name__, forest.n_estimators) == ("RandomForestClassifier", 20)

    again = reaudit_model(env, version, SPEC)  # loads the stored forest through skops
    assert (again.model_hash, again.verdict) == (run.model_hash, run.verdict)
