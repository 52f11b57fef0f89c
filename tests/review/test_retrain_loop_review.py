"""Review of issue #15 part 3: make the scheduler retrain in a loop.

``retrain_after_withdrawal`` looks at the newest ModelVersion of each name (by row id) and
retrains it when a withdrawal blocked it. A retraining that reproduces a model file the
model already had updates that older row (``record_audit`` finds versions by name and hash),
so the blocked row stays the newest and is retrained again on every pass: a training, an
audit, an anchor transaction and, once it passes, a reward epoch each time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import ModelStatus
from audit.gate import require_approved
from audit.rewards.db_models import RewardStatementRecord
from audit.rewards.service import post_due_rewards
from audit.service import audit_due, retrain_after_withdrawal
from audit.spec import ModelSpec
from core.db import session_scope
from governance.actions import SetSplitRule
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.index.models import PolicyEvent
from governance.rewards import parse_statement
from scheduler import jobs
from scheduler.jobs import run_job
from tests.helpers import PROVIDER_KEY, Governance, address_of
from tests.integration.audit.audit_support import dp_threshold, govern
from tests.integration.governance.rewards.rewards_support import fund
from tests.integration.scheduler.test_jobs import make_context
from tests.integration.scheduler.test_withdrawal import allow_two_providers, versions

pytestmark = [pytest.mark.chain, pytest.mark.slow]


@pytest.fixture
def gov(isolated_chain: Web3, deployment: Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def test_a_retraining_that_reproduces_an_earlier_model_is_not_repeated(
    gov: Governance, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    a = allow_two_providers(gov, deployment, engine, tmp_path)
    # The model was first trained on loans-b alone, then its spec grew to both datasets.
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
    """Chaos: the withdrawal is indexed (the model is blocked), then the chain rolls back past
    it. The indexer undoes the event, but the version stays blocked for a withdrawal that is
    not on the chain, citing its dropped transaction, and the provider's consent in force is
    ignored until someone retrains by hand."""
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
