"""The rewards service: build, store and post the reward statement of every approved run.

Which runs are due is :mod:`audit.rewards.due` (one epoch per model file, only models the
gate approves now and whose datasets are all still allowed, posted rows checked against the
chain). For each, :func:`post_due_rewards` builds the statement (reading the voted split rule
and reward from the contract, each dataset's provider from TrainingPolicy, and, under
leave-one-out, training one model per provider), stores it before anything is sent, and posts
its root from the auditor key (which holds POSTER_ROLE). A crash after the post is finished
from the chain on the next pass: :func:`post_root` reads the run's epoch back instead of
posting again. A stored statement never posted is rebuilt when the contract's split rule or
reward per epoch changed since it was built.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord
from audit.env import AuditEnv
from audit.manifest import manifest_by_hash
from audit.manifest_data import load_frame
from audit.report import Report
from audit.report_model import DatasetPart, ReportModel
from audit.rewards.db_models import (
    RewardAllocationRecord,
    RewardStatementRecord,
    StatementStatus,
    utcnow,
)
from audit.rewards.due import due_runs
from audit.rewards.valuation import DEFAULT_LAMBDA, Mitigation, leave_one_out
from audit.spec import parse_spec
from core.db import session_scope
from core.errors import FairgovError
from core.types import to_address
from governance.chain.contracts import bind
from governance.errors import RewardPostRefused
from governance.policy.snapshot import read_snapshot
from governance.rewards import (
    Contribution,
    EpochContext,
    LeaveOneOut,
    RewardParams,
    RewardStatement,
    SplitRule,
    build_statement,
    epoch_of_run,
    parse_statement,
    post_root,
    read_params,
)

_ZERO_ADDRESS = "0x" + "00" * 20

#: Called with a run id and what is happening to it.
Progress = Callable[[str, str], None]


@dataclass
class RewardsOutcome:
    """What a pass posted (run id, epoch) and what it could not (run id, error code)."""

    posted: list[tuple[str, int]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _datasets(report: ReportModel) -> list[DatasetPart]:
    """The registered datasets that trained the run's model (several for a multi-dataset
    spec)."""
    return report.dataset.parts


def _provider(env: AuditEnv, dataset_id: str) -> str | None:
    policy = bind(env.w3, "TrainingPolicy", env.deployment.addresses.training_policy)
    entry = policy.functions.getDataset(bytes.fromhex(dataset_id.removeprefix("0x"))).call()
    provider = str(entry[4])
    return None if provider.lower() == _ZERO_ADDRESS else provider


def contributions(env: AuditEnv, report: ReportModel) -> list[Contribution]:
    """(dataset id, provider, rows) of each dataset with a provider recorded on chain."""
    found = []
    for dataset in _datasets(report):
        provider = _provider(env, dataset.dataset_id)
        if provider is not None:
            found.append(
                Contribution(
                    dataset_id=dataset.dataset_id, provider=to_address(provider), rows=dataset.rows
                )
            )
    return found


def _valuation(
    session: Session,
    run: AuditRunRecord,
    report: ReportModel,
    found: list[Contribution],
    lam: float,
    *,
    estimator_modules: tuple[str, ...],
) -> LeaveOneOut:
    frames: dict[str, list[pd.DataFrame]] = {}
    manifest = None
    for dataset in _datasets(report):
        manifest = manifest_by_hash(session, dataset.manifest_hash)
        owner = next((c.provider for c in found if c.dataset_id == dataset.dataset_id), None)
        if manifest is None or owner is None:
            continue
        frames.setdefault(owner, []).append(load_frame(manifest))
    if manifest is None:
        raise RewardPostRefused(run.run_id, "the run's dataset manifest is not registered here")
    policy = report.policy
    mitigation = Mitigation(
        policy.mitigation_strategy if policy else "none",
        policy.mitigation_constraint if policy else "",
    )
    return leave_one_out(
        parse_spec(json.loads(run.spec_json)),
        manifest,
        {p: pd.concat(parts, ignore_index=True) for p, parts in frames.items()},
        mitigation=mitigation,
        lam=lam,
        estimator_modules=estimator_modules,
    )


def build_for_run(
    env: AuditEnv, session: Session, run: AuditRunRecord, *, lam: float = DEFAULT_LAMBDA
) -> RewardStatement:
    """The reward statement of an approved run, under the contract's current rule and reward.

    Raises
    ------
    RewardPostRefused
        The run's audit is not anchored as a PASS with this report, or its report is gone.
    governance.errors.NoContributions
        No dataset of the run has a provider.
    """
    registry = env.deployment.addresses.audit_registry
    anchor = read_anchor(env.w3, registry, run.run_id)
    if anchor is None or not anchor.passed or anchor.report_hash != run.report_hash:
        raise RewardPostRefused(run.run_id, "its audit is not anchored as a PASS of this report")
    if run.report_dir is None or run.model_hash is None or run.report_hash is None:
        raise RewardPostRefused(run.run_id, "the run has no report")
    report = Report.from_bytes((Path(run.report_dir) / "report.json").read_bytes()).model
    rewards = env.deployment.addresses.rewards
    params = read_params(env.w3, rewards)
    found = contributions(env, report)
    loo = None
    if params.split_rule == SplitRule.LEAVE_ONE_OUT and found:
        loo = _valuation(session, run, report, found, lam, estimator_modules=env.estimator_modules)
    context = EpochContext(
        chain_id=run.chain_id,
        rewards_contract=to_address(rewards),
        run_id=run.run_id,
        model_name=run.model_name,
        model_hash=run.model_hash,
        report_hash=run.report_hash,
        policy_version=run.policy_version,
        policy_snapshot_hash=run.policy_snapshot_hash,
    )
    return build_statement(
        context,
        split_rule=params.split_rule,
        reward=params.reward_per_epoch,
        contributions=found,
        leave_one_out=loo,
    )


def stored_statement(session: Session, rewards: str, run_id: str) -> RewardStatementRecord | None:
    """The statement stored for ``run_id`` under ``rewards``, if any."""
    return session.exec(
        select(RewardStatementRecord).where(
            RewardStatementRecord.rewards_contract == rewards.lower(),
            RewardStatementRecord.run_id == run_id,
        )
    ).first()


def store_statement(session: Session, statement: RewardStatement) -> RewardStatementRecord:
    """Store a built statement and its allocations (before its root is posted)."""
    context = statement.context
    record = RewardStatementRecord(
        rewards_contract=context.rewards_contract.lower(),
        run_id=context.run_id,
        model_name=context.model_name,
        chain_id=context.chain_id,
        statement_hash=statement.hash,
        root=statement.root,
        total=str(statement.total),
        statement_json=statement.canonical_json().decode(),
    )
    session.add(record)
    session.flush()
    for allocation in statement.allocations:
        session.add(
            RewardAllocationRecord(
                statement_id=record.id or 0,
                provider=allocation.provider.lower(),
                amount=str(allocation.amount),
            )
        )
    session.flush()
    return record


def _outdated(statement: RewardStatement, params: RewardParams) -> bool:
    return (statement.split_rule, statement.reward) != (params.split_rule, params.reward_per_epoch)


def drop_statement(session: Session, record: RewardStatementRecord) -> None:
    """Delete a stored statement that was never posted, and its allocations."""
    allocations = select(RewardAllocationRecord).where(
        RewardAllocationRecord.statement_id == record.id
    )
    for allocation in session.exec(allocations).all():
        session.delete(allocation)
    session.delete(record)
    session.flush()


def post_run(env: AuditEnv, run: AuditRunRecord, *, lam: float = DEFAULT_LAMBDA) -> int:
    """Build (once), store and post the reward root of one approved run; its epoch.

    A stored statement is reused unless it was never posted and the contract's split rule or
    reward per epoch changed since it was built (a vote while the service was down): then it
    is rebuilt under the parameters in force.
    """
    rewards = env.deployment.addresses.rewards
    with session_scope(env.engine) as session:
        record = stored_statement(session, rewards, run.run_id)
        statement = None if record is None else parse_statement(record.statement_json.encode())
        if (
            record is not None
            and statement is not None
            and record.status == StatementStatus.BUILT
            and _outdated(statement, read_params(env.w3, rewards))
            and not epoch_of_run(env.w3, rewards, run.run_id)
        ):
            drop_statement(session, record)
            statement = None
        if statement is None:
            statement = build_for_run(env, session, run, lam=lam)
    return post_statement(env, statement)


def post_statement(env: AuditEnv, statement: RewardStatement) -> int:
    """Store ``statement`` (unless its run has one), post its root from the auditor key, and
    record the epoch; the epoch's number. Posting the same run again reads the epoch back.

    Raises
    ------
    RewardPostRefused, RewardPostConflict
        Nothing was posted (the error is recorded on the stored statement).
    """
    key = env.require_auditor_key()
    rewards = env.deployment.addresses.rewards
    run_id = statement.context.run_id
    try:
        with session_scope(env.engine) as session:
            if stored_statement(session, rewards, run_id) is None:
                store_statement(session, statement)
    except IntegrityError:
        pass  # another process stored this run's statement first: that one is posted
    with Session(env.engine) as session:
        record = stored_statement(session, rewards, run_id)
        assert record is not None
        statement = parse_statement(record.statement_json.encode())
    try:
        posted = post_root(env.w3, rewards, key, statement)
    except FairgovError as exc:
        with session_scope(env.engine) as session:
            row = stored_statement(session, rewards, run_id)
            if row is not None:
                row.error_code, row.error = exc.code, exc.message
                session.add(row)
        raise
    with session_scope(env.engine) as session:
        row = stored_statement(session, rewards, run_id)
        assert row is not None
        row.status = StatementStatus.POSTED
        row.epoch = posted.epoch.number
        row.challenge_ends = posted.epoch.challenge_ends
        row.post_tx = posted.tx_hash or row.post_tx
        row.error_code = row.error = None
        row.posted_at = row.posted_at or utcnow()
        session.add(row)
    return posted.epoch.number


def post_due_rewards(
    env: AuditEnv, *, lam: float = DEFAULT_LAMBDA, progress: Progress | None = None
) -> RewardsOutcome:
    """Post the reward root of every due run; one failing run does not stop the others.

    Examples
    --------
    >>> post_due_rewards(env).posted  # doctest: +SKIP
    [('0x…', 1)]
    """
    outcome = RewardsOutcome()
    snapshot = read_snapshot(env.w3, env.deployment.addresses.training_policy)
    with session_scope(env.engine) as session:
        runs = due_runs(session, env.w3, env.deployment.addresses.rewards, snapshot)
    for run in runs:
        if progress is not None:
            progress(run.run_id, f"posting the reward of {run.model_name}")
        try:
            outcome.posted.append((run.run_id, post_run(env, run, lam=lam)))
        except FairgovError as exc:
            outcome.failed.append((run.run_id, exc.code))
    return outcome
