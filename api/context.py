"""What every request needs, built once per app: settings, database, chain, limits.

:class:`ApiContext` lives on ``app.state``; :mod:`api.deps` hands its parts to routes.
:meth:`ApiContext.live_view` reads the node (one kept-alive connection per worker thread);
:attr:`ApiContext.intake` accepts signed ballots and delegations with it, or with the chain
index when the node is down (:class:`governance.intake.IntakeService`).

Audit runs accepted over HTTP are ``queued`` rows, run one at a time on the audit worker
(:meth:`ApiContext.run_queued`). When the context is built, the runs a stopped process left
are recovered (:mod:`audit.run_recovery`): its queued runs are run here, its running ones
closed as ``interrupted``. Closing the context lets the run in progress finish; the runs
still queued stay in the database for the next start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from web3 import Web3

from api.limits import Slots, TokenBuckets
from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.env import AuditEnv
from audit.external import ExternalAuditSpec, run_external_audit
from audit.publish import finish_run
from audit.run_heartbeat import HEARTBEAT_INTERVAL
from audit.run_recovery import QueuedRun, claim_queued, close_interrupted
from audit.runs import run_audit
from audit.spec import parse_spec
from core.errors import FairgovError
from core.settings import Settings
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.chain.view import RpcChainView
from governance.intake import IntakeService

#: Seconds a chain read may take before the node counts as down.
NODE_TIMEOUT = 5.0
#: How often a serving API looks for the runs of processes that are gone (one SELECT).
RECOVERY_SECONDS = 2 * HEARTBEAT_INTERVAL

log = logging.getLogger("fairgov.api.audits")


@dataclass
class ApiContext:
    """The app's long-lived parts. One per :func:`api.main.create_app`."""

    settings: Settings
    engine: Engine
    w3: Web3
    deployment: Deployment
    rpc_url: str
    auditor_key: str | None = None
    heartbeat: Callable[[Session], datetime | None] | None = None
    job_history: Callable[[Session, str | None, int], Sequence[Any]] | None = None
    clock: Callable[[], float] = time.time
    #: How often the serving API recovers the runs of gone processes (tests shorten it).
    recovery_seconds: float = RECOVERY_SECONDS
    per_voter: TokenBuckets = field(init=False)
    #: The uploads being audited in this process (``FAIRGOV_API_MAX_CONCURRENT_AUDITS``).
    audit_slots: Slots = field(init=False)
    intake: IntakeService = field(init=False)
    audits: ThreadPoolExecutor = field(init=False)
    _local: threading.local = field(default_factory=threading.local)
    _closing: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        s = self.settings
        self.per_voter = TokenBuckets(s.api_voter_rate, s.api_voter_burst)
        self.audit_slots = Slots(s.api_max_concurrent_audits)
        self.audits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairgov-audit")
        self.intake = IntakeService(self.engine, self.deployment, live_view=self.live_view)
        self.recover_audits()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def rpc(self) -> RpcBatch:
        """This thread's JSON-RPC connection to the node."""
        rpc: RpcBatch | None = getattr(self._local, "rpc", None)
        if rpc is None:
            rpc = self._local.rpc = RpcBatch(self.rpc_url, timeout=NODE_TIMEOUT)
        return rpc

    def live_view(self) -> RpcChainView:
        """Governance state on the node, through this thread's connection."""
        view: RpcChainView | None = getattr(self._local, "view", None)
        if view is None:
            a = self.deployment.addresses
            view = self._local.view = RpcChainView(
                rpc=self.rpc(),
                governor=bind(self.w3, "FairnessGovernor", a.governor),
                token=bind(self.w3, "GovernanceToken", a.token),
                _chain_id=self.deployment.chain_id,
            )
        return view

    def audit_env(self) -> AuditEnv:
        """The audit service's environment, made of this context's parts."""
        s = self.settings
        return AuditEnv(
            engine=self.engine,
            w3=self.w3,
            deployment=self.deployment,
            data_dir=Path(s.data_dir),
            auditor_key=self.auditor_key,
            estimator_modules=tuple(s.estimator_modules),
            onnx_max_memory=s.onnx_max_memory,
            onnx_max_seconds=s.onnx_max_seconds,
        )

    def run_queued(self, queued: QueuedRun) -> None:
        """Run the queued row ``queued`` on the audit worker, after the runs before it."""
        env = self.audit_env()

        def work() -> None:
            try:
                if queued.kind == RunKind.EXTERNAL:
                    external = ExternalAuditSpec.model_validate_json(queued.spec_json)
                    run_external_audit(env, external, queued=queued.row_id)
                else:
                    spec = parse_spec(json.loads(queued.spec_json))
                    run_audit(env, spec, queued=queued.row_id)
            except (FairgovError, ValidationError) as exc:  # a stored spec no longer parses
                self._fail_if_queued(queued, exc)
                log.warning("audit run %s failed: %s", queued.run_id, exc)
            except Exception:  # the run's row records the failure; the log keeps the trace
                log.exception("audit run %s failed", queued.run_id)

        self.audits.submit(work)

    def _fail_if_queued(self, queued: QueuedRun, exc: BaseException) -> None:
        with Session(self.engine) as session:
            row = session.get(AuditRunRecord, queued.row_id)
            still_queued = row is not None and row.status == RunStatus.QUEUED
        if still_queued:
            finish_run(self.engine, queued.row_id, RunStatus.FAILED, exc)

    def recover_audits(self) -> None:
        """Close the runs a stopped process was running; run the ones it had queued. At
        start-up and every :data:`RECOVERY_SECONDS` while the API serves (a host that never
        comes back is found by its runs' heartbeat, :mod:`audit.run_heartbeat`)."""
        if self._closing.is_set():
            return
        try:
            closed = close_interrupted(self.engine)
            queued = claim_queued(self.engine)
        except SQLAlchemyError as exc:
            log.warning("could not recover the audit runs of a stopped process: %s", exc)
            return
        if closed:
            log.warning("closed %d audit runs interrupted by a stop: %s", len(closed), closed)
        for run in queued:
            if self._closing.is_set():  # left claimed: recovered once this process is gone
                break
            self.run_queued(run)

    def close(self) -> None:
        """Stop the audit worker: the run in progress finishes (it needs the node, so the
        node must outlive this call); the runs still queued wait in the database."""
        self._closing.set()  # a recovery pass in flight takes no more runs
        self.audits.shutdown(wait=True, cancel_futures=True)
