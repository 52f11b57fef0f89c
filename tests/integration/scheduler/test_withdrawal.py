"""A provider withdraws a dataset on chain: the gate blocks every model trained on it from
the sync that indexes the withdrawal, and the scheduler's job retrains what can be retrained
on the datasets that remain. Real anvil, real provider keys, the real job functions."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunStatus
from audit.errors import ModelNotApproved
from audit.gate import NOTHING_LEFT_TO_RETRAIN, require_approved
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.service import retrain_after_withdrawal
from audit.spec import ModelSpec
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from audit.verify import verify_report
from core.canonical import canonical_json
from core.db import session_scope
from governance.chain.deploy import Deployment
from governance.index.models import PolicyEvent
from scheduler import jobs
from scheduler.db_models import JobStatus
from scheduler.jobs import run_job
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, Governance, address_of, signed_offer
from tests.integration.audit.audit_support import govern, mitigate
from tests.integration.scheduler.test_jobs import make_context, runs

pytestmark = [pytest.mark.chain, pytest.mark.slow]

PROVIDER_A, PROVIDER_B = PROVIDER_KEY, SECOND_PROVIDER_KEY


@pytest.fixture
def gov(isolated_chain: Web3, deployment: Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def provided(engine: Engine, data_dir: Path, name: str, seed: int, key: str) -> DatasetManifest:
    """A provider's synthetic loans file, its manifest naming the provider, registered."""
    csv = write_loans_csv(data_dir / f"{name}.csv", 3000, seed=seed)
    manifest = build_manifest(
        csv,
        name=name,
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        provider=address_of(key),
        licence="CC0-1.0",
        salts_path=data_dir / f"{name}.salts",
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    return manifest


def versions(engine: Engine, name: str) -> list[ModelVersion]:
    with Session(engine) as session:
        query = select(ModelVersion).where(ModelVersion.name == name)
        return list(session.exec(query.order_by(col(ModelVersion.id))).all())


def report_of(engine: Engine, run_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run_id)).first()
    assert row is not None
    assert row.report_dir is not None
    data: dict[str, Any] = json.loads((Path(row.report_dir) / "report.json").read_bytes())
    return data


def refusal(engine: Engine, name: str) -> ModelNotApproved:
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as raised:
        require_approved(session, name)
    return raised.value


def allow_two_providers(
    gov: Governance, deployment: Deployment, engine: Engine, data_dir: Path
) -> DatasetManifest:
    """Register loans-a (provider A) and loans-b (provider B) and allow both by a vote on
    their signed offers, with the mitigation; returns loans-a."""
    a = provided(engine, data_dir, "loans-a", 1, PROVIDER_A)
    b = provided(engine, data_dir, "loans-b", 2, PROVIDER_B)
    offers = [
        signed_offer(gov.w3, deployment, a, PROVIDER_A),
        signed_offer(gov.w3, deployment, b, PROVIDER_B),
    ]
    govern(gov.w3, deployment, [*offers, mitigate()], "allow two providers' loans")
    return a


def trained_on_both(engine: Engine) -> ModelVersion:
    """The approved model trained on both datasets, whose report lists each of them."""
    (trained,) = versions(engine, "loans-both")
    assert trained.status == ModelStatus.APPROVED
    assert versions(engine, "loans-a-only")[0].status == ModelStatus.APPROVED
    first = report_of(engine, str(trained.latest_run_id))
    assert [(d["name"], d["rows"]) for d in first["dataset"]["datasets"]] == [
        ("loans-a", 3000),
        ("loans-b", 3000),
    ]
    return trained


def assert_retraining_report(
    w3: Web3,
    deployment: Deployment,
    engine: Engine,
    *,
    new: ModelVersion,
    trained: ModelVersion,
    withdrawal: dict[str, Any],
) -> None:
    """The retrained model's report: trained on loans-b alone, naming the withdrawal and the
    run it replaces, and anchored as it is."""
    run_id = str(new.latest_run_id)
    retrained = report_of(engine, run_id)
    assert (retrained["dataset"]["name"], retrained["dataset"]["rows"]) == ("loans-b", 3000)
    assert "datasets" not in retrained["dataset"]
    assert retrained["model"]["spec"]["dataset"] == "loans-b"
    info = retrained["retraining"]
    assert (info["replaces_run_id"], info["replaces_model_hash"]) == (
        trained.latest_run_id,
        trained.model_hash,
    )
    assert info["remaining"] == ["loans-b"]
    assert info["withdrawn"] == [withdrawal]
    raw = canonical_json(retrained)
    assert verify_report(w3, deployment.addresses.audit_registry, raw).ok


