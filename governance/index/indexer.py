"""The chain indexer: governance events into the database, safe against reorganisations.

:meth:`Indexer.sync` reads ``eth_getLogs`` in chunks (one call per chunk for all four
contracts), decodes the logs with :mod:`governance.index.log_decoder` and commits each chunk's
rows together with the cursor (last block number and hash) in one transaction, so the
index never holds half a block range.

Reorgs are found by hashes: the cursor block must still be on the chain, and the first
block of every chunk must name the cursor as its parent. The hashes of the last
``keep_blocks`` indexed blocks are stored; after a reorg the indexer walks back through
them to the newest block that is still on the chain, deletes everything above it, replays
the surviving events of the proposals and delegators that were touched, and indexes on.
A reorg deeper than the stored hashes re-indexes from the deployment block.

Proposal states follow OpenZeppelin's ``Governor.state`` at the cursor block. The quorum
of a proposal is ``governor.quorum(snapshot)``, read from the node once the snapshot lies
in the past (before it, the state is Pending and needs no quorum).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select
from web3 import Web3

from core.db import session_scope
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch, RpcReply
from governance.errors import IndexDeploymentMismatch, IndexRpcFailed
from governance.index import apply
from governance.index.log_decoder import LogDecoder, LogEvent
from governance.index.models import INDEX_TABLES, IndexBlock, IndexCursor, Proposal
from governance.index.read import (
    IndexedChainView,
    IndexedProtection,
    count_proposals,
    get_proposal,
    has_voted,
    index_cursor,
    indexed_protection,
    latest_policy_version,
    list_proposals,
    proposals_waiting,
    votes_at,
)

#: Block hashes kept to find the common ancestor after a reorg.
KEEP_BLOCKS = 128
_MAX_REORGS = 16
_QUORUM_SELECTOR = Web3.keccak(text="quorum(uint256)")[:4].hex()


class _Rpc(Protocol):
    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]: ...


@dataclass
class _ProviderRpc:
    """JSON-RPC through any web3 provider, one call at a time (no HTTP endpoint to batch)."""

    w3: Web3

    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]:
        replies = []
        for method, params in calls:
            answer: Any = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
            error = answer.get("error")
            if error is None:
                replies.append(RpcReply(result=answer.get("result")))
            else:
                replies.append(RpcReply(error_message=str(error.get("message"))))
        return replies


def _rpc_for(w3_or_url: Web3 | str) -> _Rpc:
    if isinstance(w3_or_url, str):
        return RpcBatch(w3_or_url)
    endpoint = getattr(w3_or_url.provider, "endpoint_uri", None)
    return RpcBatch(str(endpoint)) if endpoint else _ProviderRpc(w3_or_url)


@dataclass(frozen=True)
class _Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


@dataclass
class SyncReport:
    """What one :meth:`Indexer.sync` did."""

    from_block: int | None = None
    to_block: int | None = None
    chunks: int = 0
    events: int = 0
    events_by_name: dict[str, int] = field(default_factory=dict)
    reorgs: int = 0
    rolled_back_to: int | None = None

    def count(self, events: list[LogEvent]) -> None:
        self.events += len(events)
        for e in events:
            self.events_by_name[e.name] = self.events_by_name.get(e.name, 0) + 1


class _Reorg(Exception):
    """The chain no longer holds the cursor block; handled inside :meth:`Indexer.sync`."""


class Indexer:
    """Follows one deployment's governance events into the index tables.

    Parameters
    ----------
    engine : Engine
        The migrated database.
    w3_or_rpc_url : Web3 or str
        The node: a web3 client (its HTTP endpoint is used for batches) or a JSON-RPC URL.
    deployment : Deployment
        The contracts to follow; indexing starts at its deployment block.
    confirmations : int
        Index only up to ``head - confirmations``.
    chunk_size : int
        Blocks per ``eth_getLogs`` call.
    keep_blocks : int
        How many recent block hashes to keep for reorg detection.

    Examples
    --------
    >>> report = Indexer(engine, w3, deployment, confirmations=2).sync()
    """

    def __init__(
        self,
        engine: Engine,
        w3_or_rpc_url: Web3 | str,
        deployment: Deployment,
        *,
        confirmations: int = 0,
        chunk_size: int = 2000,
        keep_blocks: int = KEEP_BLOCKS,
    ) -> None:
        if chunk_size < 1 or confirmations < 0 or keep_blocks < 1:
            raise ValueError("chunk_size and keep_blocks must be >= 1, confirmations >= 0")
        self.engine = engine
        self.rpc = _rpc_for(w3_or_rpc_url)
        self.deployment = deployment
        self.confirmations = confirmations
        self.chunk_size = chunk_size
        self.keep_blocks = keep_blocks
        self.decoder = LogDecoder(deployment.contract_addresses())

    # ------------------------------------------------------------------ public

    def sync(self) -> SyncReport:
        """Index from the cursor up to the safe head, undoing reorgs on the way."""
        report = SyncReport()
        safe = self._head() - self.confirmations
        while True:
            if report.reorgs > _MAX_REORGS:
                raise IndexRpcFailed("eth_getBlockByNumber", "the chain keeps reorganising")
            try:
                cursor = self._checked_cursor()
                if cursor is not None and cursor.block_number > safe:
                    raise _Reorg  # the chain is now shorter than the index
                start = self.deployment.deploy_block if cursor is None else cursor.block_number + 1
                if start > safe:
                    return report
                end = min(start + self.chunk_size - 1, safe)
                self._index_chunk(cursor, start, end, safe, report)
            except _Reorg:
                report.reorgs += 1
                report.rolled_back_to = self._roll_back()
                safe = self._head() - self.confirmations

    def resync(self) -> SyncReport:
        """Delete the whole index and index again from the deployment block."""
        with session_scope(self.engine) as session:
            for model in INDEX_TABLES:
                session.execute(delete(model.__table__))  # type: ignore[attr-defined]
        return self.sync()

    # ------------------------------------------------------------------ chain access

    def _call(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        replies = self.rpc.call(calls)
        for (method, _), reply in zip(calls, replies, strict=True):
            if not reply.ok:
                raise IndexRpcFailed(method, reply.error_message or "no answer")
        return [r.result for r in replies]

    def _head(self) -> int:
        return int(self._call([("eth_blockNumber", [])])[0], 16)

    def _headers(self, numbers: list[int]) -> dict[int, _Header | None]:
        results = self._call([("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return {
            n: None
            if r is None
            else _Header(n, r["hash"], r["parentHash"], int(r["timestamp"], 16))
            for n, r in zip(numbers, results, strict=True)
        }

    def _quorums(self, snapshots: list[int]) -> list[int]:
        to = self.deployment.addresses.governor
        calls = [
            ("eth_call", [{"to": to, "data": f"0x{_QUORUM_SELECTOR}{s:064x}"}, "latest"])
            for s in snapshots
        ]
        return [int(r, 16) for r in self._call(calls)]

    # ------------------------------------------------------------------ cursor and reorgs

    def _checked_cursor(self) -> IndexCursor | None:
        with Session(self.engine) as session:
            cursor = session.get(IndexCursor, 1)
        expected = f"{self.deployment.chain_id}:{self.deployment.addresses.governor.lower()}"
        if cursor is None:
            deployed = self._headers([self.deployment.deploy_block])[self.deployment.deploy_block]
            if deployed is None or deployed.hash != self.deployment.deploy_block_hash:
                raise IndexDeploymentMismatch(expected, "another chain (deploy block differs)")
            return None
        actual = f"{cursor.chain_id}:{cursor.governor.lower()}"
        if actual != expected:
            raise IndexDeploymentMismatch(expected, actual)
        on_chain = self._headers([cursor.block_number])[cursor.block_number]
        if on_chain is None or on_chain.hash != cursor.block_hash:
            raise _Reorg
        return cursor

    def _roll_back(self) -> int:
        """Undo everything above the newest stored block still on the chain; returns it."""
        with session_scope(self.engine) as session:
            stored = session.exec(select(IndexBlock).order_by(col(IndexBlock.block_number).desc()))
            blocks = list(stored.all())
            on_chain = self._headers([b.block_number for b in blocks]) if blocks else {}
            ancestor = next(
                (b for b in blocks if (h := on_chain[b.block_number]) and h.hash == b.block_hash),
                None,
            )
            if ancestor is None:
                for model in INDEX_TABLES:
                    session.execute(delete(model.__table__))  # type: ignore[attr-defined]
                return self.deployment.deploy_block - 1
            number = ancestor.block_number
            proposal_ids, delegators = apply.delete_above(session, number)
            session.execute(delete(IndexBlock).where(col(IndexBlock.block_number) > number))
            session.execute(
                Proposal.__table__.update()  # type: ignore[attr-defined]
                .where(col(Proposal.snapshot) > number)
                .values(quorum=None)
            )
            apply.replay(session, proposal_ids, delegators, self.deployment.addresses)
            self._finish_proposals(session, number, all_states=True)
            cursor = session.get(IndexCursor, 1)
            assert cursor is not None
            cursor.block_number, cursor.block_hash = number, ancestor.block_hash
            cursor.block_timestamp = ancestor.timestamp
            session.add(cursor)
            return number

    # ------------------------------------------------------------------ one chunk

    def _index_chunk(
        self, cursor: IndexCursor | None, start: int, end: int, safe: int, report: SyncReport
    ) -> None:
        window = range(max(start, safe - self.keep_blocks + 1), end + 1)
        numbers = sorted({start, end, *window})
        headers = self._headers(numbers)
        if any(h is None for h in headers.values()):
            raise _Reorg  # blocks below the safe head vanished: the chain got shorter
        chain = [h for h in headers.values() if h is not None]
        if cursor is not None and chain[0].parent_hash != cursor.block_hash:
            raise _Reorg
        for previous, current in itertools.pairwise(chain):
            if current.number == previous.number + 1 and current.parent_hash != previous.hash:
                raise _Reorg  # the chain changed while we read it; the next round sees it
        logs = self._call([("eth_getLogs", [self.decoder.log_filter(start, end)])])[0]
        events = self.decoder.decode(logs)
        for e in events:
            header = headers.get(e.block_number)
            if header is not None and header.hash != e.block_hash:
                raise _Reorg
        with session_scope(self.engine) as session:
            apply.apply_all(session, events, self.deployment.addresses)
            last = chain[-1]
            kept = [h for h in chain if h.number in window or h.number == end]
            session.add_all(
                IndexBlock(
                    block_number=h.number,
                    block_hash=h.hash,
                    parent_hash=h.parent_hash,
                    timestamp=h.timestamp,
                )
                for h in kept
            )
            session.execute(
                delete(IndexBlock).where(
                    col(IndexBlock.block_number) <= end - self.keep_blocks,
                )
            )
            self._finish_proposals(session, end, all_states=False)
            session.merge(
                IndexCursor(
                    id=1,
                    chain_id=self.deployment.chain_id,
                    governor=self.deployment.addresses.governor,
                    block_number=last.number,
                    block_hash=last.hash,
                    block_timestamp=last.timestamp,
                )
            )
        report.from_block = start if report.from_block is None else report.from_block
        report.to_block = end
        report.chunks += 1
        report.count(events)

    def _finish_proposals(self, session: Session, block: int, *, all_states: bool) -> None:
        """Read missing quorums and derive every changeable state as of ``block``."""
        statement = select(Proposal)
        if not all_states:
            statement = statement.where(col(Proposal.state).not_in(apply.FINAL_STATES))
        proposals = list(session.exec(statement).all())
        need = [p for p in proposals if p.quorum is None and p.snapshot < block]
        for p, quorum in zip(need, self._quorums([p.snapshot for p in need]), strict=True):
            p.quorum = str(quorum)
            session.add(p)
        for p in proposals:
            state = apply.derive_state(p, block)
            if state != p.state:
                p.state = state
                session.add(p)


__all__ = [
    "KEEP_BLOCKS",
    "IndexedChainView",
    "IndexedProtection",
    "Indexer",
    "SyncReport",
    "count_proposals",
    "get_proposal",
    "has_voted",
    "index_cursor",
    "indexed_protection",
    "latest_policy_version",
    "list_proposals",
    "proposals_waiting",
    "votes_at",
]
