"""The rewards step of ``audit_all``: after the audits, every approved run's root is posted;
a retraining that reproduces the same model file is not paid again, and a run whose provider
withdrew a dataset before the rewards step is not paid (nor valued by leave-one-out)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord, ModelStatus, utcnow
from audit.errors import ModelNotApproved
from audit.gate import (
    ANCHOR_LOST,
    POLICY_ROLLED_BACK,
    approved_versions,
    find_versions,
    require_approved,
)
from audit.rewards.db_models import RewardStatementRecord
from audit.rewards.service import post_due_rewards
from audit.service import audit_due
from audit.spec import ModelSpec
from core.db import session_scope
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import SetSplitRule
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.rewards import parse_statement
from scheduler import history, jobs
from scheduler.db_models import JobStatus
from scheduler.jobs import run_job
from tests.helpers import PROVIDER_KEY, Governance, address_of, mine
from tests.integration.audit.audit_support import dp_threshold, govern
from tests.integration.audit.rewards.service_support import approved_run, offer_dataset
from tests.integration.governance.rewards.rewards_support import ALICE_KEY, fund
from tests.integration.scheduler.test_jobs import make_context
from tests.integration.scheduler.test_withdrawal import allow_two_providers, versions

pytestmark = pytest.mark.chain


def test_audit_all_posts_the_reward_of_an_approved_run(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3 = isolated_chain
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards).functions
    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("audit_all")
        epoch = rewards.epochOfRun(bytes.fromhex(run.run_id[2:])).call()
        assert epoch > 0
        run_job("audit_all")
    assert rewards.epochCount().call() == epoch  # the second pass posted nothing
    with Session(engine) as session:
        first, second = reversed(history.recent(session, job="audit_all"))
    assert first.status == JobStatus.SUCCEEDED
    assert first.detail is not None
    assert first.detail.endswith(f"; rewards: posted {run.run_id[:10]}… epoch {epoch}")
    assert second.detail is not None
    assert "rewards" not in second.detail


@pytest.fixture
def gov(isolated_chain: Web3, deployment: Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


@pytest.mark.slow
def test_an_unrelated_policy_change_does_not_pay_for_the_same_model_again(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    """End to end through the scheduler: the DAO sets a threshold the model meets anyway.
    ``due_for_audit`` retrains every model whose last run was under another policy version,
    the seeded training reproduces the same model file, it passes, and ``audit_all`` posts a
    second epoch: the treasury pays ``rewardPerEpoch`` again for the same model, on every
    policy change, for every model."""
    fund(gov.w3, deployment)
    allow_two_providers(gov, deployment, engine, tmp_path)
    both = ModelSpec(name="m", datasets=("loans-a", "loans-b"), n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both,))
    rewards = bind(gov.w3, "ProviderRewards", deployment.addresses.rewards).functions
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        run_job("audit_all")
        assert rewards.epochCount().call() == 1
        govern(gov.w3, deployment, [dp_threshold("0.99")], "a bound every model meets")
        run_job("sync_chain")
        run_job("audit_all")

    hashes = {v.model_hash for v in versions(engine, "m")}
    assert len(hashes) == 1, "the retraining made another model file"
    assert rewards.epochCount().call() == 1, "the same model file was paid for twice"


@pytest.mark.slow
def test_leave_one_out_never_trains_on_data_whose_consent_was_withdrawn(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    """Under the leave-one-out rule the rewards step trains n + 1 models on the providers'
    files. The model was audited; then provider A withdraws loans-a; then the rewards step
    runs (the next audit_all pass). It posts the run anyway and, to value A, trains models
    on loans-a's rows after A withdrew: a withdrawn dataset trains again."""
    fund(gov.w3, deployment)
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    govern(gov.w3, deployment, [SetSplitRule(rule="leave_one_out")], "value the data")
    both = ModelSpec(name="m", datasets=("loans-a", "loans-b"), n_boot=20)
    ctx = make_context(engine, gov.w3, deployment, tmp_path, model_specs=(both,))
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
        outcome = audit_due(ctx.audit, (both,))  # the audits of an audit_all pass
        assert [r.verdict for r in outcome.runs] == ["PASS"]
        gov.send(PROVIDER_KEY, gov.policy, "withdrawDataset", bytes.fromhex(a.dataset_id[2:]))
        run_job("sync_chain")

        post_due_rewards(ctx.audit)  # the rewards step of the same pass

    with session_scope(engine) as session:
        stored = session.exec(select(RewardStatementRecord)).all()
    valued = []
    for row in stored:
        loo = parse_statement(row.statement_json.encode()).leave_one_out
        valued += [u.provider for u in loo.without] if loo is not None else []
    assert address_of(PROVIDER_KEY) not in valued, "loans-a was trained on after withdrawal"


