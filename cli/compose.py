"""The composition root: the one place that builds fairgov's parts from ``FAIRGOV_*`` settings.

Every entry point starts here. ``fairgov run`` starts or finds the chain and deploys, then
hands its :class:`Context` to :func:`create_api` and :func:`job_context`; the other commands
call :func:`load_context`; uvicorn calls :func:`api_app`::

    uvicorn --factory cli.compose:api_app

Settings are read here and nowhere below: the API gets its parts ready-made
(:func:`api.main.create_app`), the scheduler gets a :class:`~scheduler.jobs.JobContext`, and
the domain packages get plain arguments. This is the only module that imports both ``api``
and ``scheduler`` (the import contracts in pyproject.toml enforce it).

Commands other than ``run`` talk to the node and API of the ``fairgov run`` serving their data
directory, as recorded in its ``run.json``, never to a default address: with
``FAIRGOV_ANVIL_PORT=0`` the chain is on a port only ``run.json`` knows, and 127.0.0.1:8545
may be another stack whose contracts sit at the same addresses. ``FAIRGOV_RPC_URL`` names a
node explicitly and needs no ``run.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import Engine
from web3 import Web3

from audit.env import AuditEnv
from core import db
from core.errors import ConfigurationError
from core.settings import Settings
from governance.chain import deploy, localchain
from governance.chain import node as chain_client

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from fastapi import FastAPI
    from sqlmodel import Session

    from scheduler.db_models import JobRun
    from scheduler.jobs import JobContext
    from scheduler.service import SchedulerService

# FastAPI, the scheduler and the audit stack load inside the functions that need them: the
# other `fairgov` commands should not wait for them.


class NotDeployed(ConfigurationError):
    """No deployment file: the stack was never started in this data directory."""

    code: ClassVar[str] = "not_deployed"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            f"no deployment in {settings.deployment_file}: start the stack with `fairgov run` "
            "(or set FAIRGOV_DATA_DIR to the directory it uses)"
        )


class NoRunningStack(ConfigurationError):
    """No ``fairgov run`` serves this data directory, and no node was named."""

    code: ClassVar[str] = "no_running_stack"

    def __init__(self, settings: Settings, problem: str) -> None:
        super().__init__(
            f"no fairgov is running on {settings.data_dir} ({problem}): start it with "
            "`fairgov run`, point FAIRGOV_DATA_DIR at the directory it uses, or set "
            "FAIRGOV_RPC_URL to a node",
            run_file=str(settings.run_file),
        )


class StackMismatch(ConfigurationError):
    """The running stack's recorded contracts are not the data directory's deployment."""

    code: ClassVar[str] = "stack_mismatch"

    def __init__(self, settings: Settings, problem: str) -> None:
        super().__init__(
            f"the fairgov running on {settings.data_dir} {problem}: restart it with "
            "`fairgov run` so run.json and deployment.json agree"
        )


# ---------------------------------------------------------------- run.json: the running stack


@dataclass(frozen=True)
class RunningStack:
    """Where the running stack is: its node, its API and, when recorded, its contracts."""

    rpc_url: str
    api_url: str | None = None
    pid: int | None = None
    chain_id: int | None = None
    addresses: dict[str, str] | None = None


def read_run_file(path: Path) -> dict[str, Any] | None:
    """The record in ``path``, or None when there is none or it is unreadable."""
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_run_file(path: Path, stack: RunningStack) -> None:
    """Record ``stack`` in ``path`` atomically (write a temporary file, then rename it)."""
    record = {
        "rpc_url": stack.rpc_url,
        "api_url": stack.api_url,
        "pid": stack.pid if stack.pid is not None else os.getpid(),
        "chain_id": stack.chain_id,
        "addresses": stack.addresses,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def process_alive(pid: object) -> bool:
    """Whether a process with this id exists (and is not a zombie) on this machine."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"


def find_stack(settings: Settings) -> RunningStack:
    """The stack the commands must use; :class:`NoRunningStack` when none is running.

    ``FAIRGOV_RPC_URL`` wins when set. Otherwise ``run.json`` must exist, name an RPC URL
    and have been written by a process that is still alive.
    """
    record = read_run_file(settings.run_file)
    alive = record is not None and process_alive(record.get("pid"))
    if settings.rpc_url is not None:
        api_url = _text(record, "api_url") if alive else None
        return RunningStack(settings.rpc_url, api_url=api_url)
    if record is None:
        raise NoRunningStack(settings, f"{settings.run_file} is missing or unreadable")
    rpc_url = _text(record, "rpc_url")
    if rpc_url is None:
        raise NoRunningStack(settings, f"{settings.run_file} names no rpc_url")
    if not alive:
        raise NoRunningStack(
            settings, f"the fairgov run that wrote run.json (pid {record.get('pid')}) has exited"
        )
    addresses = record.get("addresses")
    chain_id = record.get("chain_id")
    return RunningStack(
        rpc_url,
        api_url=_text(record, "api_url"),
        pid=int(record["pid"]),
        chain_id=chain_id if isinstance(chain_id, int) else None,
        addresses=addresses if isinstance(addresses, dict) else None,
    )


def _text(record: dict[str, Any] | None, key: str) -> str | None:
    value = None if record is None else record.get(key)
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------- the parts


