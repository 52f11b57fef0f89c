"""A governed federated run end to end: real SuperLink and SuperNodes, anvil, anchor, gate.

Three providers' datasets are allowed on chain with a voted bound on demographic parity;
``run_federated_audit`` trains over their nodes, audits the summed counts and anchors the
report. The report's audit must equal ``audit_predictions`` on the pooled held-out rows of
the three files scored by the stored model: the exactness the federated audit promises.
With ThresholdOptimizer voted, it must equal the audit of the pooled held-out rows with
the predictions each node made (the stored model's, its random draws seeded per node).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import AuditRunRecord, RunStatus
from audit.errors import DatasetNotAllowed
from audit.evidence import audit_under_policy
from audit.federated.governed import run_federated_audit
from audit.federated.node import NodeConfig, load_checked
from audit.federated.processes import free_port, superlink, supernode
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.models import load_model
from audit.publish import AuditRun
from audit.report import Report
from audit.spec import FederatedSpec
from audit.synthetic import make_loans
from audit.training import predict
from audit.verify import frozen_snapshot
from bias_checks import Verdict
from core.canonical import canonical_json
from core.db import session_scope
from governance.actions import SetThreshold, dataset_id_of
from governance.chain import deploy, localchain
from governance.chain.contracts import bind
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern, mitigate
from tests.integration.audit.federated.federated_support import LOANS

pytestmark = [pytest.mark.chain, pytest.mark.slow]

NAMES = ("hospital-a", "hospital-b", "bank-c")
KEYS = (PROVIDER_KEY, SECOND_PROVIDER_KEY, SECOND_PROVIDER_KEY)


@dataclass(frozen=True)
class Federation:
    address: str
    configs: tuple[NodeConfig, ...]
    work: Path
    manifests: tuple[DatasetManifest, ...]  # voted, naming no privileged group

    def register(self, engine: Engine) -> None:
        """Store the voted manifests in the coordinator's database, as a run requires."""
        with session_scope(engine) as session:
            for manifest in self.manifests:
                store_manifest(session, manifest)


@pytest.fixture(scope="module")
def federation(
    w3: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Federation]:
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    work = tmp_path_factory.mktemp("governed")
    files = []
    for i, name in enumerate(NAMES):
        path = work / f"{name}.csv"
        make_loans(400, seed=10 + i).to_csv(path, index=False)
        files.append(path)
    manifests = tuple(
        build_manifest(
            path,
            name=name,
            label=LOANS.label,
            positive_label=LOANS.positive_label,
            sensitive_features=list(LOANS.sensitive),
            # Salted: the manifest counts its records, which bound each node's rows.
            salts_path=work / f"{name}.salts",
        )
        for name, path in zip(NAMES, files, strict=True)
    )
    actions = [
        allow_raw(w3, deployment, m.name, m.sha256, m.hash, m.uri, key)
        for m, key in zip(manifests, KEYS, strict=True)
    ]
    govern(w3, deployment, [*actions, dp_threshold("0.3")], "allow three nodes, bound DP")
    policy = deployment.addresses.training_policy
    port = free_port()
    address = f"127.0.0.1:{port}"
    configs = []
    with ExitStack() as stack:
        stack.enter_context(superlink(port=port, state_dir=work / "superlink"))
        for name, path, key in zip(NAMES, files, KEYS, strict=True):
            key_file = work / f"{name}.key"
            key_file.write_text(key)
            config = NodeConfig(path, dataset_id_of(name), key_file, local_chain.rpc_url, policy)
            configs.append(config)
            stack.enter_context(
                supernode(config, superlink=address, port=free_port(), log=work / f"{name}.log")
            )
        yield Federation(address, tuple(configs), work, manifests)
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def _spec(**overrides: object) -> FederatedSpec:
    fields: dict[str, object] = {
        "name": "federated-loans",
        "federated": True,
        "datasets": [dataset_id_of(n) for n in NAMES],
        "label": LOANS.label,
        "positive_label": LOANS.positive_label,
        "features": list(LOANS.inputs),
        "sensitive_features": list(LOANS.sensitive),
        # Every round costs seconds (each node starts a ClientApp process per message): the
        # tests of what follows training (thresholds, privileged group) ask for one.
        "rounds": 2,
        "epochs": 5,
        "n_boot": 100,
    }
    return FederatedSpec.model_validate(fields | overrides)


