"""The process-wide context the scheduled jobs run in, and the wrapper every run goes through.

APScheduler's SQLAlchemy job store persists each job as a textual reference
(``"scheduler.jobs:sync_chain"``) with no arguments. Whatever a job needs (engine, node,
deployment, keys, data directory) comes from the :class:`JobContext` that the active
:class:`~scheduler.service.SchedulerService` installs in this process, never from pickled
arguments. Every run writes one :mod:`~scheduler.history` row when it starts and completes
it when it finishes (:func:`run`). A job runs fenced by the lease (:mod:`core.fence`): a
scheduler that lost its lease mid-job stops before its next transaction.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import requests
from sqlalchemy import Engine
from web3 import Web3

from audit.env import AuditEnv
from core import fence
from core.db import session_scope
from core.errors import FairgovError
from governance.chain.deploy import Deployment
from governance.errors import ChainUnreachable
from governance.relay.relayer import Relayer, RelayerConfig
from scheduler import history
from scheduler.db_models import JobStatus

if TYPE_CHECKING:  # a type only
    from audit.spec import ModelSpec

_log = logging.getLogger("scheduler.jobs")

NO_CONTEXT: Final = "no JobContext is installed in this process: start a SchedulerService"


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
    estimator_modules: tuple[str, ...] = ()
    onnx_max_memory: int = 4 * 1024**3
    onnx_max_seconds: float = 600.0
    relayer_config: RelayerConfig | None = None

    @functools.cached_property
    def audit(self) -> AuditEnv:
        """The audit service's environment, made of this context's parts."""
        return AuditEnv(
            engine=self.engine,
            w3=self.w3,
            deployment=self.deployment,
            data_dir=Path(self.data_dir),
            auditor_key=self.auditor_key,
            estimator_modules=self.estimator_modules,
            onnx_max_memory=self.onnx_max_memory,
            onnx_max_seconds=self.onnx_max_seconds,
        )


@dataclass(frozen=True)
class Outcome:
    """How a run ended: ``status`` with a one-line ``detail`` (and ``error`` if it failed)."""

    status: JobStatus
    detail: str
    error: str | None = None


def _nothing_requested() -> None:
    return None


@dataclass
class Runtime:
    """The installed context, plus what persists between runs in this process."""

    context: JobContext
    holder: str
    may_run: Callable[[], bool]
    request_policy_audit: Callable[[], None] = _nothing_requested
    relayer: Relayer | None = None
    relayer_started: bool = False
    policy_audit_pending: threading.Event = field(default_factory=threading.Event)


_runtime: Runtime | None = None
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
        _runtime = Runtime(context, holder, may_run, request_policy_audit)


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


def current() -> Runtime:
    runtime = _runtime
    if runtime is None:
        raise RuntimeError(NO_CONTEXT)
    return runtime


def run(name: str, work: Callable[[Runtime], Outcome]) -> None:
    """Run ``work`` as job ``name`` on the installed runtime, recorded in the job history."""
    runtime = current()
    if not runtime.may_run():
        _log.info("%s not run: this scheduler no longer holds the lease", name)
        return
    with session_scope(runtime.context.engine) as session:
        run_id = history.start(session, name, holder=runtime.holder).id
    assert run_id is not None
    try:
        with fence.fenced(runtime.may_run):  # every transaction the job sends checks the lease
            outcome = work(runtime)
    except fence.LeaseLost as exc:
        _log.warning("job %s stopped: %s", name, exc)
        outcome = Outcome(JobStatus.SKIPPED, "stopped: the lease was taken over", exc.code)
    except Exception as exc:
        outcome = Outcome(JobStatus.FAILED, "", _failure(name, exc, runtime.context.rpc_url))
    with session_scope(runtime.context.engine) as session:
        history.finish(
            session, run_id, outcome.status, error=outcome.error, detail=outcome.detail or None
        )


def _failure(name: str, exc: Exception, rpc_url: str) -> str:
    """Log a failed job and say what failed, for its history row. An error fairgov names (a
    chain node that does not answer, ...) is one line that says what to do, as at the CLI; a
    node's connection refused by the HTTP client is said as such; anything else is a bug and
    keeps its traceback in the log."""
    if isinstance(exc, requests.ConnectionError):  # not a timeout: a slow node is up
        exc = ChainUnreachable(rpc_url, type(exc).__name__)
    if isinstance(exc, FairgovError):
        _log.warning("job %s failed: %s", name, exc.message)
        return f"{exc.code}: {exc.message}"
    _log.exception("job %s failed", name)
    return f"{type(exc).__name__}: {exc}"
