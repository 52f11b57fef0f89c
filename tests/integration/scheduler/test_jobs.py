"""Each scheduled job does its work against anvil and leaves one history row per run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion
from audit.spec import ModelSpec
from core.db import session_scope
from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy
from governance.chain.view import RpcChainView
from governance.index.indexer import get_proposal
from governance.intake.service import governor_domain, submit_ballot
from scheduler import history, jobs
from scheduler.db_models import JobRun, JobStatus, utcnow
from scheduler.jobs import JobContext, run_job
from scheduler.service import SchedulerConfig, SchedulerService
from tests.helpers import (
    EXECUTED,
    HOLDER_KEYS,
    QUEUED,
    TEST_CONFIG,
    Governance,
    address_of,
    advance_time,
    mine,
    signed_offer,
)
from tests.integration.audit.audit_support import (
    AUDITOR_KEY,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal
from tests.voters import signed_ballot

pytestmark = pytest.mark.chain


def make_context(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, data_dir: Path, **overrides: object
) -> JobContext:
    fields: dict[str, object] = {
        "engine": engine,
        "w3": w3,
        "deployment": deployment,
        "rpc_url": w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        "data_dir": data_dir,
        "relayer_key": RELAYER_KEY,
        "keeper_key": DEV_PRIVATE_KEYS[0],
        "auditor_key": AUDITOR_KEY,
    }
    return JobContext(**(fields | overrides))  # type: ignore[arg-type]


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


@pytest.fixture
def context(gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    ctx = make_context(engine, gov.w3, deployment, tmp_path)
    with jobs.installed(ctx, holder="test"):
        yield ctx


def runs(engine: Engine, job: str) -> list[JobRun]:
    with Session(engine) as session:
        return list(reversed(history.recent(session, job=job)))


def only_run(engine: Engine, job: str) -> JobRun:
    (run,) = runs(engine, job)
    assert run.holder == "test"
    assert run.finished_at is not None
    assert run.finished_at >= run.started_at
    return run


def test_sync_chain_indexes_a_new_proposal(gov: Governance, context: JobContext) -> None:
    proposal_id = open_proposal(gov)
    run_job("sync_chain")
    with Session(context.engine) as session:
        proposal = get_proposal(session, proposal_id)
    assert proposal is not None
    assert proposal.state == "Active"
    run = only_run(context.engine, "sync_chain")
    assert run.status == JobStatus.SUCCEEDED
    assert run.detail is not None
    assert run.detail.startswith("indexed blocks")


def test_relay_outbox_sends_a_queued_ballot(gov: Governance, context: JobContext) -> None:
    proposal_id = open_proposal(gov)
    view = RpcChainView.for_deployment(gov.w3, context.deployment)
    with session_scope(context.engine) as session:
        ballot = signed_ballot(governor_domain(context.deployment), HOLDER_KEYS[1], proposal_id)
        submit_ballot(session, ballot, deployment=context.deployment, chain=view)
    run_job("relay_outbox")
    voter = address_of(HOLDER_KEYS[1])
    assert gov.governor.functions.hasVoted(proposal_id, voter).call()
    run = only_run(context.engine, "relay_outbox")
    assert run.status == JobStatus.SUCCEEDED
    assert run.detail is not None
    assert "resent 0 signed on start" in run.detail
    assert "submitted 1" in run.detail
    run_job("relay_outbox")  # the second run confirms and does not start the relayer again
    second = runs(context.engine, "relay_outbox")[-1]
    assert second.detail is not None
    assert second.detail.startswith("submitted 0, confirmed 1")


def _passed_proposal(gov: Governance) -> int:
    proposal_id = open_proposal(gov, "keeper carries this forward")
    for key in HOLDER_KEYS:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    return proposal_id


def test_keeper_queues_then_executes_a_passed_proposal(
    gov: Governance, context: JobContext
) -> None:
    proposal_id = _passed_proposal(gov)
    run_job("sync_chain")
    run_job("keeper")
    assert gov.governor.functions.state(proposal_id).call() == QUEUED
    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    run_job("keeper")
    assert gov.governor.functions.state(proposal_id).call() == EXECUTED
    details = [r.detail for r in runs(context.engine, "keeper")]
    assert details == ["queued 1, executed 0", "queued 0, executed 1"]


def test_a_switched_off_keeper_records_a_skip_and_sends_nothing(
    gov: Governance, context: JobContext
) -> None:
    proposal_id = _passed_proposal(gov)
    run_job("sync_chain")
    with jobs.installed(
        make_context(
            context.engine, gov.w3, context.deployment, context.data_dir, keeper_enabled=False
        ),
        holder="test",
    ):
        run_job("keeper")
    assert gov.governor.functions.state(proposal_id).call() != QUEUED
    run = only_run(context.engine, "keeper")
    assert (run.status, run.detail) == (JobStatus.SKIPPED, jobs.KEEPER_OFF)


def _wait_for(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_new_policy_version_triggers_exactly_one_reaudit(
    gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    config = SchedulerConfig(lease_seconds=3, sync_interval_seconds=0.3, jobs=("sync_chain",))
    service = SchedulerService(make_context(engine, gov.w3, deployment, tmp_path), config)
    service.start()
    try:
        assert service.is_active
        _wait_for(lambda: len(runs(engine, "sync_chain")) >= 2)
        govern(gov.w3, deployment, [dp_threshold("0.2")], "first threshold")
        _wait_for(lambda: runs(engine, "audit_on_policy_change"))
        govern(gov.w3, deployment, [dp_threshold("0.3")], "looser threshold")
        _wait_for(lambda: len(runs(engine, "audit_on_policy_change")) >= 2)
        settled = len(runs(engine, "sync_chain"))
        _wait_for(lambda: len(runs(engine, "sync_chain")) >= settled + 4)
    finally:
        service.stop()
    reaudits = runs(engine, "audit_on_policy_change")
    assert [r.status for r in reaudits] == [JobStatus.SUCCEEDED] * 2
    assert [r.detail for r in reaudits] == [
        "policy version 1: no approved models",
        "policy version 2: no approved models",
    ]


def test_a_policy_that_reuses_a_rolled_back_version_number_is_reaudited(
    gov: Governance, context: JobContext
) -> None:
    """Chaos test: the mark said "policy version N re-audited"; a rollback took version N
    away and a new proposal made version N again with another bound. The re-audit was
    skipped ("already re-audited"), so models approved under the old N stayed approved."""
    w3 = gov.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    govern(w3, context.deployment, [dp_threshold("0.2")], "a bound the rollback takes away")
    run_job("sync_chain")
    run_job("audit_on_policy_change")
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    govern(w3, context.deployment, [dp_threshold("0.9")], "the same version number")
    run_job("sync_chain")
    run_job("audit_on_policy_change")
    run_job("audit_on_policy_change")

    first, again, idle = runs(context.engine, "audit_on_policy_change")
    assert first.detail is not None
    version = first.detail.removeprefix("policy version ").split(":")[0]
    assert (again.status, again.detail) == (
        JobStatus.SUCCEEDED,
        f"policy version {version}: no approved models",
    )
    assert (idle.status, idle.detail) == (
        JobStatus.SKIPPED,
        f"policy version {version} was already re-audited",
    )
    last_sync = runs(context.engine, "sync_chain")[-1]
    assert (last_sync.detail or "").endswith(f"; policy version {version}: re-audit requested")


def test_audit_all_records_that_there_is_nothing_to_audit(context: JobContext) -> None:
    run_job("audit_all")
    run = only_run(context.engine, "audit_all")
    assert (run.status, run.detail) == (
        JobStatus.SKIPPED,
        "nothing to audit: no model specs registered",
    )


@pytest.mark.slow
def test_audit_all_audits_each_model_once_per_policy_version(
    gov: Governance, context: JobContext, tmp_path: Path
) -> None:
    manifest = register_loans(context.engine, tmp_path)
    govern(
        gov.w3,
        context.deployment,
        [signed_offer(gov.w3, context.deployment, manifest), mitigate()],
        "allow loans",
    )
    spec = ModelSpec(name="loans-lr", dataset="loans", n_boot=20)
    ctx = make_context(context.engine, gov.w3, context.deployment, tmp_path, model_specs=(spec,))
    with jobs.installed(ctx, holder="test"):
        run_job("audit_all")
        run_job("audit_all")
    first, second = runs(context.engine, "audit_all")
    # The rewards step notes that the approved run's reward cannot be posted: nothing funds it.
    refused = "rewards: not posted "
    assert first.status == JobStatus.SUCCEEDED
    assert (first.detail or "").startswith(f"loans-lr PASS (approved); {refused}")
    assert second.status == JobStatus.SKIPPED
    assert (second.detail or "").startswith(
        f"nothing to audit: loans-lr: up to date (policy version 2); {refused}"
    )


def _report(data_dir: Path, run_id: str, *, age_days: float) -> Path:
    directory = data_dir / "reports" / run_id
    directory.mkdir(parents=True)
    (directory / "report.json").write_text("{}")
    stamp = time.time() - age_days * 86400
    os.utime(directory, (stamp, stamp))
    return directory


def _audit_row(run_id: str, *, anchored: bool) -> AuditRunRecord:
    return AuditRunRecord(
        run_id=run_id,
        model_name="m",
        dataset_name="loans",
        dataset_id="0x" + "0" * 64,
        spec_json="{}",
        chain_id=31337,
        policy_version=1,
        policy_block=1,
        policy_snapshot_hash="0x" + "1" * 64,
        anchor_tx=("0x" + "2" * 64) if anchored else None,
    )


def test_retention_deletes_only_old_reports_nobody_can_ask_about(context: JobContext) -> None:
    data_dir = context.data_dir
    anchored = _report(data_dir, "0xanchored", age_days=400)
    approved = _report(data_dir, "0xapproved", age_days=400)
    unanchored = _report(data_dir, "0xunanchored", age_days=400)
    orphan = _report(data_dir, "0xorphan", age_days=400)
    recent_one = _report(data_dir, "0xrecent", age_days=1)
    old = utcnow() - timedelta(days=60)
    with session_scope(context.engine) as session:
        session.add(_audit_row("0xanchored", anchored=True))
        session.add(_audit_row("0xunanchored", anchored=False))
        session.add(
            ModelVersion(
                name="m",
                model_hash="0x" + "3" * 64,
                artifact_path="m.skops",
                status=ModelStatus.APPROVED,
                latest_run_id="0xapproved",
            )
        )
        session.add(
            JobRun(
                job="sync_chain",
                holder="gone",
                started_at=old,
                finished_at=old,
                status=JobStatus.SUCCEEDED,
            )
        )
    run_job("retention")
    assert anchored.exists()
    assert approved.exists()
    assert recent_one.exists()
    assert not unanchored.exists()
    assert not orphan.exists()
    run = only_run(context.engine, "retention")
    assert run.detail == (
        "deleted 2 reports older than 90 days (kept 2 anchored or approved); "
        "pruned 1 job history rows"
    )


def test_history_heartbeat_and_abandoned_runs(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert history.last_heartbeat(session) is None
        done = history.start(session, "sync_chain", holder="a")
        assert done.id is not None
        history.finish(session, done.id, JobStatus.FAILED, error="boom\nTraceback…")
        history.start(session, "audit_all", holder="a")  # a run whose process died
    with session_scope(engine) as session:
        assert history.abandon(session, except_holder="b") == 1
    with Session(engine) as session:
        beat = history.last_heartbeat(session)
        newest = history.recent(session, limit=1)[0]
        failed = history.recent(session, job="sync_chain")[0]
    assert beat is not None
    assert beat.tzinfo is not None
    assert (newest.job, newest.status, newest.error) == (
        "audit_all",
        JobStatus.FAILED,
        history.ABANDONED,
    )
    assert failed.error == "boom"


@pytest.fixture(autouse=True)
def _no_context_leaks() -> Iterator[None]:
    yield
    jobs.uninstall()


def test_a_job_without_a_context_refuses_to_run() -> None:
    with pytest.raises(RuntimeError, match="no JobContext"):
        run_job("sync_chain")
