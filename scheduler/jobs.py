"""The scheduled jobs, and the process-wide context they run in.

APScheduler's SQLAlchemy job store persists each job as a textual reference
(``"scheduler.jobs:sync_chain"``) with no arguments. Whatever a job needs (engine, node,
deployment, keys, data directory) comes from the :class:`JobContext` that the active
:class:`~scheduler.service.SchedulerService` installs in this process, never from pickled
arguments. Every run writes one :mod:`~scheduler.history` row when it starts and completes
it when it finishes. Every job is idempotent: running it twice, or on another process
after a takeover, does no harm.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from core.db import session_scope
from core.errors import FairgovError
from governance.chain.deploy import Deployment
from governance.index.indexer import Indexer, latest_policy_version
from governance.keeper import Keeper
from governance.relay.relayer import Relayer, RelayerConfig
from scheduler import history
from scheduler.db_models import JobStatus, utcnow

if TYPE_CHECKING:
    from audit.training import ModelSpec

_log = logging.getLogger(__name__)

#: The mark holding the last policy version whose re-audit finished.
POLICY_MARK: Final = "policy_version_reaudited"
NO_CONTEXT: Final = "no JobContext is installed in this process: start a SchedulerService"
NO_AUDITOR_KEY: Final = "no auditor key is configured: audits are switched off"
KEEPER_OFF: Final = "the keeper is switched off"


@dataclass(frozen=True)
class JobContext:
    """Everything the jobs need; built once by the process that runs the scheduler.

    ``keeper_key`` pays for queue and execute transactions, ``relayer_key`` for relayed
    ballots and delegations. Without ``auditor_key`` the audit jobs record ``skipped``.
    ``model_specs`` are audited by ``audit_all`` in addition to every model that was
    trained here before (the latest spec of each, from the audit runs).
    """

    engine: Engine
    w3: Web3
    deployment: Deployment
    rpc_url: str
    data_dir: Path
    relayer_key: str
    keeper_key: str
    auditor_key: str | None = None
    confirmations: int = 0
    finality_depth: int = 12
    finality_seconds: float = 0.0
    keeper_enabled: bool = True
    report_retention_days: int = 90
    history_retention_days: int = 14
    model_specs: tuple[ModelSpec, ...] = ()
    relayer_config: RelayerConfig | None = None


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``status`` with a one-line ``detail`` (and ``error`` if it failed)."""

    status: JobStatus
    detail: str
    error: str | None = None


def _nothing_requested() -> None:
    return None


@dataclass
class _Runtime:
    context: JobContext
    holder: str
    may_run: Callable[[], bool]
    request_policy_audit: Callable[[], None] = _nothing_requested
    relayer: Relayer | None = None
    relayer_started: bool = False
    policy_audit_pending: threading.Event = field(default_factory=threading.Event)


_runtime: _Runtime | None = None
_runtime_lock = threading.Lock()


def install(
    context: JobContext,
    *,
    holder: str,
    may_run: Callable[[], bool] = lambda: True,
    request_policy_audit: Callable[[], None] = _nothing_requested,
) -> None:
    """Make ``context`` the one the jobs of this process use (one scheduler per process)."""
    global _runtime  # noqa: PLW0603 - the job store can only reference module-level jobs
    with _runtime_lock:
        _runtime = _Runtime(context, holder, may_run, request_policy_audit)


def uninstall() -> None:
    """Forget the installed context; jobs then refuse to run."""
    global _runtime  # noqa: PLW0603
    with _runtime_lock:
        _runtime = None


@contextmanager
def installed(context: JobContext, *, holder: str = "local") -> Iterator[None]:
    """``install`` for the duration of a block (tests and one-off CLI runs)."""
    install(context, holder=holder)
    try:
        yield
    finally:
        uninstall()


def _current() -> _Runtime:
    runtime = _runtime
    if runtime is None:
        raise RuntimeError(NO_CONTEXT)
    return runtime


def _run(name: str, work: Callable[[_Runtime], Outcome]) -> None:
    runtime = _current()
    if not runtime.may_run():
        _log.info("%s not run: this scheduler no longer holds the lease", name)
        return
    with session_scope(runtime.context.engine) as session:
        run_id = history.start(session, name, holder=runtime.holder).id
    assert run_id is not None
    try:
        outcome = work(runtime)
    except Exception as exc:
        _log.exception("job %s failed", name)
        outcome = Outcome(JobStatus.FAILED, "", f"{type(exc).__name__}: {exc}")
    with session_scope(runtime.context.engine) as session:
        history.finish(
            session, run_id, outcome.status, error=outcome.error, detail=outcome.detail or None
        )


