"""What every request needs, built once per app: settings, database, chain, limits.

:class:`ApiContext` lives on ``app.state``; :mod:`api.deps` hands its parts to routes.
:meth:`ApiContext.live_view` reads the node (one kept-alive connection per worker thread);
:attr:`ApiContext.intake` accepts signed ballots and delegations with it, or with the chain
index when the node is down (:class:`governance.intake.IntakeService`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from api.limits import Slots, TokenBuckets
from audit.db_models import RunKind
from core.settings import Settings
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.chain.view import RpcChainView
from governance.intake import IntakeService

#: Seconds a chain read may take before the node counts as down.
NODE_TIMEOUT = 5.0


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
    per_voter: TokenBuckets = field(init=False)
    #: The uploads being audited in this process (``FAIRGOV_API_MAX_CONCURRENT_AUDITS``).
    audit_slots: Slots = field(init=False)
    intake: IntakeService = field(init=False)
    audits: ThreadPoolExecutor = field(init=False)
    #: Runs accepted and not yet recorded: run id -> (model name, kind of run).
    accepted_audits: dict[str, tuple[str, RunKind]] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        s = self.settings
        self.per_voter = TokenBuckets(s.api_voter_rate, s.api_voter_burst)
        self.audit_slots = Slots(s.api_max_concurrent_audits)
        self.audits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairgov-audit")
        self.intake = IntakeService(self.engine, self.deployment, live_view=self.live_view)

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

    def close(self) -> None:
        self.audits.shutdown(wait=False, cancel_futures=True)
