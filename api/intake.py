"""Accepting signed ballots and delegations over HTTP, with or without the node.

Ballots that arrive together are verified and committed together
(:func:`governance.intake.submit_ballots`: one chain read and one commit per batch rather
than per ballot). When the node does not answer, the same checks run against the chain
index (:meth:`ApiContext.indexed_view`); the ballot is committed to the outbox and the
relayer sends it once the node is back, so nothing signed is lost. Nonces for the typed
data follow the same rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Literal, TypeVar

import anyio.to_thread
from sqlmodel import Session

from api.context import ApiContext
from core.errors import FairgovError
from governance.errors import ChainUnreachable
from governance.intake.service import submit_ballots, submit_delegation
from governance.messages.ballots import Ballot, ChainView, Delegation
from governance.relay import outbox
from governance.relay.outbox import RelayItem, RelayKind

Source = Literal["chain", "index"]
T = TypeVar("T")
_MAX_BATCH = 256


def next_nonce(ctx: ApiContext, kind: RelayKind, account: str) -> tuple[int, Source]:
    """The nonce ``account``'s next message of ``kind`` must carry, and where it came from.

    That is the contract's nonce plus the account's messages accepted but not yet mined.
    """
    a = ctx.deployment.addresses
    contract = a.governor if kind == RelayKind.BALLOT else a.token
    with Session(ctx.engine) as session:
        pending = outbox.pending_nonces(session, kind=kind, contract=contract, signer=account)
    source: Source = "chain"
    try:
        view = ctx.live_view()
        nonce = (
            view.governor_nonce(account) if kind == RelayKind.BALLOT else view.token_nonce(account)
        )
        ctx.nonces.remember(kind, account, nonce, ctx.confirmed(kind, account))
    except ChainUnreachable:
        indexed = ctx.indexed_view()
        nonce = (
            indexed.governor_nonce(account)
            if kind == RelayKind.BALLOT
            else indexed.token_nonce(account)
        )
        source = "index"
    return nonce + pending, source


def _live_or_indexed(ctx: ApiContext, submit: Callable[[Session, ChainView], T]) -> T:
    """``submit`` checked against the node, or against the index when the node is down."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            return submit(session, ctx.live_view())
        except ChainUnreachable:
            session.rollback()
            return submit(session, ctx.indexed_view())


def accept_delegation(ctx: ApiContext, delegation: Delegation) -> tuple[RelayItem, bool]:
    """Verify and queue ``delegation``, against the index when the node is down."""
    return _live_or_indexed(
        ctx,
        lambda session, chain: submit_delegation(
            session, delegation, deployment=ctx.deployment, chain=chain
        ),
    )


def accept_ballots(ctx: ApiContext, ballots: list[Ballot]) -> list[RelayItem | FairgovError]:
    """Verify and queue ``ballots`` in one commit, against the index when the node is down."""
    return _live_or_indexed(
        ctx,
        lambda session, chain: submit_ballots(
            session, ballots, deployment=ctx.deployment, chain=chain
        ),
    )


class BallotBatcher:
    """Collects ballots posted concurrently and accepts them in batches.

    A worker task on the serving event loop takes everything queued (up to 256 ballots),
    accepts it in a worker thread, and answers each waiting request. Nothing waits for a
    batch to fill: a lone ballot is accepted at once.
    """

    def __init__(self, ctx: ApiContext, *, max_batch: int = _MAX_BATCH) -> None:
        self.ctx = ctx
        self.max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Ballot, asyncio.Future[RelayItem]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, ballot: Ballot) -> RelayItem:
        """Accept ``ballot``: its relay record, or the :class:`FairgovError` that refused it."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._queue is None:
            self._loop, self._queue = loop, asyncio.Queue()
            self._worker = loop.create_task(self._run(self._queue))
        future: asyncio.Future[RelayItem] = loop.create_future()
        self._queue.put_nowait((ballot, future))
        return await future

    async def stop(self) -> None:
        """Stop the worker (at shutdown)."""
        if self._worker is not None:
            self._worker.cancel()
            if self._loop is asyncio.get_running_loop():
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
        self._worker = self._queue = self._loop = None

    async def _run(self, queue: asyncio.Queue[tuple[Ballot, asyncio.Future[RelayItem]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            ballots = [ballot for ballot, _ in batch]
            try:
                results = await anyio.to_thread.run_sync(accept_ballots, self.ctx, ballots)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, FairgovError):
                    future.set_exception(result)
                else:
                    future.set_result(result)