@dataclass(frozen=True)
class Context:
    """The parts every entry point shares: settings, the deployment on its chain, the
    migrated database, the node's URL and (when one runs) the API's."""

    settings: Settings
    deployment: deploy.Deployment
    w3: Web3
    engine: Engine
    rpc_url: str
    api_url: str | None = None

    @property
    def auditor_key(self) -> str | None:
        """The key that anchors audit reports on this chain (None: audits cannot run)."""
        return self.settings.auditor_private_key(self.deployment.chain_id)

    @property
    def audit_env(self) -> AuditEnv:
        """The audit service's environment, made of these parts."""
        return AuditEnv(
            engine=self.engine,
            w3=self.w3,
            deployment=self.deployment,
            data_dir=Path(self.settings.data_dir),
            auditor_key=self.auditor_key,
            estimator_modules=tuple(self.settings.estimator_modules),
            onnx_max_memory=self.settings.onnx_max_memory,
            onnx_max_seconds=self.settings.onnx_max_seconds,
        )


def migrated_engine(settings: Settings) -> Engine:
    """The database, migrated to the latest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database)
    db.upgrade(engine)
    return engine


def _check_recorded(settings: Settings, stack: RunningStack, deployment: deploy.Deployment) -> None:
    if stack.chain_id is not None and stack.chain_id != deployment.chain_id:
        raise StackMismatch(settings, f"is on chain {stack.chain_id}, not {deployment.chain_id}")
    recorded = {k: v.lower() for k, v in (stack.addresses or {}).items()}
    ours: dict[str, str] = {k: v.lower() for k, v in deployment.contract_addresses().items()}
    differing = sorted(k for k in recorded.keys() & ours.keys() if recorded[k] != ours[k])
    if differing:
        raise StackMismatch(settings, f"uses another {differing[0]}")


def load_context(settings: Settings | None = None) -> Context:
    """Settings (default: from the environment), the deployment on the running stack's
    chain, and the migrated database.

    Raises :class:`NotDeployed` without a deployment file, :class:`NoRunningStack` when no
    ``fairgov run`` serves the data directory and FAIRGOV_RPC_URL is unset, and
    :class:`StackMismatch` when the running stack recorded other contracts.
    """
    settings = settings or Settings()
    deployment = deploy.load(settings.deployment_file)
    if deployment is None:
        raise NotDeployed(settings)
    stack = find_stack(settings)
    _check_recorded(settings, stack, deployment)
    w3 = chain_client.connect(stack.rpc_url)
    deploy.check_on_chain(w3, deployment, settings.deployment_file)
    return Context(
        settings, deployment, w3, migrated_engine(settings), stack.rpc_url, stack.api_url
    )


# ---------------------------------------------------------------- the adapters


def create_api(ctx: Context, *, read_scheduler: bool) -> FastAPI:
    """The HTTP API over ``ctx``. ``read_scheduler``: ``GET /v1/health`` and ``GET /v1/jobs``
    read the scheduler's heartbeat and history (``fairgov run``, which runs the scheduler)."""
    from api.main import create_app

    readers: dict[str, Any] = {}
    if read_scheduler:
        readers = {
            "heartbeat": last_heartbeat,
            "job_history": lambda session, job, limit: recent_jobs(session, job=job, limit=limit),
        }
    return create_app(
        settings=ctx.settings,
        engine=ctx.engine,
        w3=ctx.w3,
        deployment=ctx.deployment,
        rpc_url=ctx.rpc_url,
        auditor_key=ctx.auditor_key,
        **readers,
    )


def serving_api(ctx: Context, *, read_scheduler: bool) -> FastAPI:
    """:func:`create_api`, then the garbage collector's heap frozen, as a server needs
    (:func:`api.main.freeze_heap` says why)."""
    from api.main import freeze_heap

    app = create_api(ctx, read_scheduler=read_scheduler)
    freeze_heap()
    return app


def api_app() -> FastAPI:
    """The uvicorn factory: the API on the running stack of ``FAIRGOV_*`` settings (its
    ``run.json``, or ``FAIRGOV_RPC_URL``)."""
    return serving_api(load_context(), read_scheduler=False)


def job_context(ctx: Context, *, embedded_chain: bool) -> JobContext:
    """What the scheduler's jobs need. ``embedded_chain``: the chain is this data
    directory's anvil, which can lose its last unsaved second however many blocks it held."""
    from scheduler.jobs import JobContext

    s, chain_id = ctx.settings, ctx.deployment.chain_id
    return JobContext(
        engine=ctx.engine,
        w3=ctx.w3,
        deployment=ctx.deployment,
        rpc_url=ctx.rpc_url,
        data_dir=s.data_dir,
        relayer_key=s.relayer_private_key(chain_id),
        keeper_key=s.relayer_private_key(chain_id),
        auditor_key=ctx.auditor_key,
        confirmations=s.confirmations,
        finality_depth=s.finality_depth,
        finality_seconds=localchain.DURABLE_AFTER_SECONDS if embedded_chain else 0.0,
        keeper_enabled=s.keeper_enabled,
        report_retention_days=s.report_retention_days,
        estimator_modules=tuple(s.estimator_modules),
        onnx_max_memory=s.onnx_max_memory,
        onnx_max_seconds=s.onnx_max_seconds,
    )


def scheduler_service(ctx: Context, *, embedded_chain: bool) -> SchedulerService:
    """The scheduler over :func:`job_context`, configured from ``FAIRGOV_*`` (not started)."""
    from scheduler.service import SchedulerConfig, SchedulerService

    config = SchedulerConfig.from_settings(ctx.settings)
    return SchedulerService(job_context(ctx, embedded_chain=embedded_chain), config)


def recent_jobs(session: Session, *, job: str | None, limit: int) -> Sequence[JobRun]:
    """The scheduler's newest job runs (for ``fairgov jobs``), newest first."""
    from scheduler import history

    return history.recent(session, job=job, limit=limit)


def last_heartbeat(session: Session) -> datetime | None:
    """When the scheduler last said it was alive (for ``fairgov jobs``)."""
    from scheduler import history

    return history.last_heartbeat(session)
