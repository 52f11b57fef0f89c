"""What every request needs, built once per app: settings, database, chain, limits.

:class:`ApiContext` lives on ``app.state``; :mod:`api.deps` hands its parts to routes.
Chain views: :meth:`ApiContext.live_view` reads the node (one kept-alive connection per
worker thread); :meth:`ApiContext.indexed_view` answers from the chain index when the node
is down, so signed ballots and delegations are still accepted and relayed later.
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

from api.limits import TokenBuckets
from core.settings import Settings
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.chain.view import RpcChainView
from governance.index.indexer import IndexedChainView
from governance.relay.outbox import RelayKind, confirmed_count

#: Seconds a chain read may take before the node counts as down.
NODE_TIMEOUT = 5.0


@dataclass
class NonceCache:
    """The last governor and token nonces read from the node, per account.

    When the node is down, an account's nonce is the cached one plus the messages fairgov
    relayed for it since (they are in the outbox as confirmed); without a cached value it
    is the count of confirmed relayed messages, as :class:`IndexedChainView` does.
    """

    _known: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, kind: RelayKind, account: str, nonce: int, confirmed: int) -> None:
        with self._lock:
            self._known[(kind, account)] = (nonce, confirmed)

    def estimate(self, kind: RelayKind, account: str, confirmed: int) -> int:
        with self._lock:
            known = self._known.get((kind, account))
        if known is None:
            return confirmed
        nonce, confirmed_then = known
        return nonce + max(0, confirmed - confirmed_then)


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
    nonces: NonceCache = field(default_factory=NonceCache)
    per_voter: TokenBuckets = field(init=False)
    audits: ThreadPoolExecutor = field(init=False)
    accepted_audits: dict[str, str] = field(default_factory=dict)
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        s = self.settings
        self.per_voter = TokenBuckets(s.api_voter_rate, s.api_voter_burst)
        self.audits = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fairgov-audit")

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

    def confirmed(self, kind: RelayKind, account: str) -> int:
        """How many of ``account``'s messages of ``kind`` fairgov relayed and saw mined."""
        a = self.deployment.addresses
        contract = a.governor if kind == RelayKind.BALLOT else a.token
        with Session(self.engine) as session:
            return confirmed_count(session, kind=kind, contract=contract, signer=account)

    def indexed_view(self) -> IndexedChainView:
        """Governance state from the index, with nonces estimated from :attr:`nonces`."""

        def governor(account: str) -> int:
            confirmed = self.confirmed(RelayKind.BALLOT, account)
            return self.nonces.estimate(RelayKind.BALLOT, account, confirmed)

        def token(account: str) -> int:
            confirmed = self.confirmed(RelayKind.DELEGATION, account)
            return self.nonces.estimate(RelayKind.DELEGATION, account, confirmed)

        return IndexedChainView(
            self.engine,
            self.deployment,
            governor_nonce_source=governor,
            token_nonce_source=token,
        )

    def close(self) -> None:
        self.audits.shutdown(wait=False, cancel_futures=True)
