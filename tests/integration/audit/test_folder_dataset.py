"""A governed run on anvil that trains from a voted folder of Parquet files, and refuses to
train once a file has been added to the folder after the vote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import AuditRunRecord
from audit.errors import DatasetHashMismatch
from audit.manifest import build_manifest, store_manifest
from audit.service import plan_run, run_audit
from audit.spec import ModelSpec
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from audit.verify import verify_report
from core.db import session_scope
from governance.chain.deploy import Deployment
from tests.helpers import allow_raw
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern, mitigate

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def test_a_governed_run_trains_from_a_voted_parquet_folder(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3 = isolated_chain
    rows = pd.read_csv(write_loans_csv(tmp_path / "loans.csv"), skipinitialspace=True)
    folder = tmp_path / "loans"
    folder.mkdir()
    for i in range(4):
        rows.iloc[i * 1000 : (i + 1) * 1000].to_parquet(folder / f"part-{i}.parquet")
    manifest = build_manifest(
        folder,
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    # Record commitments need one CSV file, so the provider signs an offer of the hashes.
    offer = allow_raw(w3, deployment, manifest.name, manifest.sha256, manifest.hash, manifest.uri)
    govern(w3, deployment, [offer, dp_threshold("0.1"), mitigate()], "allow the loans folder")
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    spec = ModelSpec(name="loans-lr", dataset="loans")

    run = run_audit(env, spec)
    assert run.verdict == "PASS"
    report_bytes = (run.report_dir / "report.json").read_bytes()
    dataset = json.loads(report_bytes)["dataset"]
    assert (dataset["content_hash"], dataset["rows"]) == (manifest.sha256, 4000)
    assert verify_report(w3, deployment.addresses.audit_registry, report_bytes).ok

    shutil.copy(folder / "part-0.parquet", folder / "part-4.parquet")  # added after the vote
    assert plan_run(env, spec).run_id != run.run_id
    models_before = sorted((tmp_path / "data" / "models").rglob("*.skops"))
    with pytest.raises(DatasetHashMismatch, match="'loans'"):
        run_audit(env, spec)
    assert sorted((tmp_path / "data" / "models").rglob("*.skops")) == models_before
    with session_scope(engine) as session:
        codes = [r.error_code for r in session.exec(select(AuditRunRecord)).all()]
    assert codes == [None, "dataset_hash_mismatch"]
