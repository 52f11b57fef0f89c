"""The one intake the API and the CLI call: with the node, or with the index when it is down.

:class:`IntakeService` answers "which nonce must my next message carry" and accepts signed
ballots and delegations. Each question goes to the node first; when the node does not
answer (:class:`~governance.errors.ChainUnreachable`), the same checks run against the chain
index (:class:`~governance.index.read.IndexedChainView`), the message is committed to the
outbox, and the relayer sends it once the node is back, so nothing signed is lost.
Signature nonces are in no event, so while the node is down they are estimated by
:class:`NonceCache` from the last values read and what fairgov relayed since.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from core.errors import FairgovError
from governance.chain.deploy import Deployment
from governance.chain.view import ChainView, RpcChainView
from governance.errors import ChainUnreachable
from governance.index.read import IndexedChainView
from governance.intake.service import submit_ballot, submit_ballots, submit_delegation
from governance.messages.ballots import Ballot, Delegation
from governance.messages.kinds import MESSAGE_KINDS, RelayKind
from governance.relay import outbox
from governance.relay.outbox import RelayItem

#: Where a nonce came from: the node, or (the node being down) an estimate from the index.
NonceSource = Literal["chain", "index"]
T = TypeVar("T")


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
class IntakeService:
    """Accepts signed ballots and delegations into the outbox, node or no node.

    ``live_view`` returns the node's view of governance state (it may be called from many
    threads; the API keeps one connection per thread); ``nonces`` outlives single calls,
    so keep one service per process.
    """

    engine: Engine
    deployment: Deployment
    live_view: Callable[[], ChainView]
    nonces: NonceCache = field(default_factory=NonceCache)

    @classmethod
    def for_node(
        cls, engine: Engine, w3: Web3, deployment: Deployment, *, rpc_url: str | None = None
    ) -> IntakeService:
        """An intake reading the node at ``rpc_url`` (default: ``w3``'s) over one connection."""
        view = RpcChainView.for_deployment(w3, deployment, rpc_url=rpc_url)
        return cls(engine, deployment, live_view=lambda: view)

    def confirmed(self, kind: RelayKind, account: str) -> int:
        """How many of ``account``'s messages of ``kind`` fairgov relayed and saw mined."""
        contract = MESSAGE_KINDS[kind].contract(self.deployment)
        with Session(self.engine) as session:
            return outbox.confirmed_count(session, kind=kind, contract=contract, signer=account)

    def indexed_view(self) -> IndexedChainView:
        """Governance state from the index, with nonces estimated from :attr:`nonces`."""

        def source(kind: RelayKind) -> Callable[[str], int]:
            return lambda account: self.nonces.estimate(
                kind, account, self.confirmed(kind, account)
            )

        return IndexedChainView(
            self.engine,
            self.deployment,
            governor_nonce_source=source(RelayKind.BALLOT),
            token_nonce_source=source(RelayKind.DELEGATION),
        )

    def next_nonce(self, kind: RelayKind, account: str) -> tuple[int, NonceSource]:
        """The nonce ``account``'s next message of ``kind`` must carry, and where it came from.

        That is the contract's nonce plus the account's messages accepted but not yet mined.
        """
        message = MESSAGE_KINDS[kind]
        contract = message.contract(self.deployment)
        with Session(self.engine) as session:
            pending = outbox.pending_nonces(session, kind=kind, contract=contract, signer=account)
        source: NonceSource = "chain"
        try:
            nonce = message.nonce(self.live_view(), account)
            self.nonces.remember(kind, account, nonce, self.confirmed(kind, account))
        except ChainUnreachable:
            nonce = message.nonce(self.indexed_view(), account)
            source = "index"
        return nonce + pending, source

    def chain_time(self) -> int:
        """The latest block's unix time: the node's, or the last indexed block's."""
        try:
            return self.live_view().timestamp()
        except ChainUnreachable:
            return self.indexed_view().timestamp()

    def accept_ballots(self, ballots: list[Ballot]) -> list[RelayItem | FairgovError]:
        """Verify and queue ``ballots`` in one commit (see :func:`submit_ballots`)."""
        return self._live_or_indexed(
            lambda session, chain: submit_ballots(
                session, ballots, deployment=self.deployment, chain=chain
            )
        )

    def accept_ballot(self, ballot: Ballot) -> tuple[RelayItem, bool]:
        """Verify and queue one ballot; its record and whether it is new."""
        return self._live_or_indexed(
            lambda session, chain: submit_ballot(
                session, ballot, deployment=self.deployment, chain=chain
            )
        )

    def accept_delegation(self, delegation: Delegation) -> tuple[RelayItem, bool]:
        """Verify and queue ``delegation``; its record and whether it is new."""
        return self._live_or_indexed(
            lambda session, chain: submit_delegation(
                session, delegation, deployment=self.deployment, chain=chain
            )
        )

    def _live_or_indexed(self, submit: Callable[[Session, ChainView], T]) -> T:
        """``submit`` checked against the node, or against the index when the node is down."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                return submit(session, self.live_view())
            except ChainUnreachable:
                session.rollback()
                return submit(session, self.indexed_view())
