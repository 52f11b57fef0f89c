"""The scheduled jobs: thin adapters over the governance and audit services.

Each job runs through :func:`scheduler.runtime.run`, which takes the installed
:class:`~scheduler.runtime.JobContext` and records the run in the job history. Every job is
idempotent: running it twice, or on another process after a takeover, does no harm; the jobs
that audit, retrain or post rewards run one at a time (``_AUDITS``). The
job store refers to them as ``"scheduler.jobs:<name>"``, so they stay in this module.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import and_
from sqlmodel import Session, col, select

from core.db import session_scope
from governance.index.indexer import Indexer
from governance.index.models import IndexEvent, PolicyEvent
from governance.keeper import Keeper
from governance.relay.relayer import Relayer, RelayerConfig
from scheduler import history
from scheduler.db_models import JobStatus, utcnow
from scheduler.runtime import (
    NO_CONTEXT,
    JobContext,
    Outcome,
    Runtime,
    install,
    installed,
    run,
    uninstall,
)

__all__ = [
    "JOBS",
    "KEEPER_OFF",
    "NO_AUDITOR_KEY",
    "NO_CONTEXT",
    "POLICY_MARK",
    "JobContext",
    "Outcome",
    "install",
    "installed",
    "policy_identity",
    "reference",
    "run_job",
    "uninstall",
]

#: The mark holding the last policy whose re-audit finished, as :func:`policy_identity` names
#: it. A mark of a version number alone (written before) matches no policy: one re-audit.
POLICY_MARK: Final = "policy_version_reaudited"
NO_AUDITOR_KEY: Final = "no auditor key is configured: audits are switched off"
KEEPER_OFF: Final = "the keeper is switched off"

if TYPE_CHECKING:  # a type only: the audit service loads on first use (below)
    from audit.service import Retraining

# ---------------------------------------------------------------------- chain jobs


def policy_identity(session: Session) -> tuple[int, str]:
    """The indexed policy's version and a key naming its content: ``"<version>@<block hash
    of its latest event>"`` (``(0, "")`` before any event).

    A rollback can take a policy version away and a later proposal make the same number
    again with other rules; that one's events lie in another block, so it is a new key.

    Examples
    --------
    >>> policy_identity(session)  # doctest: +SKIP
    (7, '7@0x5c1f…')
    """
    latest = session.exec(
        select(PolicyEvent.policy_version, IndexEvent.block_hash)
        .join(
            IndexEvent,
            and_(
                col(IndexEvent.block_number) == col(PolicyEvent.block_number),
                col(IndexEvent.log_index) == col(PolicyEvent.log_index),
            ),
        )
        .order_by(col(PolicyEvent.block_number).desc(), col(PolicyEvent.log_index).desc())
        .limit(1)
    ).first()
    if latest is None:
        return 0, ""
    version, block_hash = latest
    return int(version), f"{version}@{block_hash}"


def _policy_to_reaudit(session: Session) -> tuple[int, str] | None:
    """The indexed policy's version and key when its re-audit has not finished, else None.
    The deployment's own policy (version 0) needs none: nothing was audited before it."""
    version, key = policy_identity(session)
    reaudited = history.get_mark(session, POLICY_MARK)
    if key == reaudited or (reaudited is None and version == 0):
        return None
    return version, key


def _sync(runtime: Runtime) -> Outcome:
    from audit.gate import WITHDRAWN_AUDIT_DATA, enforce_withdrawals

    ctx = runtime.context
    report = Indexer(ctx.engine, ctx.w3, ctx.deployment, confirmations=ctx.confirmations).sync()
    detail = (
        "up to date"
        if report.to_block is None
        else f"indexed blocks {report.from_block}-{report.to_block}: {report.events} events"
    )
    # The gate learns of a withdrawal on the sync that indexed it, not at the next audit.
    with session_scope(ctx.engine) as session:
        versions = enforce_withdrawals(session)
        audited = {v.id for v in versions if (v.reason or "").startswith(WITHDRAWN_AUDIT_DATA)}
        names = {v.id: f"{v.name} {v.model_hash[:10]}" for v in versions}
    trained = [name for key, name in names.items() if key not in audited]
    external = [name for key, name in names.items() if key in audited]
    if trained:
        detail += f"; blocked, trained on withdrawn data: {', '.join(trained)}"
    if external:
        detail += f"; blocked, audited on withdrawn data: {', '.join(external)}"
    with Session(ctx.engine) as session:
        pending = _policy_to_reaudit(session)
    if pending is not None and not runtime.policy_audit_pending.is_set():
        runtime.policy_audit_pending.set()
        runtime.request_policy_audit()
        detail += f"; policy version {pending[0]}: re-audit requested"
    return Outcome(JobStatus.SUCCEEDED, detail)


