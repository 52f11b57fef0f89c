"""Which approved runs are owed a reward root, checked against the chain and the gate.

A run is due when all of these hold:

- it is a completed training run whose audit PASSed and is anchored;
- no root of it is posted to this ProviderRewards (a ``posted`` row is trusted only while the
  chain still holds its epoch for that run: :func:`reconcile_posted` turns a row a reorg
  dropped back into ``built``, so the root is posted again);
- no other run of the same model file (its model hash: the file's bytes, whatever name a spec
  gives it) has a posted epoch here that was not cancelled (retraining the same file under a
  new policy version, or under another spec name, pays nothing more), and of several due runs
  of one file only the first is;
- the gate approves its model now (:func:`audit.gate.require_approved`), and every dataset it
  trained on (its report's parts) is still allowed by TrainingPolicy at the latest block (a
  withdrawal or a revocation the index has not seen yet counts too), so leave-one-out never
  loads a withdrawn dataset's file. A run whose root the chain already holds, though the service
  stopped before recording it, is finished whatever the gate says now: that pays nothing new.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, col, select
from web3 import Web3

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.errors import ModelNotApproved
from audit.gate import require_approved
from audit.report import Report
from audit.rewards.db_models import RewardStatementRecord, StatementStatus
from bias_checks import Verdict
from governance.errors import UnknownEpoch
from governance.policy.models import PolicySnapshot, allowed_dataset
from governance.rewards import epoch_of_run, read_epoch

#: A model file: its model hash. Not the spec's name: the same file under another name is the
#: same model (an outside review had one file paid three epochs under three names).
ModelFile = str


def _posted(session: Session, rewards: str) -> list[RewardStatementRecord]:
    return list(
        session.exec(
            select(RewardStatementRecord).where(
                RewardStatementRecord.rewards_contract == rewards.lower(),
                RewardStatementRecord.status == StatementStatus.POSTED,
            )
        ).all()
    )


def _unpost(row: RewardStatementRecord) -> None:
    row.status = StatementStatus.BUILT
    row.epoch = row.challenge_ends = row.post_tx = row.posted_at = None


def reconcile_posted(session: Session, w3: Web3, rewards: str) -> set[ModelFile]:
    """Check every ``posted`` row against the chain; the model files paid and not cancelled.

    A row whose epoch the chain no longer holds for its run (a reorg dropped the post) is
    turned back into ``built`` with no epoch, so the run is due again and its epoch number
    is free for the post that took it on chain.
    """
    rows = _posted(session, rewards)
    runs = {
        r.run_id: r
        for r in session.exec(
            select(AuditRunRecord).where(
                col(AuditRunRecord.run_id).in_([row.run_id for row in rows]),
                AuditRunRecord.kind == RunKind.TRAINING_RUN,
            )
        ).all()
    }
    paid: set[ModelFile] = set()
    for row in rows:
        try:
            state = read_epoch(w3, rewards, row.epoch or 0)
        except UnknownEpoch:
            state = None
        if state is None or state.run_id != row.run_id.lower():
            _unpost(row)
            session.add(row)
            continue
        run = runs.get(row.run_id)
        if run is not None and run.model_hash is not None and not state.cancelled:
            paid.add(run.model_hash)
    session.flush()
    return paid


def candidate_runs(session: Session, rewards: str) -> list[AuditRunRecord]:
    """Completed training runs that PASSed and are anchored, without a posted root here,
    oldest first, one row per run id."""
    posted = select(RewardStatementRecord.run_id).where(
        RewardStatementRecord.rewards_contract == rewards.lower(),
        RewardStatementRecord.status == StatementStatus.POSTED,
    )
    rows = session.exec(
        select(AuditRunRecord)
        .where(
            AuditRunRecord.status == RunStatus.COMPLETED,
            AuditRunRecord.kind == RunKind.TRAINING_RUN,
            AuditRunRecord.verdict == Verdict.PASS,
            col(AuditRunRecord.anchor_tx).is_not(None),
            col(AuditRunRecord.run_id).not_in(posted),
        )
        .order_by(col(AuditRunRecord.id))
    ).all()
    unique: dict[str, AuditRunRecord] = {}
    for row in rows:
        unique.setdefault(row.run_id, row)
    return list(unique.values())


def trained_datasets(run: AuditRunRecord) -> set[str]:
    """The ids of the datasets ``run`` trained on: its report's parts (what its statement pays
    and leave-one-out loads); the run's own dataset when the report is gone."""
    path = Path(run.report_dir or ".") / "report.json"
    if run.report_dir is None or not path.is_file():
        return {run.dataset_id.lower()}
    report = Report.from_bytes(path.read_bytes()).model
    return {part.dataset_id.lower() for part in report.dataset.parts}


def approved_now(session: Session, run: AuditRunRecord, snapshot: PolicySnapshot) -> bool:
    """Whether the gate approves ``run``'s model now and every dataset it trained on is
    allowed in ``snapshot`` (the policy at the latest block)."""
    if run.model_hash is None:
        return False
    try:
        version = require_approved(session, run.model_hash)
    except ModelNotApproved:
        return False
    if version.name != run.model_name:
        return False
    return all(allowed_dataset(snapshot, d) is not None for d in trained_datasets(run))


def _posted_before_a_crash(session: Session, w3: Web3, rewards: str, run: AuditRunRecord) -> bool:
    """Whether ``run`` has a stored statement whose root the chain holds though the row does not
    say so (the service stopped between the post and recording it): finishing that is no new
    payment, whatever the gate says now."""
    stored = session.exec(
        select(RewardStatementRecord.id).where(
            RewardStatementRecord.rewards_contract == rewards.lower(),
            RewardStatementRecord.run_id == run.run_id,
        )
    ).first()
    return stored is not None and epoch_of_run(w3, rewards, run.run_id) != 0


def due_runs(
    session: Session, w3: Web3, rewards: str, snapshot: PolicySnapshot
) -> list[AuditRunRecord]:
    """The runs owed a reward root now (see the module docstring), oldest first."""
    paid = reconcile_posted(session, w3, rewards)
    due = []
    for run in candidate_runs(session, rewards):
        model_file = run.model_hash or ""
        if model_file in paid:
            continue
        if not approved_now(session, run, snapshot) and not _posted_before_a_crash(
            session, w3, rewards, run
        ):
            continue
        paid.add(model_file)  # of several runs of one file, only the first is paid
        due.append(run)
    return due
