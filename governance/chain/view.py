"""Governance state read from the node, for verifying ballots and delegations.

Reads go out as raw JSON-RPC batches (:class:`~governance.chain.rpc.RpcBatch`) with calldata
from :mod:`governance.chain.calldata`: web3.py's contract calls cost a round trip each plus a
chain-id check, which would make intake a hundred times slower than the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from web3 import Web3
from web3.contract import Contract

from governance.chain.calldata import encode_call
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch

Call = tuple[str, list[Any]]

#: IGovernor.ProposalState, in order.
PROPOSAL_STATES: Final = (
    "Pending",
    "Active",
    "Canceled",
    "Defeated",
    "Succeeded",
    "Queued",
    "Expired",
    "Executed",
)


@dataclass(frozen=True)
class ProposalView:
    """What ballot verification needs to know about a proposal."""

    state: int
    snapshot: int
    deadline: int


class ChainView(Protocol):
    """Read access to governance state, from the node or from the index."""

    def for_ballots(self, pairs: list[tuple[int, str]]) -> ChainView:
        """This view, with what verifying these (proposal id, voter) ballots needs read in
        as few round trips as it can (the node's view reads it in two batches)."""
        ...

    @property
    def chain_id(self) -> int: ...

    def proposal(self, proposal_id: int) -> ProposalView | None: ...

    def has_voted(self, proposal_id: int, voter: str) -> bool: ...

    def votes_at(self, account: str, timepoint: int) -> int: ...

    def governor_nonce(self, account: str) -> int: ...

    def token_nonce(self, account: str) -> int: ...

    def timestamp(self) -> int: ...


#: The view functions read here, by name: their argument types.
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "state": ("uint256",),
    "proposalSnapshot": ("uint256",),
    "proposalDeadline": ("uint256",),
    "hasVoted": ("uint256", "address"),
    "nonces": ("address",),
    "getVotes": ("address",),
    "getPastVotes": ("address", "uint256"),
}


def _eth_call(contract: Contract, function: str, args: list[Any]) -> Call:
    data = encode_call(function, _SIGNATURES[function], args)
    return ("eth_call", [{"to": contract.address, "data": data}, "latest"])


def _word(result: str, index: int = 0) -> int:
    start = 2 + 64 * index
    return int(result[start : start + 64], 16)


