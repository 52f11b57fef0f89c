"""The relayer: takes accepted messages from the outbox to the chain, exactly once.

Every transaction is signed and stored (with its nonce) in the same database commit that
marks its item submitted, and only then sent. So a crash at any moment leaves either a
queued item (nothing was signed) or a stored signed transaction, which the next run sends
again: the same bytes, hence the same hash, so the node takes it at most once. A stuck
transaction is replaced at the same nonce with fees at least 10% higher; all of an item's
attempts share that nonce, so at most one of them is ever mined.

A receipt is not the end: until its block is ``final_depth`` blocks deep, every pass checks
the item against the chain again (:mod:`governance.relay.reconcile`), so the outbox and the
chain converge after a reorg or a chain restored from an older save.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select
from web3 import Web3

from core.db import session_scope
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.node import max_fee_per_gas
from governance.chain.rejections import is_already_known, is_nonce_too_low, is_permanent
from governance.chain.reverts import decode_revert
from governance.chain.rpc import RpcBatch
from governance.messages.kinds import RelayKind
from governance.relay import outbox, reconcile
from governance.relay.calls import bumped_fees, call_for, gas_limit, signed_attempt, simulation
from governance.relay.config import RelayerConfig, TickReport
from governance.relay.outbox import (
    RelayAttempt,
    RelayerAccount,
    RelayItem,
    RelayStatus,
    raw_attempt,
    utcnow,
)
from governance.relay.signed_calls import barred_wallets

#: RelayerConfig and TickReport live in :mod:`governance.relay.config`; callers of the
#: relayer find them here too.
__all__ = ["Relayer", "RelayerConfig", "TickReport"]

#: A node may report a nonce as used a moment before the receipt of the transaction that used
#: it can be read (anvil does, under load): how long, and how often, to look again for it.
_RECEIPT_GRACE_SECONDS = 2.0
_RECEIPT_POLL_SECONDS = 0.1


class Relayer:
    """Relays outbox items from one key. Run one relayer per key (the scheduler's lease)."""

    def __init__(
        self,
        engine: Engine,
        w3: Web3,
        deployment: Deployment,
        private_key: str,
        *,
        rpc_url: str,
        config: RelayerConfig | None = None,
    ) -> None:
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment
        self.account: LocalAccount = Account.from_key(private_key)
        self.rpc = RpcBatch(rpc_url)
        self.config = config or RelayerConfig()
        self.governor = bind(w3, "FairnessGovernor", deployment.addresses.governor)
        self.token = bind(w3, "GovernanceToken", deployment.addresses.token)
        self.chain_id = deployment.chain_id

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> TickReport:
        """Converge with the chain and send again whatever was signed but maybe not sent
        (the node may have lost its pool)."""
        report = TickReport()
        self.converge(report, resend_all=True)
        return report

    def reconcile_nonce(self) -> int:
        """Next nonce = the larger of ours and the chain's pending count."""
        reply = self.rpc.one("eth_getTransactionCount", [self.account.address, "pending"])
        on_chain = int(reply.result, 16) if reply.ok else 0
        with session_scope(self.engine) as session:
            row = self._account_row(session)
            row.next_nonce = max(row.next_nonce, on_chain)
            session.add(row)
            return row.next_nonce

    def tick(self) -> TickReport:
        """One pass: converge with the chain, bump what is stuck, submit what is queued."""
        report = TickReport()
        self.converge(report)
        self.bump_stuck(report)
        self.submit_queued(report)
        return report

    def converge(self, report: TickReport, *, resend_all: bool = False) -> None:
        """Check live items against the chain, resend what vanished, fill nonce gaps."""
        try:
            facts = reconcile.read_facts(self.rpc, self.account.address)
        except ValueError as exc:
            report.errors.append(str(exc))
            return
        with session_scope(self.engine) as session:
            found = reconcile.converge(
                session,
                self.rpc,
                chain_id=self.chain_id,
                account=self._account_row(session),
                facts=facts,
                depth=self.config.final_depth,
                final_after=self.config.final_after,
                resend_all=resend_all,
            )
        report.confirmed += found.confirmed
        report.failed += found.failed
        report.vanished += found.vanished
        report.requeued += found.requeued
        if found.gaps:
            fillers = reconcile.gap_fillers(
                self.account,
                chain_id=self.chain_id,
                nonces=found.gaps,
                base_fee=self._base_fee(),
                priority=self.config.priority_fee_wei,
            )
            for reply in self.rpc.call(fillers):
                if not reply.ok and not is_already_known(reply.error_message or ""):
                    report.errors.append(reply.error_message or "")
            report.gaps_filled += len(fillers)
        resend = found.resend
        report.rebroadcast += len(resend)
        self._broadcast(((item_id, attempt) for item_id, attempt in resend), report)

    def run_until_idle(self, *, max_ticks: int = 10_000) -> TickReport:
        """Tick until nothing is queued or submitted (tests and benchmarks)."""
        total = TickReport()
        for _ in range(max_ticks):
            total.add(self.tick())
            if not self.outstanding():
                break
        return total

    def outstanding(self) -> int:
        """How many items of this chain are queued or submitted and not yet mined."""
        with Session(self.engine) as session:
            return session.exec(
                select(func.count())
                .select_from(RelayItem)
                .where(col(RelayItem.status).in_([RelayStatus.QUEUED, RelayStatus.SUBMITTED]))
                .where(RelayItem.chain_id == self.chain_id)
            ).one()

    # ------------------------------------------------------------------ submitting

    def submit_queued(self, report: TickReport) -> None:
        now = utcnow()
        with session_scope(self.engine) as session:
            busy = outbox.signers_in_flight(session)
            queued = session.exec(
                select(RelayItem)
                .where(RelayItem.status == RelayStatus.QUEUED, RelayItem.chain_id == self.chain_id)
                .where(
                    (col(RelayItem.next_attempt_at).is_(None))
                    | (col(RelayItem.next_attempt_at) <= now)
                )
                .order_by(col(RelayItem.id))
                .limit(self.config.batch_size)
            ).all()
            ready: list[RelayItem] = []
            for item in queued:
                # A signer's nonce-ordered messages go one at a time: a later one only
                # verifies on chain after the earlier one is mined.
                signer_key = (item.kind, item.contract, item.signer)
                if item.kind != RelayKind.RAW_TRANSACTION and signer_key in busy:
                    report.deferred += 1
                    continue
                busy.add(signer_key)
                ready.append(item)
            to_send = self._sign_batch(session, ready, report)
        self._broadcast(to_send, report)

    def _sign_batch(
        self, session: Session, items: list[RelayItem], report: TickReport
    ) -> list[tuple[int | None, RelayAttempt]]:
        raw_items = [i for i in items if i.kind == RelayKind.RAW_TRANSACTION]
        base_fee, block_gas = self._latest_block()
        # No more per pass than one block holds: the rest waits for the next pass, so a
        # chain that mines only when transactions arrive (anvil) never strands a tail.
        relayed: list[RelayItem] = []
        calls: list[dict[str, str]] = []
        limits: list[int] = []
        for item in (i for i in items if i.kind != RelayKind.RAW_TRANSACTION):
            call = self._call_for(item)
            limit = gas_limit(call["data"])
            if sum(limits) + limit > block_gas:
                break
            relayed.append(item)
            calls.append(call)
            limits.append(limit)
        # One execution each, from our address with the gas limit and fees the transaction
        # will carry (at a gas price of 0 an EIP-1271 wallet may accept what it refuses in
        # the mined transaction): a call that would revert is failed here, for nothing.
        # (eth_estimateGas would run each call a dozen times to search for the limit.)
        simulations = self.rpc.call(
            [
                (
                    "eth_call",
                    simulation(
                        call,
                        sender=self.account.address,
                        gas=limit,
                        base_fee=base_fee,
                        priority=self.config.priority_fee_wei,
                    ),
                )
                for call, limit in zip(calls, limits, strict=True)
            ]
        )
        barred = barred_wallets(
            session, self.rpc, {i.signer for i in relayed if i.kind == RelayKind.SIGNED_CALL}
        )
        account = self._account_row(session)
        to_send: list[tuple[int | None, RelayAttempt]] = []
        for item, call, gas, simulated in zip(relayed, calls, limits, simulations, strict=True):
            refusal = (
                barred.get(item.signer.lower()) if item.kind == RelayKind.SIGNED_CALL else None
            )
            if refusal is not None:
                reconcile.fail(session, item, refusal.code, refusal.message)
                report.failed += 1
                continue
            if not simulated.ok:
                decoded = decode_revert(simulated.error_data)
                reconcile.fail(session, item, decoded.code, decoded.message())
                report.failed += 1
                continue
            attempt = self._sign(item, call, gas, account.next_nonce, base_fee)
            account.next_nonce += 1
            session.add(attempt)
            item.status = RelayStatus.SUBMITTED
            item.tx_hash = attempt.tx_hash
            item.relayer_nonce = attempt.nonce
            item.attempts += 1
            item.updated_at = utcnow()
            session.add(item)
            to_send.append((item.id, attempt))
            report.submitted += 1
        for item in raw_items:
            attempt = outbox.latest_attempt(session, item) or raw_attempt(item)
            session.add(attempt)
            item.status = RelayStatus.SUBMITTED
            item.attempts += 1
            item.updated_at = utcnow()
            session.add(item)
            to_send.append((item.id, attempt))
            report.submitted += 1
        session.add(account)
        return to_send

    def _call_for(self, item: RelayItem) -> dict[str, str]:
        return call_for(item, governor=self.governor.address, token=self.token.address)

    def _sign(
        self, item: RelayItem, call: dict[str, str], gas: int, nonce: int, base_fee: int
    ) -> RelayAttempt:
        priority = self.config.priority_fee_wei
        return signed_attempt(
            self.account,
            item,
            chain_id=self.chain_id,
            call=call,
            gas=gas,
            nonce=nonce,
            max_fee=max_fee_per_gas(base_fee, priority),
            priority=priority,
        )

    # ------------------------------------------------------------------ sending

    def _broadcast(
        self, attempts: Iterable[tuple[int | None, RelayAttempt | None]], report: TickReport
    ) -> None:
        pairs = [(item_id, a) for item_id, a in attempts if a is not None and item_id is not None]
        replies = self.rpc.call([("eth_sendRawTransaction", [a.raw_transaction]) for _, a in pairs])
        retry: list[tuple[int, str]] = []
        requeue: list[int] = []
        for (item_id, _attempt), reply in zip(pairs, replies, strict=True):
            message = reply.error_message or ""
            if reply.ok or is_already_known(message):
                continue
            if is_nonce_too_low(message):
                requeue.append(item_id)
            else:
                retry.append((item_id, message))
                report.errors.append(message)
        if retry or requeue:
            self._after_send_errors(retry, requeue, report)

    def _after_send_errors(
        self, retry: list[tuple[int, str]], requeue: list[int], report: TickReport
    ) -> None:
        with session_scope(self.engine) as session:
            for item_id, message in retry:
                item = session.get(RelayItem, item_id)
                if item is None or item.status != RelayStatus.SUBMITTED:
                    continue
                item.attempts += 1
                if is_permanent(message) or item.attempts > self.config.max_send_errors:
                    # The node keeps refusing this transaction: no resend will change that.
                    reconcile.fail(
                        session, item, "relay_rejected", f"the node refused it: {message}"
                    )
                    report.failed += 1
                    continue
                delay = min(
                    self.config.backoff_base * 2 ** max(item.attempts - 1, 0),
                    self.config.backoff_max,
                )
                item.next_attempt_at = utcnow() + delay
                session.add(item)
        # "nonce too low": the nonce was used. Either one of our attempts was mined (the
        # next converge() sees it) or another sender used the key: then none of ours can be
        # mined any more, and the item is signed again with a fresh nonce.
        for item_id in requeue:
            if self._confirm_or_requeue(item_id):
                report.confirmed += 1
        if requeue:
            self.reconcile_nonce()

    def _confirm_or_requeue(self, item_id: int) -> bool:
        """True when one of the item's attempts turns out to be mined (and is recorded)."""
        with session_scope(self.engine) as session:
            item = session.get(RelayItem, item_id)
            if item is None:
                return False
            if self._settle(session, item):
                return item.status == RelayStatus.CONFIRMED
            if item.kind == RelayKind.RAW_TRANSACTION:
                # The sender signed this nonce; only a receipt tells whether it was ours.
                deadline = time.monotonic() + _RECEIPT_GRACE_SECONDS
                while time.monotonic() < deadline:
                    time.sleep(_RECEIPT_POLL_SECONDS)
                    if self._settle(session, item):
                        return item.status == RelayStatus.CONFIRMED
                reconcile.fail_nonce_used(session, item)
                return False
            reconcile.requeue(session, item)
            return False

    # ------------------------------------------------------------------ confirming

    def _settle(self, session: Session, item: RelayItem) -> bool:
        """Record the receipt of any of the item's attempts; False when none is mined."""
        attempts = session.exec(select(RelayAttempt).where(RelayAttempt.item_id == item.id)).all()
        replies = self.rpc.call([("eth_getTransactionReceipt", [a.tx_hash]) for a in attempts])
        for reply in replies:
            if reply.ok and reply.result:
                reconcile.record_receipt(
                    session, self.rpc, item, reply.result, head=None, depth=self.config.final_depth
                )
                return True
        return False

    # ------------------------------------------------------------------ stuck transactions

    def bump_stuck(self, report: TickReport) -> None:
        """Replace transactions pending longer than ``stuck_after`` with >= 10% higher fees,
        and resend those whose last send failed."""
        now = utcnow()
        to_send: list[tuple[int | None, RelayAttempt | None]] = []
        with session_scope(self.engine) as session:
            for item in outbox.submitted_items(session, chain_id=self.chain_id):
                latest = outbox.latest_attempt(session, item)
                if latest is None:
                    continue
                if item.next_attempt_at is not None and item.next_attempt_at <= now:
                    item.next_attempt_at = None
                    session.add(item)
                    to_send.append((item.id, latest))
                    report.rebroadcast += 1
                elif (
                    item.kind != RelayKind.RAW_TRANSACTION
                    and now - latest.created_at >= self.config.stuck_after
                    and outbox.attempt_count(session, item) - 1 < self.config.max_bumps
                ):
                    bumped = self._bumped(item, latest)
                    session.add(bumped)
                    item.tx_hash = bumped.tx_hash
                    item.attempts += 1
                    item.updated_at = now
                    session.add(item)
                    to_send.append((item.id, bumped))
                    report.bumped += 1
        self._broadcast(to_send, report)

    def _bumped(self, item: RelayItem, latest: RelayAttempt) -> RelayAttempt:
        max_fee, priority = bumped_fees(
            latest, base_fee=self._base_fee(), min_priority=self.config.priority_fee_wei
        )
        # Same call, same nonce, same gas limit: only the fees change.
        return signed_attempt(
            self.account,
            item,
            chain_id=self.chain_id,
            call=self._call_for(item),
            gas=latest.gas,
            nonce=latest.nonce,
            max_fee=max_fee,
            priority=priority,
        )

    # ------------------------------------------------------------------ helpers

    def _account_row(self, session: Session) -> RelayerAccount:
        return outbox.relayer_account(session, chain_id=self.chain_id, address=self.account.address)

    def _base_fee(self) -> int:
        return self._latest_block()[0]

    def _latest_block(self) -> tuple[int, int]:
        """The latest block's base fee and gas limit."""
        block = self.rpc.one("eth_getBlockByNumber", ["latest", False]).result or {}
        return int(block.get("baseFeePerGas", "0x0"), 16), int(
            block.get("gasLimit", "0x1c9c380"), 16
        )
