"""The pipeline on UCI Adult, when the shared copy exists on this machine (never committed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.manifest import build_manifest, store_manifest
from audit.service import run_audit
from audit.spec import ModelSpec
from core.db import session_scope
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern

ADULT = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "adult.data"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip

pytestmark = [
    pytest.mark.chain,
    pytest.mark.slow,
    pytest.mark.skipif(not ADULT.exists(), reason="UCI Adult is not in ../shared/data"),
]


def test_adult_runs_through_the_governed_pipeline(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    manifest = build_manifest(
        ADULT.resolve(),
        name="uci-adult",
        label="income",
        positive_label=">50K",
        sensitive_features=["sex"],
        features=[c for c in COLUMNS if c not in ("income", "sex", "race", "fnlwgt")],
        columns=COLUMNS,
        licence="CC-BY-4.0",
        salts_path=tmp_path / "adult.salts",
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1")],
        "adult",
    )
    run = run_audit(
        audit_env(engine, isolated_chain, deployment, tmp_path),
        ModelSpec(name="adult-lr", dataset="uci-adult", n_boot=50),
    )
    assert run.verdict == "FAIL"  # men are selected far more often than women
    assert run.model_status == "blocked"