@dataclass
class RpcChainView:
    """The latest state on the node, one batch per question."""

    rpc: RpcBatch
    governor: Contract
    token: Contract
    _chain_id: int

    @classmethod
    def for_deployment(
        cls, w3: Web3, deployment: Deployment, *, rpc_url: str | None = None
    ) -> RpcChainView:
        a = deployment.addresses
        url = rpc_url or str(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
        return cls(
            rpc=RpcBatch(url),
            governor=bind(w3, "FairnessGovernor", a.governor),
            token=bind(w3, "GovernanceToken", a.token),
            _chain_id=deployment.chain_id,
        )

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def proposal(self, proposal_id: int) -> ProposalView | None:
        state, snapshot, deadline = self.rpc.call(
            [
                _eth_call(self.governor, "state", [proposal_id]),
                _eth_call(self.governor, "proposalSnapshot", [proposal_id]),
                _eth_call(self.governor, "proposalDeadline", [proposal_id]),
            ]
        )
        if not state.ok:
            return None  # GovernorNonexistentProposal
        return ProposalView(
            state=_word(state.result),
            snapshot=_word(snapshot.result),
            deadline=_word(deadline.result),
        )

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        reply = self.rpc.one(*_eth_call(self.governor, "hasVoted", [proposal_id, voter]))
        return bool(_word(reply.result))

    def votes_at(self, account: str, timepoint: int) -> int:
        head = int(self.rpc.one("eth_blockNumber", []).result, 16)
        if timepoint >= head:
            call = _eth_call(self.token, "getVotes", [account])
        else:
            call = _eth_call(self.token, "getPastVotes", [account, timepoint])
        return _word(self.rpc.one(*call).result)

    def governor_nonce(self, account: str) -> int:
        return _word(self.rpc.one(*_eth_call(self.governor, "nonces", [account])).result)

    def token_nonce(self, account: str) -> int:
        return _word(self.rpc.one(*_eth_call(self.token, "nonces", [account])).result)

    def timestamp(self) -> int:
        block = self.rpc.one("eth_getBlockByNumber", ["latest", False]).result
        return int(block["timestamp"], 16)

    def for_ballots(self, pairs: list[tuple[int, str]]) -> PrefetchedChainView:
        """Everything verifying these (proposal id, voter) ballots needs, in two batches."""
        return prefetch_ballot_state(self, pairs)


@dataclass
class PrefetchedChainView:
    """A snapshot of the state a batch of ballots needs; other questions go to ``live``."""

    live: RpcChainView
    nonces: dict[str, int] = field(default_factory=dict)
    voted: dict[tuple[int, str], bool] = field(default_factory=dict)
    votes: dict[tuple[str, int], int] = field(default_factory=dict)
    proposals: dict[int, ProposalView | None] = field(default_factory=dict)

    @property
    def chain_id(self) -> int:
        return self.live.chain_id

    def proposal(self, proposal_id: int) -> ProposalView | None:
        if proposal_id in self.proposals:
            return self.proposals[proposal_id]
        return self.live.proposal(proposal_id)

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        known = self.voted.get((proposal_id, voter))
        return self.live.has_voted(proposal_id, voter) if known is None else known

    def votes_at(self, account: str, timepoint: int) -> int:
        known = self.votes.get((account, timepoint))
        return self.live.votes_at(account, timepoint) if known is None else known

    def governor_nonce(self, account: str) -> int:
        known = self.nonces.get(account)
        return self.live.governor_nonce(account) if known is None else known

    def token_nonce(self, account: str) -> int:
        return self.live.token_nonce(account)

    def timestamp(self) -> int:
        return self.live.timestamp()

    def for_ballots(self, pairs: list[tuple[int, str]]) -> PrefetchedChainView:
        """A fresh read of these ballots' state."""
        return self.live.for_ballots(pairs)


def prefetch_ballot_state(live: RpcChainView, pairs: list[tuple[int, str]]) -> PrefetchedChainView:
    """Read proposals, nonces, votes cast and voting power for ballots in two batches."""
    view = PrefetchedChainView(live)
    proposal_ids = sorted({pid for pid, _ in pairs})
    voters = sorted({voter for _, voter in pairs})
    first: list[Call] = [("eth_blockNumber", [])]
    for pid in proposal_ids:
        first += [
            _eth_call(live.governor, "state", [pid]),
            _eth_call(live.governor, "proposalSnapshot", [pid]),
            _eth_call(live.governor, "proposalDeadline", [pid]),
        ]
    first += [_eth_call(live.governor, "nonces", [voter]) for voter in voters]
    first += [_eth_call(live.governor, "hasVoted", [pid, voter]) for pid, voter in pairs]
    replies = iter(live.rpc.call(first))
    head = int(next(replies).result, 16)
    for pid in proposal_ids:
        state, snapshot, deadline = next(replies), next(replies), next(replies)
        view.proposals[pid] = (
            ProposalView(_word(state.result), _word(snapshot.result), _word(deadline.result))
            if state.ok
            else None
        )
    for voter in voters:
        reply = next(replies)
        if reply.ok:
            view.nonces[voter] = _word(reply.result)
    for pid, voter in pairs:
        reply = next(replies)
        if reply.ok:
            view.voted[(pid, voter)] = bool(_word(reply.result))
    wanted = sorted(
        {
            (voter, proposal.snapshot)
            for pid, voter in pairs
            if (proposal := view.proposals[pid]) is not None and proposal.snapshot < head
        }
    )
    second = [_eth_call(live.token, "getPastVotes", [voter, block]) for voter, block in wanted]
    for key, reply in zip(wanted, live.rpc.call(second), strict=True):
        if reply.ok:
            view.votes[key] = _word(reply.result)
    return view
