"""A Parquet folder through the provider's normal path on anvil: its records committed, an
offer signed with ``fairgov provider offer``, allowed by a vote, trained on by a governed run,
a record of it proved with ``fairgov provider prove`` and checked against the chain's root
(naming the model); and no training once a file has been added to the folder after the vote."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select
from typer.testing import CliRunner
from web3 import Web3

from audit.db_models import AuditRunRecord
from audit.errors import DatasetHashMismatch
from audit.inclusion import check_inclusion
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.parquet_records import parquet_records
from audit.service import plan_run, run_audit
from audit.spec import ModelSpec
from audit.synthetic import FEATURES, LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from audit.verify import verify_report
from cli.compose import migrated_engine
from cli.main import app
from core.db import session_scope
from core.settings import Settings
from governance.actions import AllowDataset
from governance.chain import deploy
from governance.chain.deploy import Deployment
from governance.policy.snapshot import read_snapshot
from tests.helpers import PROVIDER_KEY, address_of
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern, mitigate

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _register(engine: Engine, manifest: DatasetManifest, *, dispose: bool = False) -> None:
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    if dispose:
        engine.dispose()


def test_a_parquet_folder_is_offered_voted_trained_on_and_a_record_proved(
    isolated_chain: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    w3 = isolated_chain
    cli_dir = tmp_path / "cli"
    cli_dir.mkdir()
    deploy.save(deployment, cli_dir / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(cli_dir))
    monkeypatch.setenv("FAIRGOV_RPC_URL", w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "200")
    rows = pd.read_csv(write_loans_csv(tmp_path / "loans.csv"), skipinitialspace=True)
    # A column the model does not use, null in odd rows: committed as JSON null.
    rows["note"] = ["checked" if i % 2 == 0 else None for i in range(len(rows))]
    folder = tmp_path / "loans"
    folder.mkdir()
    for i in range(4):
        rows.iloc[i * 1000 : (i + 1) * 1000].to_parquet(folder / f"part-{i}.parquet")
    salts = tmp_path / "loans.salts"
    manifest = build_manifest(
        folder,
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        features=list(FEATURES),
        salts_path=salts,
    )
    _register(engine, manifest)
    # The provider's commands use the data directory's database: registered there too.
    _register(migrated_engine(Settings()), manifest, dispose=True)
    manifest_file = tmp_path / "loans.manifest.json"
    manifest_file.write_bytes(manifest.canonical_json())
    # The provider's own command checks the records against the root, signs, and checks the
    # signed offer with the policy contract; the DAO votes the action it prints.
    out = _cli("provider", "offer", str(manifest_file), "--salts", str(salts), "--dev-account", "5")
    (action,) = (AllowDataset.model_validate(a) for a in json.loads(out))
    assert action.offer.records_root == manifest.records_root
    assert action.offer.provider == address_of(PROVIDER_KEY)
    govern(w3, deployment, [action, dp_threshold("0.1"), mitigate()], "allow the loans folder")
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    spec = ModelSpec(name="loans-lr", dataset="loans")

    run = run_audit(env, spec)
    assert run.verdict == "PASS"
    report_bytes = (run.report_dir / "report.json").read_bytes()
    dataset = json.loads(report_bytes)["dataset"]
    assert (dataset["content_hash"], dataset["rows"]) == (manifest.sha256, 4000)
    assert verify_report(w3, deployment.addresses.audit_registry, report_bytes).ok

    # A record owner in the third file gets a proof, and it checks against the chain's root.
    out = _cli("provider", "prove", str(manifest_file), "--salts", str(salts), "--row", "2345")
    claim = json.loads(out)
    assert claim["record"] == json.loads(list(parquet_records(folder / "part-2.parquet"))[345])
    assert claim["record"]["note"] is None  # row 2345 is odd
    # `fairgov provider check` of that proof, on this test's database (SQLite or PostgreSQL).
    snapshot = read_snapshot(w3, deployment.addresses.training_policy)
    with session_scope(engine) as session:
        inclusion = check_inclusion(
            session,
            snapshot,
            dataset_id=claim["dataset_id"],
            record=claim["record"],
            salt=bytes.fromhex(claim["salt"][2:]),
            proof=claim["proof"],
        )
    assert inclusion.dataset.records_root == manifest.records_root
    assert [m.model_hash for m in inclusion.models] == [run.model_hash]

    shutil.copy(folder / "part-0.parquet", folder / "part-4.parquet")  # added after the vote
    assert plan_run(env, spec).run_id != run.run_id
    models_before = sorted((tmp_path / "data" / "models").rglob("*.skops"))
    with pytest.raises(DatasetHashMismatch, match="'loans'"):
        run_audit(env, spec)
    assert sorted((tmp_path / "data" / "models").rglob("*.skops")) == models_before
    with session_scope(engine) as session:
        codes = [r.error_code for r in session.exec(select(AuditRunRecord)).all()]
    assert codes == [None, "dataset_hash_mismatch"]
