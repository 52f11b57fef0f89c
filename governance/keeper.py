"""The keeper: queues proposals that passed and executes them once their delay is over.

``governor.queue`` and ``governor.execute`` are permissionless, so anyone may carry a
passed proposal forward; the keeper makes sure someone does. It reads the calls of each
proposal from the index (or from the governor's ``ProposalCreated`` logs without one),
checks the proposal's state on chain right before acting, and estimates gas first, from its
own address and with the fees it will pay: a call that would revert (someone else queued or
executed it meanwhile) is skipped, never sent. Running it twice does nothing the second time.

A simulation is never exact (an EIP-1271 wallet that signed an offer may answer otherwise in
the mined transaction), so a call that reverts on chain anyway is remembered
(:mod:`governance.relay.keeper_calls`) and tried again only after a delay that doubles with
each revert, and after :attr:`RetryPolicy.max_reverts` reverts only once the state of the
proposal's targets has changed. Before, the keeper sent a reverting execute on every pass,
forever (review).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from eth_account import Account
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError
from web3.types import TxParams, TxReceipt, Wei

from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.node import Sender, call_data, max_fee_per_gas
from governance.chain.reverts import DecodedRevert, decode_revert
from governance.errors import IndexRpcFailed, TransactionFailed
from governance.index.apply import FINAL_STATES
from governance.index.log_decoder import LogDecoder
from governance.index.models import Proposal
from governance.relay.keeper_calls import (
    MemoryLedger,
    OutboxLedger,
    RevertedCall,
    RevertLedger,
    Step,
)
from governance.relay.outbox import utcnow

_SUCCEEDED, _QUEUED = 4, 5
_GAS_MARGIN = 1.2
#: The priority fee :class:`~governance.chain.node.Sender` pays, which the estimate uses too.
_PRIORITY_FEE_WEI: Final = 10**9
_RECEIPT_TIMEOUT = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    """How the keeper treats a call of its own that reverted on chain.

    The next try waits ``first_delay``, doubling with each revert up to ``longest_delay``.
    After ``max_reverts`` reverts the call is held back until the state of the proposal's
    targets (their code and storage) changes; then it is tried once more, on the same clock.
    """

    first_delay: timedelta = timedelta(minutes=1)
    longest_delay: timedelta = timedelta(days=1)
    max_reverts: int = 3

    def delay(self, reverts: int) -> timedelta:
        """How long to wait after the ``reverts``-th revert."""
        return min(self.first_delay * (1 << max(reverts - 1, 0)), self.longest_delay)


@dataclass(frozen=True)
class _Calls:
    proposal_id: int
    targets: list[str]
    values: list[int]
    calldatas: list[bytes]
    description_hash: bytes


@dataclass
class KeeperReport:
    """What one :meth:`Keeper.run_once` did. Ids are decimal strings."""

    enabled: bool = True
    queued: list[str] = field(default_factory=list)
    executed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    tx_hashes: list[str] = field(default_factory=list)
    #: Calls sent in this pass that reverted on chain, and why.
    reverted: dict[str, str] = field(default_factory=dict)
    #: Calls not tried since they reverted on chain too often (:class:`RetryPolicy`), and why.
    held_back: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if not self.enabled:
            return "the keeper is switched off: nothing was queued or executed"
        if not (self.queued or self.executed or self.skipped or self.reverted or self.held_back):
            return "nothing to do"
        parts = [f"queued {len(self.queued)}", f"executed {len(self.executed)}"]
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)}")
        parts += [f"reverted on chain: proposal {p}: {why}" for p, why in self.reverted.items()]
        parts += [f"held back: proposal {p}: {why}" for p, why in self.held_back.items()]
        return ", ".join(parts)


class Keeper:
    """Queues Succeeded proposals and executes Queued ones whose ETA has passed.

    Parameters
    ----------
    w3 : Web3
        The node.
    deployment : Deployment
        The governance stack.
    private_key : str
        The key that pays for queue and execute transactions.
    engine : Engine, optional
        The database with the chain index; proposals come from it when given, and from the
        governor's ``ProposalCreated`` logs otherwise.
    enabled : bool
        ``False`` switches the keeper off: :meth:`run_once` then does nothing and says so.
    retry : RetryPolicy
        When a call that reverted on chain is tried again. Its reverts are remembered in
        the database with ``engine``, else for the life of this keeper.

    Examples
    --------
    >>> Keeper(w3, deployment, key, engine=engine).run_once().message
    'queued 1, executed 0'
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        private_key: str,
        engine: Engine | None = None,
        enabled: bool = True,
        *,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.private_key = private_key
        self.engine = engine
        self.enabled = enabled
        self.retry = retry or RetryPolicy()
        self.governor: Contract = bind(w3, "FairnessGovernor", deployment.addresses.governor)
        self.ledger: RevertLedger = (
            MemoryLedger()
            if engine is None
            else OutboxLedger(
                engine,
                deployment.chain_id,
                deployment.addresses.governor,
                Account.from_key(private_key).address,
            )
        )

    def run_once(self) -> KeeperReport:
        """Queue and execute what is due now; returns what was done and what was skipped."""
        report = KeeperReport(enabled=self.enabled)
        if not self.enabled:
            return report
        sender: Sender | None = None
        sent: list[tuple[_Calls, Step, HexBytes]] = []
        for calls in self._candidates():
            step = self._due_step(calls, report)
            if step is None or self._held_back(calls, step, report):
                continue
            tx = call_data(
                self.governor,
                step,
                [calls.targets, calls.values, calls.calldatas, calls.description_hash],
            )
            sender = sender or Sender.from_key(self.w3, self.private_key)
            gas = self._estimate(sender.address, tx, calls, report)
            if gas is None:
                continue
            tx_hash = sender.send(f"{step} proposal {calls.proposal_id}", tx | {"gas": gas})
            report.tx_hashes.append(tx_hash.to_0x_hex())
            sent.append((calls, step, tx_hash))
        for calls, step, tx_hash in sent:
            self._settle(calls, step, self._receipt(step, calls, tx_hash), report)
        return report

    def _due_step(self, calls: _Calls, report: KeeperReport) -> Step | None:
        state = self.governor.functions.state(calls.proposal_id).call()
        if state == _SUCCEEDED:
            return "queue"
        if state != _QUEUED:
            return None
        eta = self.governor.functions.proposalEta(calls.proposal_id).call()
        now = self.w3.eth.get_block("latest")["timestamp"]
        if now < eta:
            report.skipped[str(calls.proposal_id)] = f"queued until {eta} (now {now})"
            return None
        return "execute"

    def _estimate(
        self, sender: str, tx: TxParams, calls: _Calls, report: KeeperReport
    ) -> int | None:
        """The gas limit to send ``tx`` with, estimated from ``sender`` with the fees it
        will pay (at a gas price of 0 an EIP-1271 wallet may accept an offer it refuses in
        the mined transaction); None, and the reason in ``report``, when it would revert.
        The sender must hold the fees, as it must to send it (no state override: not every
        node takes one in ``eth_estimateGas``)."""
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0))
        priced: TxParams = {
            "from": sender,
            "maxFeePerGas": Wei(max_fee_per_gas(base_fee, _PRIORITY_FEE_WEI)),
            "maxPriorityFeePerGas": Wei(_PRIORITY_FEE_WEI),
        }
        try:
            estimate = self.w3.eth.estimate_gas(tx | priced)
        except (ContractLogicError, Web3RPCError) as exc:
            report.skipped[str(calls.proposal_id)] = f"would revert: {_reason(exc)}"
            return None
        return math.ceil(estimate * _GAS_MARGIN)

    # ------------------------------------------------------------------ calls that reverted

    def _held_back(self, calls: _Calls, step: Step, report: KeeperReport) -> bool:
        """Whether a call that reverted on chain before must wait (and why, in ``report``)."""
        last = self.ledger.find(step, calls.proposal_id)
        if last is None:
            return False
        proposal = str(calls.proposal_id)
        if last.reverts >= self.retry.max_reverts and self._targets_state(calls) == last.state:
            report.held_back[proposal] = (
                f"{step} reverted on chain {last.reverts} times (last: {last.reason}, "
                f"transaction {last.tx_hash}); tried again once its targets' state changes, "
                "or send it yourself"
            )
            return True
        if utcnow() < last.retry_after:
            report.skipped[proposal] = (
                f"{step} reverted on chain ({last.reason}); next try after "
                f"{last.retry_after:%Y-%m-%d %H:%M:%S} UTC"
            )
            return True
        return False

    def _receipt(self, step: Step, calls: _Calls, tx_hash: HexBytes) -> TxReceipt:
        what = f"{step} proposal {calls.proposal_id}"
        try:
            return self.w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=_RECEIPT_TIMEOUT, poll_latency=0.1
            )
        except TimeExhausted as exc:
            raise TransactionFailed(
                f"{what} (not mined in {_RECEIPT_TIMEOUT:.0f} s)", tx_hash.hex()
            ) from exc

    def _settle(self, calls: _Calls, step: Step, receipt: TxReceipt, report: KeeperReport) -> None:
        """Count a mined call, or remember its revert and when to try it again."""
        proposal = str(calls.proposal_id)
        if receipt["status"] == 1:
            self.ledger.forget(step, calls.proposal_id)
            (report.queued if step == "queue" else report.executed).append(proposal)
            return
        before = self.ledger.find(step, calls.proposal_id)
        reverts = 1 + (before.reverts if before is not None else 0)
        revert = self._replayed_revert(receipt)
        retry_after = utcnow() + self.retry.delay(reverts)
        self.ledger.record(
            RevertedCall(
                step=step,
                proposal_id=calls.proposal_id,
                reverts=reverts,
                tx_hash=receipt["transactionHash"].to_0x_hex(),
                block=receipt["blockNumber"],
                code=revert.code,
                reason=revert.message(),
                state=self._targets_state(calls),
                retry_after=retry_after,
                held_after=self.retry.max_reverts,
            )
        )
        report.reverted[proposal] = (
            f"{step} reverted ({revert.message()}), revert {reverts} of at most "
            f"{self.retry.max_reverts} before it waits for a change of state; next try after "
            f"{retry_after:%Y-%m-%d %H:%M:%S} UTC"
        )

    def _replayed_revert(self, receipt: TxReceipt) -> DecodedRevert:
        """Why a mined call reverted: the call replayed on its block's parent, as sent."""
        tx = self.w3.eth.get_transaction(receipt["transactionHash"])
        replay: TxParams = {
            "from": tx["from"],
            "to": tx["to"],
            "data": tx["input"],
            "gas": tx["gas"],
            "maxFeePerGas": tx["maxFeePerGas"],
            "maxPriorityFeePerGas": tx["maxPriorityFeePerGas"],
        }
        try:
            self.w3.eth.call(replay, receipt["blockNumber"] - 1)
        except (ContractLogicError, Web3RPCError) as exc:
            return _revert_of(exc)
        return decode_revert(None)

    def _targets_state(self, calls: _Calls) -> str:
        """A fingerprint of the code and storage of the proposal's targets now (empty when
        the node serves no ``eth_getProof``: the state then never counts as changed)."""
        parts = []
        for target in sorted({t.lower() for t in calls.targets}):
            answer: Any = self.w3.provider.make_request("eth_getProof", [target, [], "latest"])  # type: ignore[arg-type]
            proof = answer.get("result") or {}
            if "codeHash" not in proof or "storageHash" not in proof:
                return ""
            parts.append(f"{target}:{proof['codeHash']}:{proof['storageHash']}")
        return Web3.keccak(text=";".join(parts)).to_0x_hex()

    # ------------------------------------------------------------------ where proposals come from

    def _candidates(self) -> list[_Calls]:
        if self.engine is not None:
            return self._indexed_candidates(self.engine)
        return self._logged_candidates()

    def _indexed_candidates(self, engine: Engine) -> list[_Calls]:
        statement = (
            select(Proposal)
            .where(col(Proposal.state).not_in(FINAL_STATES))
            .order_by(col(Proposal.created_block), col(Proposal.created_log_index))
        )
        with Session(engine) as session:
            proposals = session.exec(statement).all()
        found = []
        for p in proposals:
            c = p.calls_dict()
            found.append(
                _Calls(
                    proposal_id=int(p.proposal_id),
                    targets=c["targets"],
                    values=[int(v) for v in c["values"]],
                    calldatas=[bytes(HexBytes(d)) for d in c["calldatas"]],
                    description_hash=bytes(HexBytes(p.description_hash)),
                )
            )
        return found

    def _logged_candidates(self) -> list[_Calls]:
        decoder = LogDecoder(self.deployment.contract_addresses())
        log_filter = decoder.log_filter(self.deployment.deploy_block, self.w3.eth.block_number)
        log_filter["address"] = self.deployment.addresses.governor.lower()
        answer: Any = self.w3.provider.make_request("eth_getLogs", [log_filter])  # type: ignore[arg-type]
        if answer.get("error"):
            raise IndexRpcFailed("eth_getLogs", str(answer["error"].get("message")))
        found = []
        for event in decoder.decode(answer.get("result") or []):
            if event.name != "ProposalCreated":
                continue
            a = event.args
            found.append(
                _Calls(
                    proposal_id=a["proposalId"],
                    targets=a["targets"],
                    values=a["values"],
                    calldatas=[bytes(HexBytes(d)) for d in a["calldatas"]],
                    description_hash=bytes(Web3.keccak(text=a["description"])),
                )
            )
        return found


def _revert_of(exc: Exception) -> DecodedRevert:
    data = getattr(exc, "data", None)
    return decode_revert(data if isinstance(data, str) else None)


def _reason(exc: Exception) -> str:
    """The decoded revert, or the node's own words when it gave no revert data (no funds
    for the fees, say)."""
    if isinstance(exc, ContractLogicError) or getattr(exc, "data", None):
        return _revert_of(exc).message()
    words = str(exc).strip().splitlines()
    return f"the node refused the estimate: {words[0] if words else type(exc).__name__}"