# The run's database writes are the central runs' (publish_run, finish_run), which are tested on
# PostgreSQL too; the Flower processes make this test long, so it runs on SQLite only.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_governed_federated_run_is_anchored_and_equals_the_pooled_audit(
    federation: Federation,
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
) -> None:
    federation.register(engine)
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    lines: list[str] = []
    run = run_federated_audit(
        env,
        _spec(),
        superlink=federation.address,
        work_dir=tmp_path / "flower",
        say=lines.append,
        timeout=300,
    )
    report = Report.from_bytes((run.report_dir / "report.json").read_bytes())
    assert report.hash == run.report_hash
    # Anchored: the registry holds the report's hash under the run id.
    registry = bind(w3, "AuditRegistry", deployment.addresses.audit_registry)
    _, _, report_hash, *_ = registry.functions.getAudit(bytes.fromhex(run.run_id[2:])).call()
    assert "0x" + report_hash.hex() == run.report_hash
    federation_block = report.data["federation"]
    assert {n["dataset_id"] for n in federation_block["nodes"]} == {dataset_id_of(n) for n in NAMES}
    assert federation_block["refused"] == []
    assert federation_block["aggregation"] == "fedavg"
    assert federation_block["epsilon"] is None
    assert [r["round"] for r in federation_block["rounds"]] == [1, 2]
    # The nodes sent no manifest; the run checked their rows against the voted manifests'
    # record counts it holds (session 26), so no node's rows are reported unverified.
    assert {n["train_rows"] + n["heldout_rows"] for n in federation_block["nodes"]} == {400}
    assert not [w for w in report.data["warnings"] if "unverified" in str(w)]

    # Pooled: every node's held-out rows, scored by the stored model, audited centrally.
    assert _pooled_audit(
        federation,
        run,
        engine=engine,
        w3=w3,
        deployment=deployment,
        tmp_path=tmp_path,
        per_node=False,
    ) == canonical_json(report.data["audit"])
    assert any(line.startswith("anchor:") for line in lines)


def _pooled_audit(
    federation: Federation,
    run: AuditRun,
    *,
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    per_node: bool,
    reference: dict[str, str] | None = None,
) -> bytes:
    """The central audit of the nodes' pooled held-out rows scored by the stored model:
    drawn over the pooled rows, or (``per_node``) over each node's rows as the nodes do."""
    with session_scope(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run.run_id)).one()
        assert row.status == RunStatus.COMPLETED
        assert row.verdict == run.verdict
    (model_file,) = list((tmp_path / "data" / "models" / "federated-loans").glob("*.skops"))
    model = load_model(model_file, expected_hash=run.model_hash)
    parts = [load_checked(c, LOANS) for c in federation.configs]
    x_test = pd.concat([p.x_test for p in parts], ignore_index=True)
    a_test = pd.concat([p.a_test for p in parts], ignore_index=True)
    y_test = np.concatenate([p.y_test for p in parts])
    if per_node:
        y_pred = np.concatenate(
            [predict(model, p.x_test, p.a_test, random_state=LOANS.seed) for p in parts]
        )
    else:
        y_pred = predict(model, x_test, a_test, random_state=LOANS.seed)
    snapshot = frozen_snapshot(w3, deployment.addresses.training_policy)
    pooled = audit_under_policy(
        snapshot,
        y_test,
        y_pred,
        sensitive_features=a_test,
        n_boot=100,
        random_state=0,
        reference_group=reference,
    )
    return canonical_json(json.loads(pooled.to_canonical_json()))


def test_a_dataset_the_policy_does_not_allow_starts_nothing(
    federation: Federation,
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
) -> None:
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    spec = _spec(datasets=[dataset_id_of(NAMES[0]), dataset_id_of("never-offered")])
    with pytest.raises(DatasetNotAllowed):
        run_federated_audit(
            env, spec, superlink=federation.address, work_dir=tmp_path / "flower", timeout=60
        )
    with session_scope(engine) as session:
        assert session.exec(select(AuditRunRecord)).all() == []
    assert not (tmp_path / "flower").exists()


