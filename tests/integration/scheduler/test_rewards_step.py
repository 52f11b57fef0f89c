"""The rewards step of ``audit_all``: after the audits, every approved run's root is posted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from governance.chain import deploy
from governance.chain.contracts import bind
from scheduler import history, jobs
from scheduler.db_models import JobStatus
from scheduler.jobs import run_job
from tests.integration.audit.rewards.service_support import approved_run, offer_dataset
from tests.integration.governance.rewards.rewards_support import ALICE_KEY, fund
from tests.integration.scheduler.test_jobs import make_context

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
