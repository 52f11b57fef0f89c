"""The keeper: queues proposals that passed and executes them once their delay is over.

``governor.queue`` and ``governor.execute`` are permissionless, so anyone may carry a
passed proposal forward; the keeper makes sure someone does. It reads the calls of each
proposal from the index (or from the governor's ``ProposalCreated`` logs without one),
checks the proposal's state on chain right before acting, and estimates gas first: a call
that would revert (someone else queued or executed it meanwhile) is skipped, never sent.
Running it twice does nothing the second time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxParams

from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.node import Sender, call_data
from governance.chain.reverts import decode_revert
from governance.errors import IndexRpcFailed
from governance.index.apply import FINAL_STATES
from governance.index.log_decoder import LogDecoder
from governance.index.models import Proposal

_SUCCEEDED, _QUEUED = 4, 5
_GAS_MARGIN = 1.2

Step = Literal["queue", "execute"]


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

    @property
    def message(self) -> str:
        if not self.enabled:
            return "the keeper is switched off: nothing was queued or executed"
        if not (self.queued or self.executed or self.skipped):
            return "nothing to do"
        parts = [f"queued {len(self.queued)}", f"executed {len(self.executed)}"]
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)}")
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
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.private_key = private_key
        self.engine = engine
        self.enabled = enabled
        self.governor: Contract = bind(w3, "FairnessGovernor", deployment.addresses.governor)

    def run_once(self) -> KeeperReport:
        """Queue and execute what is due now; returns what was done and what was skipped."""
        report = KeeperReport(enabled=self.enabled)
        if not self.enabled:
            return report
        sender: Sender | None = None
        for calls in self._candidates():
            step = self._due_step(calls, report)
            if step is None:
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
            (report.queued if step == "queue" else report.executed).append(str(calls.proposal_id))
        if sender is not None:
            sender.wait()
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
        try:
            estimate = self.w3.eth.estimate_gas(tx | {"from": sender})
        except (ContractLogicError, Web3RPCError) as exc:
            data = getattr(exc, "data", None)
            reason = decode_revert(data if isinstance(data, str) else None).message()
            report.skipped[str(calls.proposal_id)] = f"would revert: {reason}"
            return None
        return math.ceil(estimate * _GAS_MARGIN)

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
