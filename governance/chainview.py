"""Views of governance state read from the node: live, or prefetched for a batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from governance.ballots import ProposalView
from governance.contracts import bind
from governance.deploy import Deployment
from governance.rpc import RpcBatch


@dataclass
class RpcChainView:
    """Governance state read from the node at the latest block."""

    w3: Web3
    governor: Contract
    token: Contract
    _chain_id: int = 0

    @classmethod
    def for_deployment(cls, w3: Web3, deployment: Deployment) -> RpcChainView:
        a = deployment.addresses
        return cls(
            w3=w3,
            governor=bind(w3, "FairnessGovernor", a.governor),
            token=bind(w3, "GovernanceToken", a.token),
            _chain_id=deployment.chain_id,
        )

    @property
    def chain_id(self) -> int:
        return self._chain_id

    def proposal(self, proposal_id: int) -> ProposalView | None:
        try:
            state = self.governor.functions.state(proposal_id).call()
        except (ContractCustomError, ContractLogicError):
            return None  # GovernorNonexistentProposal
        snapshot = self.governor.functions.proposalSnapshot(proposal_id).call()
        deadline = self.governor.functions.proposalDeadline(proposal_id).call()
        return ProposalView(state=state, snapshot=snapshot, deadline=deadline)

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        return bool(self.governor.functions.hasVoted(proposal_id, voter).call())

    def votes_at(self, account: str, timepoint: int) -> int:
        if timepoint >= self.w3.eth.block_number:
            return int(self.token.functions.getVotes(account).call())
        return int(self.token.functions.getPastVotes(account, timepoint).call())

    def governor_nonce(self, account: str) -> int:
        return int(self.governor.functions.nonces(account).call())

    def token_nonce(self, account: str) -> int:
        return int(self.token.functions.nonces(account).call())

    def timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


@dataclass
class PrefetchedChainView:
    """A snapshot of the state a batch of ballots needs, read in one JSON-RPC batch.

    Answers for anything not prefetched fall through to ``live``.
    """

    live: RpcChainView
    nonces: dict[str, int]
    voted: dict[tuple[int, str], bool]
    votes: dict[tuple[str, int], int]
    proposals: dict[int, ProposalView | None]

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


def prefetch_ballot_state(
    live: RpcChainView, rpc: RpcBatch, ballots: list[tuple[int, str]]
) -> PrefetchedChainView:
    """Read nonces, votes cast and voting power for (proposal id, voter) pairs in two batches."""
    proposals = {pid: live.proposal(pid) for pid in {pid for pid, _ in ballots}}
    voters = sorted({voter for _, voter in ballots})
    governor, token = live.governor, live.token
    calls: list[tuple[str, list[Any]]] = []
    keys: list[tuple[str, Any]] = []
    for voter in voters:
        calls.append(_eth_call(governor, "nonces", [voter]))
        keys.append(("nonce", voter))
    head = live.w3.eth.block_number
    for pid, voter in ballots:
        view = proposals[pid]
        calls.append(_eth_call(governor, "hasVoted", [pid, voter]))
        keys.append(("voted", (pid, voter)))
        if view is not None and view.snapshot < head:
            calls.append(_eth_call(token, "getPastVotes", [voter, view.snapshot]))
            keys.append(("votes", (voter, view.snapshot)))
    nonces: dict[str, int] = {}
    voted: dict[tuple[int, str], bool] = {}
    votes: dict[tuple[str, int], int] = {}
    for (kind, key), reply in zip(keys, rpc.call(calls), strict=True):
        if not reply.ok:
            continue  # answered live on demand instead
        value = int(reply.result, 16)
        if kind == "nonce":
            nonces[key] = value
        elif kind == "voted":
            voted[key] = bool(value)
        else:
            votes[key] = value
    return PrefetchedChainView(live, nonces, voted, votes, proposals)


def _eth_call(contract: Contract, function: str, args: list[Any]) -> tuple[str, list[Any]]:
    call = {"to": contract.address, "data": contract.encode_abi(function, args=args)}
    return ("eth_call", [call, "latest"])
