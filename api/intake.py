"""Ballots posted concurrently over HTTP, accepted in batches.

The rules live in :class:`governance.intake.IntakeService` (``ApiContext.intake``): one chain
read and one commit per batch rather than per ballot, and the chain index standing in
while the node is down. This module only gathers the requests of one event loop into
batches and answers each of them.
"""

from __future__ import annotations

import asyncio
import contextlib

import anyio.to_thread

from api.context import ApiContext
from core.errors import FairgovError
from governance.messages.ballots import Ballot
from governance.relay.outbox import RelayItem

_MAX_BATCH = 256


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
                results = await anyio.to_thread.run_sync(self.ctx.intake.accept_ballots, ballots)
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