@pytest.fixture
def threshold_optimizer_voted(w3: Web3, deployment: deploy.Deployment) -> Iterator[None]:
    """ThresholdOptimizer voted for one test; the chain is reverted after it."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    govern(w3, deployment, [mitigate("threshold_optimizer")], "mitigate with ThresholdOptimizer")
    yield
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


# One process-level run: the database backend is not what this test is about.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("threshold_optimizer_voted")
def test_a_voted_threshold_optimizer_is_fitted_applied_stored_and_gated(
    federation: Federation,
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
) -> None:
    federation.register(engine)
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    lines: list[str] = []
    run = run_federated_audit(
        env,
        _spec(rounds=1),
        superlink=federation.address,
        work_dir=tmp_path / "flower",
        say=lines.append,
        timeout=300,
    )
    report = Report.from_bytes((run.report_dir / "report.json").read_bytes())
    assert report.data["model"]["mitigation"] == "threshold_optimizer(demographic_parity)"
    assert any("thresholds fitted from the histograms of 3 node(s)" in line for line in lines)
    # The verdict is recorded on chain for the stored model, which applies the thresholds.
    registry = bind(w3, "AuditRegistry", deployment.addresses.audit_registry)
    model_hash, _, report_hash, _, passed, *_ = registry.functions.getAudit(
        bytes.fromhex(run.run_id[2:])
    ).call()
    assert ("0x" + model_hash.hex(), "0x" + report_hash.hex()) == (run.model_hash, run.report_hash)
    assert passed == (run.verdict == Verdict.PASS)
    latest_run, _ = registry.functions.latestVerdict(bytes.fromhex(run.model_hash[2:])).call()
    assert "0x" + latest_run.hex() == run.run_id
    (model_file,) = list((tmp_path / "data" / "models" / "federated-loans").glob("*.skops"))
    assert load_model(model_file, expected_hash=run.model_hash)["kind"] == "threshold_optimizer"
    # Exact: the pooled held-out rows with the predictions the nodes made.
    assert _pooled_audit(
        federation,
        run,
        engine=engine,
        w3=w3,
        deployment=deployment,
        tmp_path=tmp_path,
        per_node=True,
    ) == canonical_json(report.data["audit"])


@pytest.fixture
def privileged_group_voted(
    federation: Federation, w3: Web3, deployment: deploy.Deployment
) -> Iterator[list[DatasetManifest]]:
    """The three datasets allowed again with manifests naming group A as privileged; the
    chain is reverted after the test."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    manifests = [
        build_manifest(
            config.data,
            name=name,
            label=LOANS.label,
            positive_label=LOANS.positive_label,
            sensitive_features=list(LOANS.sensitive),
            reference_group={"group": "A"},
        )
        for name, config in zip(NAMES, federation.configs, strict=True)
    ]
    actions = [
        allow_raw(w3, deployment, m.name, m.sha256, m.hash, m.uri, key)
        for m, key in zip(manifests, KEYS, strict=True)
    ]
    govern(w3, deployment, [*actions, SetThreshold(metric="disparate_impact",
        value=Decimal("0.8"), direction="lower")], "name the privileged group")  # fmt: skip
    yield manifests
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_summed_counts_are_judged_against_the_voted_privileged_group(  # noqa: PLR0917 (fixtures)
    federation: Federation,
    privileged_group_voted: list[DatasetManifest],
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
) -> None:
    with session_scope(engine) as session:
        for manifest in privileged_group_voted:
            store_manifest(session, manifest)
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    run = run_federated_audit(
        env,
        _spec(rounds=1),
        superlink=federation.address,
        work_dir=tmp_path / "flower",
        timeout=300,
    )
    report = Report.from_bytes((run.report_dir / "report.json").read_bytes())
    assert report.data["audit"]["config"]["reference_group"] == {"group": "A"}
    assert [c["threshold"]["metric"] for c in report.data["audit"]["checks"]] == [
        "demographic_parity_difference",
        "disparate_impact",
    ]
    assert _pooled_audit(
        federation,
        run,
        engine=engine,
        w3=w3,
        deployment=deployment,
        tmp_path=tmp_path,
        per_node=False,
        reference={"group": "A"},
    ) == canonical_json(report.data["audit"])