def test_post_rewards_pays_an_approved_run_between_audit_passes(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """A run started through the API or the CLI is paid on the next ``post_rewards``, without
    waiting for the nightly ``audit_all``; with nothing due the job says so."""
    w3 = isolated_chain
    fund(w3, deployment)
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards).functions
    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("post_rewards")
        allowed = offer_dataset(w3, deployment, ALICE_KEY)
        run = approved_run(engine, w3, deployment, tmp_path, allowed)
        run_job("post_rewards")
    assert rewards.epochOfRun(bytes.fromhex(run.run_id[2:])).call() > 0
    with Session(engine) as session:
        idle, posted = reversed(history.recent(session, job="post_rewards"))
    assert (idle.status, idle.detail) == (
        JobStatus.SKIPPED,
        "no anchor was lost and no approved run is due a reward",
    )
    assert posted.status == JobStatus.SUCCEEDED
    assert posted.detail is not None
    assert posted.detail.startswith(f"rewards: posted {run.run_id[:10]}")


def test_post_rewards_anchors_again_what_a_rollback_took_away(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Review (session 23): after the chain was rolled back past a run's anchor, the run row,
    the API and the approved model still said "anchored on chain", nothing published it
    again, and its reward root was refused on every pass. ``post_rewards`` now publishes it
    again from the run's row, then pays it."""
    w3 = isolated_chain
    fund(w3, deployment)
    allowed = offer_dataset(w3, deployment, ALICE_KEY)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    run = approved_run(engine, w3, deployment, tmp_path, allowed)
    registry = deployment.addresses.audit_registry
    assert read_anchor(w3, registry, run.run_id) is not None
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]
    assert read_anchor(w3, registry, run.run_id) is None

    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("post_rewards")
    again = read_anchor(w3, registry, run.run_id)
    assert again is not None
    assert (again.report_hash, again.passed) == (run.report_hash, True)
    with Session(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run.run_id)).one()
        (job,) = history.recent(session, job="post_rewards")
    assert row.anchor_tx is not None  # on chain again (the same bytes may give the same hash)
    assert w3.eth.get_transaction_receipt(row.anchor_tx)["status"] == 1
    assert row.anchor_block == again.block_number
    assert job.status == JobStatus.SUCCEEDED
    assert job.detail is not None
    assert job.detail.startswith(f"re-anchored {run.run_id[:10]}…; rewards: posted")
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards).functions
    assert rewards.epochOfRun(bytes.fromhex(run.run_id[2:])).call() > 0


def _snapshot(w3: Web3) -> str:
    return str(w3.provider.make_request("evm_snapshot", [])["result"])  # type: ignore[arg-type]


def _revert(w3: Web3, snapshot: str) -> None:
    assert w3.provider.make_request("evm_revert", [snapshot])["result"]  # type: ignore[arg-type]


def _row(engine: Engine, run_id: str) -> AuditRunRecord:
    with Session(engine) as session:
        return session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run_id)).one()


def _as_published_an_hour_ago(engine: Engine, run: AuditRunRecord, block: int) -> None:
    """The row as ``publish_run`` leaves it (the anchor's block recorded), an hour ago."""
    with session_scope(engine) as session:
        row = session.exec(select(AuditRunRecord).where(AuditRunRecord.run_id == run.run_id)).one()
        row.anchor_block, row.finished_at = block, utcnow() - timedelta(hours=1)
        session.add(row)


