"""The relayer's records converge with whatever chain the node now has.

A receipt is not the end: a reorg, or an anvil restored from its last save after a crash,
can take a mined transaction away, and a chain rolled back also forgets the nonces it had
counted. So on every pass, for each item that is submitted or confirmed but not yet final:

- a receipt found: the item is (still) confirmed, and final once its block lies ``depth``
  blocks below the head;
- no receipt, and the nonce is still free on chain: the stored signed bytes are sent again
  (same bytes, same hash: never two transactions for one item);
- no receipt, and the chain has already used the nonce for another transaction: the item is
  signed again with a fresh nonce (a proposer's own transaction cannot be, and fails);
- a nonce between the chain's count and our highest that no item holds (its item failed, or
  was final before a rollback deeper than the depth) is a gap that would hold back every
  later transaction: it is filled with an empty transfer to ourselves;
- the account's next nonce becomes what the chain and our live items say, never a higher
  number left over from before a rollback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account.signers.local import LocalAccount
from sqlmodel import Session, col, select

from governance.chain.node import max_fee_per_gas
from governance.chain.reverts import decode_revert
from governance.chain.rpc import RpcBatch
from governance.messages.kinds import RelayKind
from governance.relay.outbox import (
    PENDING_STATUSES,
    RelayAttempt,
    RelayerAccount,
    RelayItem,
    RelayStatus,
    raw_attempt,
    utcnow,
)

#: Gas of a plain transfer: what a gap filler uses.
_TRANSFER_GAS = 21_000


@dataclass(frozen=True)
class ChainFacts:
    """The head and the relayer account's nonces, read before any receipt (so a
    transaction mined in between shows up as a receipt, never as a taken nonce)."""

    head: int
    mined_nonce: int
    pending_nonce: int


@dataclass
class Convergence:
    """What one pass found: items seen again, vanished, re-signed, and what to send."""

    confirmed: int = 0
    failed: int = 0
    vanished: int = 0
    requeued: int = 0
    resend: list[tuple[int, RelayAttempt]] = field(default_factory=list)
    gaps: list[int] = field(default_factory=list)


def read_facts(rpc: RpcBatch, address: str) -> ChainFacts:
    head, mined, pending = rpc.call(
        [
            ("eth_blockNumber", []),
            ("eth_getTransactionCount", [address, "latest"]),
            ("eth_getTransactionCount", [address, "pending"]),
        ]
    )
    for reply in (head, mined, pending):
        if not reply.ok:
            raise ValueError(reply.error_message)
    return ChainFacts(int(head.result, 16), int(mined.result, 16), int(pending.result, 16))


def fail(session: Session, item: RelayItem, code: str, message: str) -> None:
    """Mark ``item`` failed. A failed proposer-signed transaction leaves its nonce unused, so
    the same sender's later signed transactions that fairgov holds can never be mined: they
    fail too (``earlier_transaction_failed``), and the sender's next nonce is free again."""
    _mark_failed(session, item, code, message)
    if item.kind != RelayKind.RAW_TRANSACTION or item.nonce is None:
        return
    later = session.exec(
        select(RelayItem).where(
            RelayItem.kind == RelayKind.RAW_TRANSACTION,
            RelayItem.chain_id == item.chain_id,
            RelayItem.signer == item.signer,
            col(RelayItem.status).in_(PENDING_STATUSES),
            col(RelayItem.nonce) > item.nonce,
        )
    ).all()
    for other in later:
        _mark_failed(
            session,
            other,
            "earlier_transaction_failed",
            f"the sender's transaction with nonce {item.nonce} failed ({code}), so this one "
            f"(nonce {other.nonce}) can never be mined: prepare and sign it again",
        )


def fail_nonce_used(session: Session, item: RelayItem) -> None:
    """Mark a proposer's transaction failed: the proposer's account used its nonce for
    another transaction, so it can never be mined."""
    fail(session, item, "nonce_used", "the sender's nonce was used by another transaction")


def _mark_failed(session: Session, item: RelayItem, code: str, message: str) -> None:
    item.status = RelayStatus.FAILED
    item.error_code = code
    item.error = message
    item.final = False
    item.updated_at = utcnow()
    session.add(item)


