"""Proposals: what they do, where they stand, and preparing or submitting new ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.schemas.common import (
    EXAMPLE_ADDRESS,
    EXAMPLE_HASH,
    EXAMPLE_PROPOSAL_ID,
    Address,
    RelayPublic,
)
from api.schemas.protection import ProposalProtection
from governance.actions import Action, describe
from governance.index.models import Proposal
from governance.index.read import IndexedProtection
from governance.messages.proposals import PreparedProposal, RawProposal
from governance.relay.keeper_calls import RecordedCall

_ACTIONS = TypeAdapter(list[Action])

_EXAMPLE_ACTION: dict[str, Any] = {
    "kind": "set_threshold",
    "metric": "demographic_parity_difference",
    "value": "0.1",
    "direction": "upper",
}


class Tallies(BaseModel):
    for_votes: str
    against_votes: str
    abstain_votes: str


class Calls(BaseModel):
    targets: list[str]
    values: list[str]
    calldatas: list[str]


class KeeperCallPublic(BaseModel):
    """A queue or execute the keeper sent for this proposal that reverted on chain."""

    relay_id: int = Field(description="its record: GET /v1/relay/{id}")
    step: Literal["queue", "execute"]
    reverts: int = Field(description="how many times it reverted on chain")
    error_code: str
    error: str = Field(description="why it reverted the last time")
    tx_hash: str = Field(description="the last reverted transaction")
    block_number: int
    retry_after: datetime = Field(description="the keeper's earliest next try")
    held_back: bool = Field(
        description="reverted so often that the keeper tries it again only once the state of "
        "the proposal's targets changes; anyone may still send it themselves"
    )

    @classmethod
    def of(cls, recorded: RecordedCall) -> KeeperCallPublic:
        call = recorded.call
        return cls(
            relay_id=recorded.relay_id,
            step=call.step,
            reverts=call.reverts,
            error_code=call.code,
            error=call.reason,
            tx_hash=call.tx_hash,
            block_number=call.block,
            retry_after=call.retry_after,
            held_back=call.held_back,
        )


class ProposalPublic(BaseModel):
    """A proposal as indexed: decoded actions, state, tallies, quorum and deadlines."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": EXAMPLE_PROPOSAL_ID,
                    "proposer": EXAMPLE_ADDRESS,
                    "description": "Bound demographic parity#proposer=" + EXAMPLE_ADDRESS,
                    "description_hash": EXAMPLE_HASH,
                    "state": "Active",
                    "actions": [_EXAMPLE_ACTION],
                    "summaries": ["Set threshold demographic_parity_difference <= 0.1"],
                    "calls": {"targets": [EXAMPLE_ADDRESS], "values": ["0"], "calldatas": ["0x"]},
                    "snapshot": 120,
                    "vote_end": 150,
                    "deadline": 150,
                    "eta": None,
                    "quorum": "40000000000000000000000",
                    "quorum_reached": False,
                    "tallies": {"for_votes": "0", "against_votes": "0", "abstain_votes": "0"},
                    "created_block": 119,
                    "tx_hash": EXAMPLE_HASH,
                    "queued_block": None,
                    "executed_block": None,
                    "canceled_block": None,
                    "protection": {
                        "loosening": False,
                        "changes": ["none"],
                        "majority_needed": {"numerator": 1, "denominator": 2, "rule": "more_than"},
                        "voting_ends_block": 150,
                        "guardian": EXAMPLE_ADDRESS,
                        "veto": {
                            "cancellable_by_guardian": False,
                            "until": "execution",
                            "earliest_execution": {"after_block": 150, "eta": None},
                        },
                    },
                }
            ]
        }
    )

    proposal_id: str
    proposer: str
    description: str
    description_hash: str
    state: str = Field(description="Pending, Active, Canceled, Defeated, Succeeded, Queued, …")
    actions: list[Action]
    summaries: list[str] = Field(description="one line per action")
    calls: Calls
    snapshot: int = Field(description="block whose voting power counts")
    vote_end: int = Field(description="deadline block when proposed")
    deadline: int = Field(description="deadline block after late-quorum extensions")
    eta: int | None = Field(default=None, description="unix time it may execute, once queued")
    quorum: str | None = Field(default=None, description="votes needed (for + abstain)")
    quorum_reached: bool | None = None
    tallies: Tallies
    created_block: int
    tx_hash: str
    queued_block: int | None = None
    executed_block: int | None = None
    canceled_block: int | None = None
    protection: ProposalProtection | None = Field(
        default=None,
        description="how the governor classified it when made: loosening, the label of each "
        "call, the majority needed and the guardian's veto window",
    )
    keeper_calls: list[KeeperCallPublic] | None = Field(
        default=None,
        description="the keeper's queue and execute calls of this proposal that reverted on "
        "chain (GET /v1/proposals/{id} only; empty when none did)",
    )

    @classmethod
    def of(cls, p: Proposal, protection: IndexedProtection | None = None) -> ProposalPublic:
        actions = _ACTIONS.validate_python(p.actions_list())
        calls = p.calls_dict()
        reached = (
            None if p.quorum is None else int(p.for_votes) + int(p.abstain_votes) >= int(p.quorum)
        )
        return cls(
            proposal_id=p.proposal_id,
            proposer=p.proposer,
            description=p.description,
            description_hash=p.description_hash,
            state=p.state,
            actions=actions,
            summaries=[describe(a) for a in actions],
            calls=Calls(
                targets=list(calls["targets"]),
                values=[str(v) for v in calls["values"]],
                calldatas=list(calls["calldatas"]),
            ),
            snapshot=p.snapshot,
            vote_end=p.vote_end,
            deadline=p.deadline,
            eta=p.eta,
            quorum=p.quorum,
            quorum_reached=reached,
            tallies=Tallies(
                for_votes=p.for_votes, against_votes=p.against_votes, abstain_votes=p.abstain_votes
            ),
            created_block=p.created_block,
            tx_hash=p.tx_hash,
            queued_block=p.queued_block,
            executed_block=p.executed_block,
            canceled_block=p.canceled_block,
            protection=ProposalProtection.of(p, protection),
        )


