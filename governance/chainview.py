"""A :class:`~governance.ballots.ChainView` that reads the node directly."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError

from governance.ballots import ProposalView
from governance.contracts import bind
from governance.deploy import Deployment


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