def test_post_rewards_restores_a_lost_anchor_the_chain_grew_past(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Chaos test: a run anchored more than 10 minutes ago, the chain rolled back past its
    anchor and then 20 blocks mined. The pass compared the stored anchor block with the head
    (and a 10-minute window), never read the registry, and said "skipped": the run, the API
    and the gate kept saying "anchored and approved" with no anchor on chain, for good."""
    w3 = isolated_chain
    fund(w3, deployment)
    allowed = offer_dataset(w3, deployment, ALICE_KEY)
    snapshot = _snapshot(w3)
    run = approved_run(engine, w3, deployment, tmp_path, allowed)
    registry = deployment.addresses.audit_registry
    anchor = read_anchor(w3, registry, run.run_id)
    assert anchor is not None
    _as_published_an_hour_ago(engine, run, anchor.block_number)
    _revert(w3, snapshot)
    mine(w3, 20)
    assert read_anchor(w3, registry, run.run_id) is None

    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("post_rewards")
    again = read_anchor(w3, registry, run.run_id)
    assert again is not None, "the lost anchor was not published again"
    assert (again.report_hash, again.passed) == (run.report_hash, True)
    assert _row(engine, run.run_id).anchor_block == again.block_number
    with Session(engine) as session:
        (job,) = history.recent(session, job="post_rewards")
        assert require_approved(session, run.model_hash or "").latest_run_id == run.run_id
    assert job.status == JobStatus.SUCCEEDED
    assert (job.detail or "").startswith(f"re-anchored {run.run_id[:10]}…; rewards: posted")


def test_a_model_whose_anchor_is_lost_is_not_approved_until_it_is_published_again(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """The pass found the anchor gone but could not publish it (here: a key without
    AUDITOR_ROLE): the model stayed approved on an anchor the chain did not hold. It is a
    candidate, saying why, until a pass publishes the anchor again; the job fails."""
    w3 = isolated_chain
    fund(w3, deployment)
    allowed = offer_dataset(w3, deployment, ALICE_KEY)
    snapshot = _snapshot(w3)
    run = approved_run(engine, w3, deployment, tmp_path, allowed)
    _revert(w3, snapshot)
    not_an_auditor = make_context(engine, w3, deployment, tmp_path, auditor_key=DEV_PRIVATE_KEYS[8])
    with jobs.installed(not_an_auditor, holder="test"):
        run_job("post_rewards")
    with Session(engine) as session:
        (failed,) = history.recent(session, job="post_rewards")
        (version,) = find_versions(session, run.model_hash or "")
        with pytest.raises(ModelNotApproved):
            require_approved(session, run.model_hash or "")
    assert failed.status == JobStatus.FAILED
    assert (failed.detail or "").startswith(f"not re-anchored {run.run_id[:10]}… anchor_refused")
    assert version.status == ModelStatus.CANDIDATE
    assert version.reason.startswith(ANCHOR_LOST)

    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("post_rewards")
    assert read_anchor(w3, deployment.addresses.audit_registry, run.run_id) is not None
    with Session(engine) as session:
        assert require_approved(session, run.model_hash or "").status == ModelStatus.APPROVED


def test_post_rewards_does_not_anchor_again_a_run_whose_policy_was_rolled_back(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Chaos test: the chain rolled back past the policy change a run was audited under, and
    a new proposal made the same version number with another bound. The pass published the
    run's anchor again (policy version and all), the model stayed approved and its reward was
    posted again, under a policy the chain never had."""
    w3 = isolated_chain
    fund(w3, deployment)
    allowed = offer_dataset(w3, deployment, ALICE_KEY)
    snapshot = _snapshot(w3)
    govern(w3, deployment, [dp_threshold("0.2")], "a bound the rollback takes away")
    run = approved_run(engine, w3, deployment, tmp_path, allowed)
    _revert(w3, snapshot)
    govern(w3, deployment, [dp_threshold("0.9")], "the same version number, another bound")
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy).functions
    assert policy.policyVersion().call() == run.policy_version

    with jobs.installed(make_context(engine, w3, deployment, tmp_path), holder="test"):
        run_job("post_rewards")
        run_job("post_rewards")
    assert read_anchor(w3, deployment.addresses.audit_registry, run.run_id) is None
    rewards = bind(w3, "ProviderRewards", deployment.addresses.rewards).functions
    assert rewards.epochOfRun(bytes.fromhex(run.run_id[2:])).call() == 0
    row = _row(engine, run.run_id)
    assert (row.anchor_tx, row.error_code) == (None, "policy_rolled_back")
    with Session(engine) as session:
        first, second = reversed(history.recent(session, job="post_rewards"))
        (version,) = find_versions(session, run.model_hash or "")
        with pytest.raises(ModelNotApproved):
            require_approved(session, run.model_hash or "")
        # the re-audit under the current policy (audit_on_policy_change) takes it up
        assert [v.id for v in approved_versions(session)] == [version.id]
    assert version.status == ModelStatus.CANDIDATE
    assert version.reason.startswith(POLICY_ROLLED_BACK)
    assert f"policy version {run.policy_version} (snapshot {run.policy_snapshot_hash}" in (
        version.reason
    )
    assert first.status == JobStatus.SUCCEEDED
    assert (first.detail or "").startswith(
        "anchor lost and not published again, its policy was rolled back on chain: "
        f"{run.run_id[:10]}…"
    )
    assert second.status == JobStatus.SKIPPED  # the run is not checked again