class ProposalsPublic(BaseModel):
    """A page of proposals, newest first, and how many there are in all."""

    data: list[ProposalPublic]
    count: int


class ProposalPrepare(BaseModel):
    """Typed actions to turn into an unsigned ``propose`` transaction."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposer": EXAMPLE_ADDRESS,
                    "description": "Bound demographic parity",
                    "actions": [_EXAMPLE_ACTION],
                }
            ]
        }
    )

    proposer: Address
    description: str = Field(min_length=1, max_length=10_000)
    actions: list[Action] = Field(max_length=64)


def wallet_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
    """The prepared transaction as ethers v6 and viem both sign it unchanged.

    ethers v6 reads ``gasLimit`` and viem ``gas``, so both are there. Quantities are hex
    strings (both parse them; JSON numbers above 2**53 would lose precision in JavaScript),
    except zero, which is the number 0: viem encodes any string, even "0x0", as a byte, and
    the node rejects that non-canonical RLP. ``chainId`` and ``nonce`` are numbers. There is
    no ``type``: ethers wants ``2`` and viem ``"eip1559"``, and both infer an EIP-1559
    transaction from ``maxFeePerGas``.
    """
    gas = _quantity(transaction["gas"])
    return {
        "from": transaction["from"],
        "to": transaction["to"],
        "data": transaction["data"],
        "value": _quantity(transaction["value"]),
        "chainId": int(transaction["chainId"]),
        "nonce": int(transaction["nonce"]),
        "gasLimit": gas,
        "gas": gas,
        "maxFeePerGas": _quantity(transaction["maxFeePerGas"]),
        "maxPriorityFeePerGas": _quantity(transaction["maxPriorityFeePerGas"]),
    }


def _quantity(value: Any) -> str | int:
    number = int(value)
    return hex(number) if number else 0


def rpc_transaction(transaction: dict[str, Any]) -> dict[str, Any]:
    """The prepared transaction as JSON-RPC (EIP-1193) ``eth_sendTransaction`` takes it."""
    quantities = ("value", "chainId", "nonce", "gas", "maxFeePerGas", "maxPriorityFeePerGas")
    return {
        "from": transaction["from"],
        "to": transaction["to"],
        "data": transaction["data"],
        "type": "0x2",
        **{name: hex(int(transaction[name])) for name in quantities},
    }


class PreparedPublic(BaseModel):
    """The unsigned EIP-1559 transaction to sign in the proposer's wallet, and what it does."""

    proposal_id: str
    proposer: str
    description: str = Field(description="with the #proposer= suffix appended")
    description_hash: str
    actions: list[Action]
    summaries: list[str]
    calls: Calls
    transaction: dict[str, Any] = Field(
        description="to sign unchanged with ethers v6 (wallet.signTransaction) or viem "
        "(account.signTransaction), then POST /v1/proposals: from, to, data, value, chainId, "
        "nonce, gasLimit and gas (the same), maxFeePerGas, maxPriorityFeePerGas; quantities as "
        "hex strings, chainId and nonce as numbers"
    )
    rpc_transaction: dict[str, Any] = Field(
        description="the same transaction for a browser wallet's eth_sendTransaction (or "
        "eth_signTransaction): every quantity hex, type 0x2. Sent by the proposer, it is "
        "indexed from its ProposalCreated event"
    )

    @classmethod
    def of(cls, prepared: PreparedProposal) -> PreparedPublic:
        return cls(
            proposal_id=str(prepared.proposal_id),
            proposer=prepared.proposer,
            description=prepared.description,
            description_hash=prepared.description_hash,
            actions=list(prepared.actions),
            summaries=[describe(a) for a in prepared.actions],
            calls=Calls(
                targets=list(prepared.targets),
                values=[str(v) for v in prepared.values],
                calldatas=list(prepared.calldatas),
            ),
            transaction=wallet_transaction(prepared.transaction),
            rpc_transaction=rpc_transaction(prepared.transaction),
        )


class ProposalSubmit(BaseModel):
    """A ``propose`` transaction the proposer signed (``eth_signTransaction``'s output)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"raw_transaction": "0x02f9…"}]})

    raw_transaction: str = Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=120_000)


class ProposalSubmitted(BaseModel):
    """The accepted transaction, queued for broadcast, and the proposal it will create."""

    relay: RelayPublic
    proposal_id: str
    proposer: str
    tx_hash: str
    summaries: list[str]

    @classmethod
    def of(cls, item: RelayPublic, raw: RawProposal) -> ProposalSubmitted:
        return cls(
            relay=item,
            proposal_id=str(raw.proposal_id),
            proposer=raw.proposer,
            tx_hash=raw.tx_hash,
            summaries=[describe(a) for a in raw.actions],
        )