def _relay(runtime: Runtime) -> Outcome:
    ctx = runtime.context
    if runtime.relayer is None:
        runtime.relayer = Relayer(
            ctx.engine,
            ctx.w3,
            ctx.deployment,
            ctx.relayer_key,
            rpc_url=ctx.rpc_url,
            config=ctx.relayer_config
            or RelayerConfig(
                final_depth=ctx.finality_depth,
                final_after=timedelta(seconds=ctx.finality_seconds),
            ),
        )
    resent = ""
    if not runtime.relayer_started:
        started = runtime.relayer.start()
        runtime.relayer_started = True
        resent = f"resent {started.rebroadcast} signed on start; "
    r = runtime.relayer.tick()
    detail = (
        f"{resent}submitted {r.submitted}, confirmed {r.confirmed}, failed {r.failed}, "
        f"bumped {r.bumped}, deferred {r.deferred}"
    )
    if r.vanished or r.requeued or r.gaps_filled:
        detail += (
            f"; vanished from the chain {r.vanished}, re-signed {r.requeued}, "
            f"nonce gaps filled {r.gaps_filled}"
        )
    if r.errors:
        return Outcome(JobStatus.FAILED, detail, f"{len(r.errors)} node errors: {r.errors[0]}")
    return Outcome(JobStatus.SUCCEEDED, detail)


def _keep(runtime: Runtime) -> Outcome:
    ctx = runtime.context
    if not ctx.keeper_enabled:
        return Outcome(JobStatus.SKIPPED, KEEPER_OFF)
    report = Keeper(ctx.w3, ctx.deployment, ctx.keeper_key, engine=ctx.engine).run_once()
    return Outcome(JobStatus.SUCCEEDED, report.message)


# ---------------------------------------------------------------------- audit jobs

_AUDITS = threading.Lock()
"""audit_all, audit_on_policy_change and post_rewards each retrain, anchor or post with the
auditor's key; APScheduler runs different jobs in parallel threads (``max_instances`` is per
job). Both audit jobs retrain the models a withdrawal blocked, so after a withdrawal they
trained the same model at once: the second anchoring of the same run reverted and blocked the
model the first had just approved (a loaded CI machine, session 15). One at a time, the
second finds the model approved and does nothing."""


def _one_at_a_time(work: Callable[[Runtime], Outcome]) -> Callable[[Runtime], Outcome]:
    @functools.wraps(work)
    def serialised(runtime: Runtime) -> Outcome:
        with _AUDITS:
            return work(runtime)

    return serialised


# The audit service loads scikit-learn, Fairlearn and the renderers. `fairgov jobs`, the API's
# job history and `fairgov run` without audits import this module, so it loads on first use.


def _retrained(results: list[Retraining]) -> str:
    return ", ".join(f"{r.model_name} {r.status} ({r.reason})" for r in results)