def requeue(session: Session, item: RelayItem) -> None:
    """Back to the queue, to be signed again with a fresh nonce."""
    item.status = RelayStatus.QUEUED
    item.tx_hash = None
    item.relayer_nonce = None
    item.block_number = None
    item.block_hash = None
    item.final = False
    item.next_attempt_at = None
    item.updated_at = utcnow()
    session.add(item)


def revert_data(rpc: RpcBatch, receipt: dict[str, str]) -> str | None:
    """Replay a reverted transaction at its block's parent to get its revert data."""
    tx = rpc.one("eth_getTransactionByHash", [receipt["transactionHash"]]).result or {}
    parent = hex(int(receipt["blockNumber"], 16) - 1)
    call = {"from": tx.get("from"), "to": tx.get("to"), "data": tx.get("input")}
    return rpc.one("eth_call", [call, parent]).error_data


def record_receipt(
    session: Session,
    rpc: RpcBatch,
    item: RelayItem,
    receipt: dict[str, str],
    *,
    head: int | None,
    depth: int,
    final_after: timedelta = timedelta(0),
) -> bool:
    """Record a mined attempt: confirmed or failed with the revert's code. True when it
    succeeded.

    A confirmation is final once its block is ``depth`` blocks deep and it was first seen
    at least ``final_after`` ago (``updated_at`` keeps that moment while the block stays
    the same): a local chain saved every second can lose the last second of blocks,
    however many blocks that was."""
    now = utcnow()
    block_hash = receipt.get("blockHash")
    seen_before = item.status == RelayStatus.CONFIRMED and item.block_hash == block_hash
    item.tx_hash = receipt["transactionHash"]
    item.block_number = int(receipt["blockNumber"], 16)
    item.block_hash = block_hash
    item.next_attempt_at = None
    if not seen_before:
        item.updated_at = now
    if int(receipt["status"], 16) == 1:
        item.status = RelayStatus.CONFIRMED
        item.error_code = item.error = None
        item.final = (
            head is not None
            and item.block_number <= head - depth
            and now - _aware(item.updated_at) >= final_after
        )
        session.add(item)
        return True
    decoded = decode_revert(revert_data(rpc, receipt))
    fail(session, item, decoded.code, decoded.message())
    return False


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _live(session: Session, chain_id: int) -> list[RelayItem]:
    return list(
        session.exec(
            select(RelayItem)
            .where(RelayItem.chain_id == chain_id)
            .where(
                (col(RelayItem.status) == RelayStatus.SUBMITTED)
                | ((col(RelayItem.status) == RelayStatus.CONFIRMED) & ~col(RelayItem.final))
            )
            .order_by(col(RelayItem.id))
        ).all()
    )


def _attempts(session: Session, items: Sequence[RelayItem]) -> dict[int | None, list[RelayAttempt]]:
    by_item: dict[int | None, list[RelayAttempt]] = {item.id: [] for item in items}
    ids = list(by_item)
    for start in range(0, len(ids), 500):
        rows = session.exec(
            select(RelayAttempt)
            .where(col(RelayAttempt.item_id).in_(ids[start : start + 500]))
            .order_by(col(RelayAttempt.id))
        ).all()
        for attempt in rows:
            by_item[attempt.item_id].append(attempt)
    return by_item


