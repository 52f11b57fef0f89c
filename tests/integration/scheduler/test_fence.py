"""A scheduler that lost its lease in the middle of a job sends nothing more (core.fence).

The lease check answers "held" when the job starts and "lost" afterwards: a holder that
stood still (SIGSTOP) and woke after a standby took over. Its relayer and its keeper stop
before their first transaction; the holder that took over relays the same ballot once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from core.db import session_scope
from governance.chain import deploy
from governance.chain.view import RpcChainView
from governance.intake.service import governor_domain, submit_ballot
from scheduler import jobs, runtime
from scheduler.db_models import JobStatus
from scheduler.jobs import run_job
from scheduler.service import SchedulerConfig, SchedulerService
from tests.helpers import HOLDER_KEYS, QUEUED, Governance, address_of
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal
from tests.integration.scheduler.test_jobs import _passed_proposal, make_context, runs
from tests.voters import signed_ballot

pytestmark = pytest.mark.chain


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def lost_after_start() -> Callable[[], bool]:
    """A lease check that holds for the job's start and is lost from then on."""
    calls = [0]

    def holds() -> bool:
        calls[0] += 1
        return calls[0] == 1

    return holds


def test_a_relayer_that_lost_its_lease_sends_nothing_and_the_new_holder_relays_once(
    gov: Governance, engine: Engine, tmp_path: Path
) -> None:
    ctx = make_context(engine, gov.w3, gov.deployment, tmp_path)
    proposal_id = open_proposal(gov)
    view = RpcChainView.for_deployment(gov.w3, gov.deployment)
    with session_scope(engine) as session:
        ballot = signed_ballot(governor_domain(gov.deployment), HOLDER_KEYS[1], proposal_id)
        submit_ballot(session, ballot, deployment=gov.deployment, chain=view)
    relayer = address_of(RELAYER_KEY)
    nonce = gov.w3.eth.get_transaction_count(relayer)

    jobs.install(ctx, holder="woken", may_run=lost_after_start())
    try:
        run_job("relay_outbox")
    finally:
        jobs.uninstall()
    (stopped,) = runs(engine, "relay_outbox")
    assert (stopped.status, stopped.error) == (JobStatus.SKIPPED, "lease_lost")
    assert gov.w3.eth.get_transaction_count(relayer, "pending") == nonce
    voter = address_of(HOLDER_KEYS[1])
    assert not gov.governor.functions.hasVoted(proposal_id, voter).call()

    with jobs.installed(ctx, holder="standby"):  # the holder that took the lease over
        run_job("relay_outbox")
        run_job("relay_outbox")
    assert gov.governor.functions.hasVoted(proposal_id, voter).call()
    assert [r.status for r in runs(engine, "relay_outbox")] == [
        JobStatus.SKIPPED,
        JobStatus.SUCCEEDED,
        JobStatus.SUCCEEDED,
    ]
    assert gov.w3.eth.get_transaction_count(relayer) == nonce + 1  # the ballot, once


def test_a_keeper_that_lost_its_lease_queues_nothing(
    gov: Governance, engine: Engine, tmp_path: Path
) -> None:
    ctx = make_context(engine, gov.w3, gov.deployment, tmp_path)
    proposal_id = _passed_proposal(gov)
    with jobs.installed(ctx, holder="test"):
        run_job("sync_chain")
    jobs.install(ctx, holder="woken", may_run=lost_after_start())
    try:
        run_job("keeper")
    finally:
        jobs.uninstall()
    assert gov.governor.functions.state(proposal_id).call() != QUEUED
    (stopped,) = runs(engine, "keeper")
    assert (stopped.status, stopped.error) == (JobStatus.SKIPPED, "lease_lost")


def test_a_job_of_an_earlier_term_stays_fenced_when_the_process_holds_the_lease_again(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    """Review, session 26: a job thread outlives a lost lease; if this process took the
    lease back, the old job passed every fence check again."""
    context = make_context(engine, isolated_chain, deployment, tmp_path)
    service = SchedulerService(context, SchedulerConfig(lease_seconds=3, jobs=()))
    service.start()
    try:
        first_term = runtime.current().may_run
        assert first_term()
        service._deactivate("a test", wait=True)  # the lease lost, its jobs left running
        assert not first_term()
        service._step()  # this process takes the lease back
        assert service.is_active
        assert runtime.current().may_run()
        assert not first_term()
    finally:
        service.stop()