@_one_at_a_time
def _audit_all(runtime: Runtime) -> Outcome:
    from audit.service import audit_due, retrain_after_withdrawal

    ctx = runtime.context
    if ctx.auditor_key is None:
        return Outcome(JobStatus.SKIPPED, NO_AUDITOR_KEY)
    try:
        # A retraining after a withdrawal that failed in audit_on_policy_change is tried again.
        retried = [
            r for r in retrain_after_withdrawal(ctx.audit) if r.run_id or r.error_code is not None
        ]
        outcome = audit_due(ctx.audit, ctx.model_specs)
    finally:  # runs already approved are paid even when this pass's audits fail
        rewards, paid = _post_rewards(runtime)
    notes = list(outcome.plan.notes)
    if retried:
        notes.insert(0, f"after a withdrawal: {_retrained(retried)}")
    if not outcome.plan.due and not retried:
        reason = "; ".join(notes) if notes else "no model specs registered"
        if rewards:  # a post refused again (say, not funded yet) is news, not work done
            status = JobStatus.SUCCEEDED if paid else JobStatus.SKIPPED
            return Outcome(status, f"nothing to audit: {reason}; {rewards}")
        return Outcome(JobStatus.SKIPPED, f"nothing to audit: {reason}")
    done = [f"{r.model_name} {r.verdict} ({r.model_status})" for r in outcome.runs]
    failed = [f"{name}: {code}" for name, code in outcome.failed]
    failed += [f"{r.model_name}: {r.error_code}" for r in retried if r.error_code is not None]
    detail = "; ".join(done + failed + notes + ([rewards] if rewards else []))
    if failed:
        due = len(outcome.plan.due) + len(retried)
        return Outcome(JobStatus.FAILED, detail, f"{len(failed)} of {due} audits failed")
    return Outcome(JobStatus.SUCCEEDED, detail)


def _post_rewards(runtime: Runtime) -> tuple[str, bool]:
    """The rewards step after the audits: post the reward root of every approved run not yet
    posted (and finish any post a crash interrupted); a summary, empty when nothing was due,
    and whether anything was posted."""
    from audit.rewards.service import post_due_rewards

    outcome = post_due_rewards(runtime.context.audit)
    posted = [f"{run[:10]}… epoch {epoch}" for run, epoch in outcome.posted]
    failed = [f"{run[:10]}… {code}" for run, code in outcome.failed]
    if not posted and not failed:
        return "", False
    summary = "rewards: " + ", ".join(
        ([f"posted {', '.join(posted)}"] if posted else [])
        + ([f"not posted {', '.join(failed)}"] if failed else [])
    )
    return summary, bool(posted)


def _reanchor(runtime: Runtime, auditor_key: str) -> tuple[str, bool]:
    """Check the anchors not final yet against the chain (:mod:`audit.reanchor`): publish
    again those a rollback took away, never those whose policy went too; a summary, empty
    when none was lost, and whether any could not be checked or published."""
    from audit.reanchor import reanchor_lost

    ctx = runtime.context
    found = reanchor_lost(
        ctx.audit,
        auditor_key,
        depth=ctx.finality_depth,
        final_after=timedelta(seconds=ctx.finality_seconds),
    )
    parts = []
    if found.restored:
        parts.append("re-anchored " + ", ".join(f"{run[:10]}…" for run in found.restored))
    if found.invalidated:
        runs = ", ".join(f"{run[:10]}…" for run in found.invalidated)
        parts.append(
            f"anchor lost and not published again, its policy was rolled back on chain: {runs} "
            "(no longer approved; the re-audit under the current policy decides)"
        )
    if found.failed:
        parts.append("not re-anchored " + ", ".join(f"{r[:10]}… {c}" for r, c in found.failed))
    return "; ".join(parts), bool(found.failed)


@_one_at_a_time
def _post(runtime: Runtime) -> Outcome:
    """Check the anchors not final yet and publish again any a chain rollback took away, then
    post the reward root of every approved run not yet posted, between audit passes (a run
    the API or the CLI started is paid without waiting for the nightly ``audit_all``)."""
    auditor_key = runtime.context.auditor_key
    if auditor_key is None:
        return Outcome(JobStatus.SKIPPED, NO_AUDITOR_KEY)
    anchors, lost = _reanchor(runtime, auditor_key)
    rewards, paid = _post_rewards(runtime)
    detail = "; ".join(part for part in (anchors, rewards) if part)
    if lost:
        return Outcome(JobStatus.FAILED, detail, anchors)
    if not detail:
        return Outcome(JobStatus.SKIPPED, "no anchor was lost and no approved run is due a reward")
    # A lost anchor found is work done, whether it was published again or not.
    return Outcome(JobStatus.SUCCEEDED if paid or anchors else JobStatus.SKIPPED, detail)


