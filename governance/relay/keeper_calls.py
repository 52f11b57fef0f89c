"""The keeper's own calls that reverted on chain: how often, why, and when to try again.

The keeper queues and executes proposals from its own key, outside the outbox. What it must
not forget, though, is a ``queue`` or ``execute`` that passed its simulation and reverted on
chain anyway: retried on every pass, such a call had the keeper pay for a revert every few
seconds, forever (review). :class:`OutboxLedger` keeps one row per (step, proposal) in the
outbox table, so every keeper (the next job run, a restarted process, a standby that took
over) knows it: kind ``keeper_call``, status ``failed``, ``attempts`` counting the reverts,
``next_attempt_at`` the earliest next try, ``error_code`` and ``error`` the last revert, and
``tx_hash`` and ``block_number`` its transaction. ``GET /v1/relay/{id}`` shows it. The relayer
never sends such a row: it only takes queued and submitted items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.db import session_scope
from governance.messages.kinds import RelayKind
from governance.relay import outbox
from governance.relay.outbox import RelayItem, RelayStatus, utcnow

Step = Literal["queue", "execute"]


@dataclass(frozen=True)
class RevertedCall:
    """A keeper call that reverted on chain ``reverts`` times, the last time in ``tx_hash``
    (block ``block``) with ``code`` and ``reason``; ``state`` fingerprints its targets'
    state then, ``retry_after`` is the earliest next try, and from ``held_after`` reverts on
    the call waits for that state to change."""

    step: Step
    proposal_id: int
    reverts: int
    tx_hash: str
    block: int
    code: str
    reason: str
    state: str
    retry_after: datetime
    held_after: int = 3

    @property
    def held_back(self) -> bool:
        """Whether it is tried again only once its targets' state changes."""
        return self.reverts >= self.held_after


class RevertLedger(Protocol):
    """Where the keeper remembers its reverted calls."""

    def find(self, step: Step, proposal_id: int) -> RevertedCall | None: ...
    def record(self, call: RevertedCall) -> None: ...
    def forget(self, step: Step, proposal_id: int) -> None: ...


@dataclass
class MemoryLedger:
    """A ledger that lives as long as its keeper: for a keeper without a database."""

    _calls: dict[tuple[Step, int], RevertedCall] = field(default_factory=dict)

    def find(self, step: Step, proposal_id: int) -> RevertedCall | None:
        return self._calls.get((step, proposal_id))

    def record(self, call: RevertedCall) -> None:
        self._calls[(call.step, call.proposal_id)] = call

    def forget(self, step: Step, proposal_id: int) -> None:
        self._calls.pop((step, proposal_id), None)


@dataclass(frozen=True)
class OutboxLedger:
    """A ledger in the outbox table (see the module's doc), for the keeper ``keeper`` of the
    governor ``governor`` on chain ``chain_id``."""

    engine: Engine
    chain_id: int
    governor: str
    keeper: str

    def key(self, step: Step, proposal_id: int) -> str:
        return f"keeper_call:{self.chain_id}:{self.governor.lower()}:{step}:{proposal_id}"

    def find(self, step: Step, proposal_id: int) -> RevertedCall | None:
        with Session(self.engine) as session:
            item = outbox.find(session, self.key(step, proposal_id))
        return None if item is None else _call_of(item, step, proposal_id)

    def record(self, call: RevertedCall) -> None:
        with session_scope(self.engine) as session:
            item = outbox.find(session, self.key(call.step, call.proposal_id)) or RelayItem(
                kind=RelayKind.KEEPER_CALL,
                dedupe_key=self.key(call.step, call.proposal_id),
                chain_id=self.chain_id,
                contract=self.governor.lower(),
                signer=self.keeper,
                proposal_id=str(call.proposal_id),
                payload="{}",
            )
            item.status = RelayStatus.FAILED
            item.payload = json.dumps(
                {"step": call.step, "state": call.state, "held_after": call.held_after}
            )
            item.attempts = call.reverts
            item.next_attempt_at = call.retry_after
            item.tx_hash = call.tx_hash
            item.block_number = call.block
            item.error_code = call.code
            item.error = call.reason
            item.updated_at = utcnow()
            session.add(item)

    def forget(self, step: Step, proposal_id: int) -> None:
        with session_scope(self.engine) as session:
            item = outbox.find(session, self.key(step, proposal_id))
            if item is not None:
                session.delete(item)


@dataclass(frozen=True)
class RecordedCall:
    """A keeper call of one proposal that reverted on chain, as its outbox row keeps it
    (``relay_id`` for ``GET /v1/relay/{id}``)."""

    relay_id: int
    call: RevertedCall


def reverted_calls(session: Session, proposal_id: int) -> list[RecordedCall]:
    """The keeper's queue and execute calls of ``proposal_id`` that reverted on chain (what
    :class:`OutboxLedger` recorded), oldest step first."""
    rows = session.exec(
        select(RelayItem)
        .where(col(RelayItem.kind) == RelayKind.KEEPER_CALL)
        .where(col(RelayItem.proposal_id) == str(proposal_id))
        .order_by(col(RelayItem.id))
    ).all()
    recorded = []
    for item in rows:
        step = item.payload_dict().get("step")
        if step in ("queue", "execute") and item.id is not None:
            recorded.append(RecordedCall(item.id, _call_of(item, step, proposal_id)))
    return recorded


def _call_of(item: RelayItem, step: Step, proposal_id: int) -> RevertedCall:
    payload = item.payload_dict()
    retry_after = item.next_attempt_at or utcnow()
    if retry_after.tzinfo is None:  # SQLite hands back naive datetimes; they are UTC
        retry_after = retry_after.replace(tzinfo=UTC)
    return RevertedCall(
        step=step,
        proposal_id=proposal_id,
        reverts=item.attempts,
        tx_hash=item.tx_hash or "",
        block=item.block_number or 0,
        code=item.error_code or "reverted",
        reason=item.error or "",
        state=str(payload.get("state", "")),
        retry_after=retry_after,
        held_after=int(payload.get("held_after", 3)),
    )