def test_a_withdrawal_blocks_at_the_next_sync_and_the_job_retrains_on_what_remains(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    both = ModelSpec(name="loans-both", datasets=("loans-a", "loans-b"), n_boot=20)
    only_a = ModelSpec(name="loans-a-only", dataset="loans-a", n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both, only_a))
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        run_job("audit_on_policy_change")  # nothing approved yet: marks the version handled
        run_job("audit_all")
        trained = trained_on_both(engine)

        receipt = gov.send(
            PROVIDER_A, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:])
        )
        withdrawn_version = gov.policy.functions.policyVersion().call()
        with session_scope(engine) as session:  # the index has not seen it yet
            assert require_approved(session, "loans-both").model_hash == trained.model_hash

        run_job("sync_chain")
        sync = runs(engine, "sync_chain")[-1]
        assert sync.status == JobStatus.SUCCEEDED
        assert "blocked, trained on withdrawn data: loans-both" in sync.detail
        assert "loans-a-only" in sync.detail
        blocked = refusal(engine, "loans-both")
        assert blocked.details["status"] == ModelStatus.BLOCKED
        assert f"dataset 'loans-a' ({a.dataset_id}) withdrawn by its provider" in blocked.message
        assert f"at block {receipt['blockNumber']} (policy version {withdrawn_version})" in (
            blocked.message
        )

        run_job("audit_on_policy_change")
        job = runs(engine, "audit_on_policy_change")[-1]
        assert job.status == JobStatus.SUCCEEDED, job.error
        assert "loans-both approved (retrained on loans-b: PASS)" in job.detail
        assert f"loans-a-only blocked ({NOTHING_LEFT_TO_RETRAIN})" in job.detail

    old, new = versions(engine, "loans-both")
    assert (old.model_hash, old.status) == (trained.model_hash, ModelStatus.BLOCKED)
    assert new.status == ModelStatus.APPROVED
    assert new.model_hash != old.model_hash
    with session_scope(engine) as session:
        assert require_approved(session, "loans-both").model_hash == new.model_hash
    assert "withdrawn by its provider" in refusal(engine, old.model_hash).message

    withdrawal = {
        "dataset": "loans-a",
        "dataset_id": a.dataset_id,
        "by": "provider",
        "provider": address_of(PROVIDER_A),
        "block_number": receipt["blockNumber"],
        "policy_version": withdrawn_version,
        "tx_hash": receipt["transactionHash"].to_0x_hex(),
    }
    assert_retraining_report(
        gov.w3, deployment, engine, new=new, trained=trained, withdrawal=withdrawal
    )

    (only,) = versions(engine, "loans-a-only")
    assert only.status == ModelStatus.BLOCKED
    assert only.reason.endswith(NOTHING_LEFT_TO_RETRAIN)
    # Idempotent: the retrained model is left alone, the other still has nothing to train on.
    again = retrain_after_withdrawal(ctx.audit)
    assert [(r.model_name, r.status, r.run_id) for r in again] == [
        ("loans-a-only", ModelStatus.BLOCKED, None)
    ]