# ---------------------------------------------------------------------- chain jobs


def _sync(runtime: _Runtime) -> Outcome:
    ctx = runtime.context
    report = Indexer(ctx.engine, ctx.w3, ctx.deployment, confirmations=ctx.confirmations).sync()
    detail = (
        "up to date"
        if report.to_block is None
        else f"indexed blocks {report.from_block}-{report.to_block}: {report.events} events"
    )
    with Session(ctx.engine) as session:
        latest = latest_policy_version(session)
        reaudited = int(history.get_mark(session, POLICY_MARK) or 0)
    if latest > reaudited and not runtime.policy_audit_pending.is_set():
        runtime.policy_audit_pending.set()
        runtime.request_policy_audit()
        detail += f"; policy version {latest}: re-audit requested"
    return Outcome(JobStatus.SUCCEEDED, detail)


def _relay(runtime: _Runtime) -> Outcome:
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


def _keep(runtime: _Runtime) -> Outcome:
    ctx = runtime.context
    if not ctx.keeper_enabled:
        return Outcome(JobStatus.SKIPPED, KEEPER_OFF)
    report = Keeper(ctx.w3, ctx.deployment, ctx.keeper_key, engine=ctx.engine).run_once()
    return Outcome(JobStatus.SUCCEEDED, report.message)


# ---------------------------------------------------------------------- audit jobs


def _specs_to_audit(session: Session, extra: tuple[ModelSpec, ...]) -> list[ModelSpec]:
    """The latest spec of every model trained here, then ``extra`` (which wins by name)."""
    from audit.db_models import AuditRunRecord
    from audit.training import parse_spec

    rows = session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.kind == "training_run")
        .order_by(col(AuditRunRecord.id))
    ).all()
    specs: dict[str, ModelSpec] = {}
    for row in rows:
        try:
            specs[row.model_name] = parse_spec(json.loads(row.spec_json))
        except (FairgovError, ValueError):
            continue  # a spec this version no longer accepts; its runs stay in history
    for spec in extra:
        specs[spec.name] = spec
    return list(specs.values())


def _audit_all(runtime: _Runtime) -> Outcome:
    from audit.db_models import AuditRunRecord, RunStatus
    from audit.manifest import latest_manifest
    from audit.runs import run_audit
    from governance.policy.snapshot import allowed_dataset, read_snapshot

    ctx = runtime.context
    if ctx.auditor_key is None:
        return Outcome(JobStatus.SKIPPED, NO_AUDITOR_KEY)
    snapshot = read_snapshot(ctx.w3, ctx.deployment.addresses.training_policy)
    due: list[ModelSpec] = []
    notes: list[str] = []
    with Session(ctx.engine) as session:
        for spec in _specs_to_audit(session, ctx.model_specs):
            try:
                manifest = latest_manifest(session, spec.dataset)
            except FairgovError:
                notes.append(f"{spec.name}: dataset {spec.dataset!r} not registered")
                continue
            if allowed_dataset(snapshot, manifest.dataset_id) is None:
                notes.append(f"{spec.name}: dataset {spec.dataset!r} not allowed")
                continue
            last = session.exec(
                select(AuditRunRecord)
                .where(AuditRunRecord.model_name == spec.name)
                .where(AuditRunRecord.kind == "training_run")
                .where(AuditRunRecord.status == RunStatus.COMPLETED)
                .order_by(col(AuditRunRecord.id).desc())
            ).first()
            if (
                last is not None
                and last.policy_version == snapshot.policy_version
                and last.content_hash == manifest.sha256
                and last.spec_json == spec.canonical_json().decode("utf-8")
            ):
                notes.append(f"{spec.name}: up to date (policy version {last.policy_version})")
                continue
            due.append(spec)
    if not due:
        reason = "; ".join(notes) if notes else "no model specs registered"
        return Outcome(JobStatus.SKIPPED, f"nothing to audit: {reason}")
    done, failed = [], []
    for spec in due:
        try:
            run = run_audit(
                ctx.engine,
                ctx.w3,
                ctx.deployment,
                spec=spec,
                data_dir=ctx.data_dir,
                auditor_key=ctx.auditor_key,
            )
        except FairgovError as exc:
            failed.append(f"{spec.name}: {exc.code}")
            continue
        done.append(f"{spec.name} {run.verdict} ({run.model_status})")
    detail = "; ".join(done + failed + notes)
    if failed:
        return Outcome(JobStatus.FAILED, detail, f"{len(failed)} of {len(due)} audits failed")
    return Outcome(JobStatus.SUCCEEDED, detail)