def converge(
    session: Session,
    rpc: RpcBatch,
    *,
    chain_id: int,
    account: RelayerAccount,
    facts: ChainFacts,
    depth: int,
    final_after: timedelta = timedelta(0),
    resend_all: bool = False,
) -> Convergence:
    """Check every live item against the chain and plan what to send (see the module doc)."""
    items = _live(session, chain_id)
    attempts = _attempts(session, items)
    # A proposer's nonces, like the relayer's own (``facts``), are read before any receipt.
    signers = _signer_nonces(rpc, items)
    hashes = [a.tx_hash for item in items for a in attempts[item.id]]
    replies = rpc.call([("eth_getTransactionReceipt", [h]) for h in hashes])
    receipts = {h: r.result for h, r in zip(hashes, replies, strict=True) if r.ok and r.result}
    found = Convergence()
    ours: set[int] = set()
    raw: list[tuple[RelayItem, RelayAttempt, bool]] = []
    for item in items:
        mined = next(
            (receipts[a.tx_hash] for a in attempts[item.id] if a.tx_hash in receipts), None
        )
        if mined is not None:
            was_submitted = item.status == RelayStatus.SUBMITTED
            if record_receipt(
                session, rpc, item, mined, head=facts.head, depth=depth, final_after=final_after
            ):
                found.confirmed += was_submitted
            else:
                found.failed += 1
            continue
        vanished = item.status == RelayStatus.CONFIRMED
        if vanished:
            item.status = RelayStatus.SUBMITTED
            item.block_number = item.block_hash = None
            item.updated_at = utcnow()
            session.add(item)
            found.vanished += 1
        latest = attempts[item.id][-1] if attempts[item.id] else None
        if item.kind == RelayKind.RAW_TRANSACTION:
            raw.append((item, latest or raw_attempt(item), vanished))
            continue
        if latest is None:
            requeue(session, item)
            found.requeued += 1
        elif latest.nonce < facts.mined_nonce:
            requeue(session, item)  # the chain used its nonce for another transaction
            found.requeued += 1
        else:
            ours.add(latest.nonce)
            if resend_all or vanished or latest.nonce >= facts.pending_nonce:
                found.resend.append((item.id or 0, latest))
    _check_raw(session, signers, raw, found, resend_all=resend_all)
    top = max(ours, default=facts.mined_nonce - 1)
    found.gaps = [
        n for n in range(max(facts.mined_nonce, facts.pending_nonce), top) if n not in ours
    ]
    account.next_nonce = max(facts.pending_nonce, top + 1)
    session.add(account)
    found.resend.sort(key=lambda pair: pair[1].nonce)
    return found


def _signer_nonces(rpc: RpcBatch, items: Sequence[RelayItem]) -> dict[str, tuple[int, int]]:
    """Each proposer's mined and pending nonce counts, for the proposer-signed items among
    ``items``; a proposer the node did not answer for is left out."""
    signers = sorted({i.signer for i in items if i.kind == RelayKind.RAW_TRANSACTION})
    replies = rpc.call(
        [
            ("eth_getTransactionCount", [signer, tag])
            for signer in signers
            for tag in ("latest", "pending")
        ]
    )
    counts: dict[str, tuple[int, int]] = {}
    for index, signer in enumerate(signers):
        mined, pending = replies[2 * index], replies[2 * index + 1]
        if mined.ok and pending.ok:
            counts[signer] = (int(mined.result, 16), int(pending.result, 16))
    return counts


def _check_raw(
    session: Session,
    signers: dict[str, tuple[int, int]],
    raw: list[tuple[RelayItem, RelayAttempt, bool]],
    found: Convergence,
    *,
    resend_all: bool,
) -> None:
    """A proposer's own transaction: sent again while its nonce is free, failed once the
    proposer's account used that nonce for something else. The counts were read before the
    receipts, so a transaction mined between the two reads is seen as mined, never as a
    nonce taken by another transaction."""
    for item, attempt, vanished in raw:
        if item.signer not in signers:
            continue
        mined, pending = signers[item.signer]
        if attempt.nonce < mined:
            fail_nonce_used(session, item)
            found.failed += 1
        elif resend_all or vanished or attempt.nonce >= pending:
            found.resend.append((item.id or 0, attempt))


def gap_fillers(
    account: LocalAccount, *, chain_id: int, nonces: list[int], base_fee: int, priority: int
) -> list[tuple[str, list[Any]]]:
    """Empty transfers to ourselves at ``nonces``, ready for ``eth_sendRawTransaction``."""
    calls: list[tuple[str, list[Any]]] = []
    for nonce in nonces:
        signed = account.sign_transaction(
            {
                "type": 2,
                "chainId": chain_id,
                "nonce": nonce,
                "to": account.address,
                "value": 0,
                "gas": _TRANSFER_GAS,
                "maxFeePerGas": max_fee_per_gas(base_fee, priority),
                "maxPriorityFeePerGas": priority,
            }
        )
        calls.append(("eth_sendRawTransaction", [signed.raw_transaction.to_0x_hex()]))
    return calls