def test_a_retraining_that_failed_is_tried_again_by_audit_all(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    both = ModelSpec(name="loans-both", datasets=("loans-a", "loans-b"), n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both,))
    data_b, away = tmp_path / "loans-b.csv", tmp_path / "loans-b.away"
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        run_job("audit_on_policy_change")
        run_job("audit_all")
        gov.send(PROVIDER_A, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")
        data_b.rename(away)  # the operator lost the remaining file: the retraining fails
        run_job("audit_on_policy_change")
        failed = runs(engine, "audit_on_policy_change")[-1]
        assert (failed.status, failed.error) == (JobStatus.FAILED, "1 retrainings failed")
        assert "loans-both blocked (dataset 'loans-b': cannot read its file" in failed.detail
        assert len(versions(engine, "loans-both")) == 1

        away.rename(data_b)
        run_job("audit_all")
        retried = runs(engine, "audit_all")[-1]
        assert retried.status == JobStatus.SUCCEEDED
        assert "after a withdrawal: loans-both approved (retrained on loans-b: PASS)" in (
            retried.detail
        )
        assert "loans-both: dataset 'loans-a' not allowed" in retried.detail
    old, new = versions(engine, "loans-both")
    assert (old.status, new.status) == (ModelStatus.BLOCKED, ModelStatus.APPROVED)


def test_both_audit_jobs_at_once_after_a_withdrawal_retrain_the_model_once(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    # Regression (CI, session 15): APScheduler ran audit_on_policy_change and audit_all in
    # parallel threads; both retrained loans-both, the second anchoring of the same run
    # reverted and blocked the model the first had just approved.
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    both = ModelSpec(name="loans-both", datasets=("loans-a", "loans-b"), n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both,))
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        run_job("audit_on_policy_change")
        run_job("audit_all")
        gov.send(PROVIDER_A, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")
        start = threading.Barrier(2)

        def at_once(job: str) -> None:
            start.wait()
            run_job(job)

        threads = [
            threading.Thread(target=at_once, args=(job,))
            for job in ("audit_on_policy_change", "audit_all")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for job in ("audit_on_policy_change", "audit_all"):
        last = runs(engine, job)[-1]
        assert last.status != JobStatus.FAILED, (job, last.error, last.detail)
    old, new = versions(engine, "loans-both")
    assert (old.status, new.status) == (ModelStatus.BLOCKED, ModelStatus.APPROVED)
    with Session(engine) as session:
        failed = session.exec(
            select(AuditRunRecord).where(AuditRunRecord.status == RunStatus.FAILED)
        ).all()
    assert failed == []


def test_a_retraining_that_reproduces_an_earlier_model_is_not_repeated(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    """The model was first trained on loans-b alone, then on both; loans-a is withdrawn and
    the retraining on loans-b makes the first file again, which updates the older row. The
    blocked row stays the newest, yet the model counts as retrained: no second training,
    audit and anchor transaction on the next pass."""
    alone = ModelSpec(name="m", datasets=("loans-b",), n_boot=20)
    both = ModelSpec(name="m", datasets=("loans-a", "loans-b"), n_boot=20)
    for spec in (alone, both):
        ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(spec,))
        with jobs.installed(ctx, holder="test"):
            run_job("sync_chain")
            run_job("audit_all")
    first, second = versions(engine, "m")
    assert (first.status, second.status) == (ModelStatus.APPROVED, ModelStatus.APPROVED)

    gov.send(PROVIDER_KEY, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
    retrained = retrain_after_withdrawal(ctx.audit)
    assert [r.status for r in retrained] == [ModelStatus.APPROVED]
    assert versions(engine, "m")[-1].model_hash == second.model_hash  # still the newest row

    again = retrain_after_withdrawal(ctx.audit)

    assert [r.run_id for r in again if r.run_id is not None] == [], f"retrained again: {again}"


def test_a_withdrawal_a_reorg_dropped_stops_blocking_the_model(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    """The withdrawal is indexed (the model is blocked), then the chain rolls back past it:
    the indexer undoes the event, and the version gets its approval back at the same sync."""
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    both = ModelSpec(name="m", datasets=("loans-a", "loans-b"), n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both,))
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        run_job("audit_all")
        (trained,) = versions(engine, "m")
        assert trained.status == ModelStatus.APPROVED
        before = gov.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        gov.send(PROVIDER_KEY, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")
        assert versions(engine, "m")[0].status == ModelStatus.BLOCKED

        gov.w3.provider.make_request("evm_revert", [before])  # type: ignore[arg-type]
        for _ in range(3):
            gov.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        assert gov.policy.functions.isAllowed(bytes.fromhex(a.dataset_id[2:])).call()
        run_job("sync_chain")

    with session_scope(engine) as session:
        names = session.exec(select(PolicyEvent.name)).all()
        assert "DatasetWithdrawn" not in names  # the index undid the dropped withdrawal
        assert require_approved(session, "m").model_hash == trained.model_hash