def _reaudit(runtime: _Runtime) -> Outcome:
    from audit.gate import reaudit_after_policy_change

    ctx = runtime.context
    try:
        with Session(ctx.engine) as session:
            latest = latest_policy_version(session)
            reaudited = int(history.get_mark(session, POLICY_MARK) or 0)
        if latest <= reaudited:
            return Outcome(JobStatus.SKIPPED, f"policy version {latest} was already re-audited")
        if ctx.auditor_key is None:
            outcome = Outcome(JobStatus.SKIPPED, f"policy version {latest}: {NO_AUDITOR_KEY}")
        else:
            results = reaudit_after_policy_change(
                ctx.engine,
                ctx.w3,
                ctx.deployment,
                data_dir=ctx.data_dir,
                auditor_key=ctx.auditor_key,
            )
            summary = ", ".join(f"{r.model_name} {r.status}" for r in results)
            outcome = Outcome(
                JobStatus.SUCCEEDED,
                f"policy version {latest}: "
                + (f"re-audited {len(results)}: {summary}" if results else "no approved models"),
            )
        with session_scope(ctx.engine) as session:
            history.set_mark(session, POLICY_MARK, str(latest))
        return outcome
    finally:
        runtime.policy_audit_pending.clear()


def _retain(runtime: _Runtime) -> Outcome:
    """Delete old report directories nobody can ask about, and old history rows.

    Kept whatever their age: the report of every anchored run (its hash is on chain, so
    auditors will ask for it) and of every approved model's latest run. That leaves the
    reports of runs that never anchored, directories no run row knows, and staging
    leftovers.
    """
    from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion

    ctx = runtime.context
    now = utcnow()
    with Session(ctx.engine) as session:
        anchored = session.exec(
            select(AuditRunRecord.run_id).where(col(AuditRunRecord.anchor_tx).is_not(None))
        ).all()
        approved = session.exec(
            select(ModelVersion.latest_run_id).where(ModelVersion.status == ModelStatus.APPROVED)
        ).all()
    keep = {r for r in [*anchored, *approved] if r}
    cutoff = (now - timedelta(days=ctx.report_retention_days)).timestamp()
    reports = ctx.data_dir / "reports"
    deleted = kept = 0
    for directory in sorted(reports.iterdir()) if reports.is_dir() else []:
        if not directory.is_dir() or directory.stat().st_mtime >= cutoff:
            continue
        if directory.name in keep:
            kept += 1
            continue
        shutil.rmtree(directory, ignore_errors=True)
        deleted += 1
    with session_scope(ctx.engine) as session:
        pruned = history.prune(session, older_than=now - timedelta(days=ctx.history_retention_days))
    return Outcome(
        JobStatus.SUCCEEDED,
        f"deleted {deleted} reports older than {ctx.report_retention_days} days "
        f"(kept {kept} anchored or approved); pruned {pruned} job history rows",
    )


# ---------------------------------------------------------------------- the job functions


def sync_chain() -> None:
    """Index new chain events; request a re-audit when the policy version rose."""
    _run("sync_chain", _sync)


def relay_outbox() -> None:
    """Send queued ballots and delegations (``Relayer.start`` on the first run)."""
    _run("relay_outbox", _relay)


def keeper() -> None:
    """Queue passed proposals and execute due ones, unless the keeper is switched off."""
    _run("keeper", _keep)


def audit_all() -> None:
    """Audit every known model spec whose dataset the policy allows and that is not current."""
    _run("audit_all", _audit_all)


def audit_on_policy_change() -> None:
    """Re-audit the approved models once per new policy version."""
    _run("audit_on_policy_change", _reaudit)


def retention() -> None:
    """Delete old unanchored reports and old job history."""
    _run("retention", _retain)


#: Every job by name; the job store refers to them as ``"scheduler.jobs:<name>"``.
JOBS: Final[dict[str, Callable[[], None]]] = {
    "sync_chain": sync_chain,
    "relay_outbox": relay_outbox,
    "keeper": keeper,
    "audit_all": audit_all,
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