@_one_at_a_time
def _reaudit(runtime: Runtime) -> Outcome:
    from audit.service import reaudit_after_policy_change, retrain_after_withdrawal

    ctx = runtime.context
    try:
        with Session(ctx.engine) as session:
            pending = _policy_to_reaudit(session)
            latest = policy_identity(session)[0]
        if pending is None:
            return Outcome(JobStatus.SKIPPED, f"policy version {latest} was already re-audited")
        latest, key = pending
        if ctx.auditor_key is None:
            outcome = Outcome(JobStatus.SKIPPED, f"policy version {latest}: {NO_AUDITOR_KEY}")
        else:
            results = reaudit_after_policy_change(ctx.audit)
            summary = ", ".join(f"{r.model_name} {r.status}" for r in results)
            detail = f"policy version {latest}: " + (
                f"re-audited {len(results)}: {summary}" if results else "no approved models"
            )
            retrained = retrain_after_withdrawal(ctx.audit)
            if retrained:
                detail += f"; after a withdrawal: {_retrained(retrained)}"
            failed = [r for r in retrained if r.error_code is not None]
            outcome = (
                Outcome(JobStatus.FAILED, detail, f"{len(failed)} retrainings failed")
                if failed
                else Outcome(JobStatus.SUCCEEDED, detail)
            )
        with session_scope(ctx.engine) as session:
            history.set_mark(session, POLICY_MARK, key)
        return outcome
    finally:
        runtime.policy_audit_pending.clear()


def _retain(runtime: Runtime) -> Outcome:
    """Delete old reports nobody can ask about (:mod:`audit.service.retention`), and old
    history rows."""
    from audit.service import delete_old_reports

    ctx = runtime.context
    now = utcnow()
    retained = delete_old_reports(
        ctx.audit, older_than=now - timedelta(days=ctx.report_retention_days)
    )
    with session_scope(ctx.engine) as session:
        pruned = history.prune(session, older_than=now - timedelta(days=ctx.history_retention_days))
    return Outcome(
        JobStatus.SUCCEEDED,
        f"deleted {retained.deleted} reports older than {ctx.report_retention_days} days "
        f"(kept {retained.kept} anchored or approved); pruned {pruned} job history rows",
    )


# ---------------------------------------------------------------------- the job functions


def sync_chain() -> None:
    """Index new chain events; block the models trained on data withdrawn since; request a
    re-audit when the policy version rose."""
    run("sync_chain", _sync)


def relay_outbox() -> None:
    """Send queued ballots and delegations (``Relayer.start`` on the first run)."""
    run("relay_outbox", _relay)


def keeper() -> None:
    """Queue passed proposals and execute due ones, unless the keeper is switched off."""
    run("keeper", _keep)


def audit_all() -> None:
    """Audit every known model spec whose dataset the policy allows and that is not current."""
    run("audit_all", _audit_all)


def post_rewards() -> None:
    """Post the reward roots of approved runs not yet posted."""
    run("post_rewards", _post)


def audit_on_policy_change() -> None:
    """Re-audit the approved models once per new policy version, and retrain the models a
    withdrawal blocked on their remaining datasets."""
    run("audit_on_policy_change", _reaudit)


def retention() -> None:
    """Delete old unanchored reports and old job history."""
    run("retention", _retain)


#: Every job by name; the job store refers to them as ``"scheduler.jobs:<name>"``.
JOBS: Final[dict[str, Callable[[], None]]] = {
    "sync_chain": sync_chain,
    "relay_outbox": relay_outbox,
    "keeper": keeper,
    "audit_all": audit_all,
    "post_rewards": post_rewards,
    "audit_on_policy_change": audit_on_policy_change,
    "retention": retention,
}


def reference(name: str) -> str:
    """The textual reference the job store keeps for job ``name``."""
    if name not in JOBS:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(JOBS)}")
    return f"{__name__}:{name}"


def run_job(name: str) -> None:
    """Run job ``name`` once, now, in this thread (tests and ``fairgov jobs run``)."""
    JOBS[name]()
