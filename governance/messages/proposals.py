"""Proposals for a holder's wallet: what a ``propose`` call will do, and preparing it.

fairgov never proposes on a holder's behalf with its own key: :func:`prepare_proposal`
builds the unsigned ``propose`` transaction for the holder to sign.
:mod:`governance.messages.signed_proposals` checks a signed one before the relayer sends
it, so that bad input is refused before it spends anyone's gas.

Descriptions end with OpenZeppelin's ``#proposer=0x…`` suffix: only that account can make
the proposal, so nobody can front-run a holder's transaction and take the proposal over.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eth_abi.abi import encode as abi_encode
from pydantic import BaseModel, ConfigDict
from web3 import Web3
from web3.exceptions import ContractLogicError

from core.types import Address, to_address
from governance.actions import Action, encode
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.reverts import decode_revert
from governance.consent import check_offers
from governance.errors import (
    BelowProposalThreshold,
    EmptyProposal,
    ProposalExists,
    ProposalWouldRevert,
    RestrictedProposer,
)

_GAS_MARGIN = 1.25
_PRIORITY_FEE_WEI = 10**9
# OpenZeppelin's Governor._isValidDescriptionForProposer: the marker, then 0x and 40 hex
# digits of either case, at the very end.
_PROPOSER_SUFFIX = re.compile(r"#proposer=(0x[0-9a-fA-F]{40})\Z")


class PreparedProposal(BaseModel):
    """A proposal ready to sign: the unsigned transaction and what it will do."""

    model_config = ConfigDict(frozen=True)

    proposer: str
    description: str
    description_hash: str
    actions: tuple[Action, ...]
    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[str, ...]
    proposal_id: int
    transaction: dict[str, Any]


class RawProposal(BaseModel):
    """What a proposer-signed ``propose`` transaction will do; nothing has been sent."""

    model_config = ConfigDict(frozen=True)

    tx_hash: str
    proposer: str
    chain_id: int
    nonce: int
    governor: str
    description: str
    description_hash: str
    actions: tuple[Action, ...]
    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[str, ...]
    proposal_id: int
    gas: int = 0
    max_fee_per_gas: int = 0
    max_priority_fee_per_gas: int = 0
    data: str = "0x"

    @property
    def max_cost(self) -> int:
        """The most the transaction can cost its sender, in wei (``propose`` sends no value)."""
        return self.gas * self.max_fee_per_gas

    @property
    def sender(self) -> str:
        """Who signed the transaction: the proposer."""
        return self.proposer


def proposal_id_of(
    targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes], description: str
) -> int:
    """The governor's id of a proposal, as ``Governor.hashProposal`` computes it."""
    description_hash = Web3.keccak(text=description)
    encoded = abi_encode(
        ["address[]", "uint256[]", "bytes[]", "bytes32"],
        [list(targets), list(values), list(calldatas), description_hash],
    )
    return int.from_bytes(Web3.keccak(encoded), "big")


def with_proposer_suffix(description: str, proposer: str) -> str:
    """``description`` ending with ``#proposer=<proposer>``, added unless already there.

    Raises :class:`RestrictedProposer` when the description is reserved for someone else.
    """
    proposer = to_address(proposer)
    named = named_proposer(description)
    if named is None:
        return f"{description}#proposer={proposer}"
    if named != proposer:
        raise RestrictedProposer(proposer, named)
    return description


def named_proposer(description: str) -> Address | None:
    """The account a ``#proposer=`` suffix reserves ``description`` for, if any."""
    match = _PROPOSER_SUFFIX.search(description)
    return None if match is None else to_address(match.group(1))


def check_can_propose(w3: Web3, deployment: Deployment, proposer: str, proposal_id: int) -> None:
    """Refuse a proposer below the proposal threshold, or a proposal that already exists."""
    a = deployment.addresses
    governor = bind(w3, "FairnessGovernor", a.governor).functions
    threshold = governor.proposalThreshold().call()
    if threshold > 0:
        # The governor counts votes at the block before the proposal's, that is the latest.
        votes = bind(w3, "GovernanceToken", a.token).functions.getVotes(proposer).call()
        if votes < threshold:
            raise BelowProposalThreshold(proposer, votes, threshold)
    if governor.proposalSnapshot(proposal_id).call() != 0:
        raise ProposalExists(proposal_id, governor.state(proposal_id).call())


def prepare_proposal(
    w3: Web3,
    deployment: Deployment,
    *,
    proposer: str,
    actions: Sequence[Action],
    description: str,
    nonce: int | None = None,
) -> PreparedProposal:
    """Build the unsigned ``propose`` transaction for ``proposer`` to sign.

    Parameters
    ----------
    w3 : Web3
        A client of the deployment's chain.
    deployment : Deployment
        Where the governor and the policy contracts live.
    proposer : str
        The account that will sign and send the transaction.
    actions : sequence of Action
        What the proposal does.
    description : str
        The proposal's text; ``#proposer=<proposer>`` is appended.
    nonce : int, optional
        The transaction's nonce (default: the chain's pending nonce of ``proposer``); pass
        :func:`governance.intake.service.next_transaction_nonce` to count what fairgov holds.

    Returns
    -------
    PreparedProposal
        The EIP-1559 transaction (nonce, gas with a margin, fees), the final description, the
        calls and the id the proposal will have.

    Raises
    ------
    EmptyProposal, BelowProposalThreshold, ProposalExists, RestrictedProposer,
    ProposalWouldRevert, and for an ``allow_dataset`` action whose offer the policy would
    refuse now, the consent errors of :func:`governance.consent.check_offer`

    Examples
    --------
    >>> prepared = prepare_proposal(w3, deployment, proposer=holder, description="Bound DP",
    ...     actions=[SetThreshold(metric="demographic_parity_difference", value="0.1",
    ...                           direction="upper")])
    >>> signed = Account.sign_transaction(prepared.transaction, holder_key)  # in the wallet
    """
    if not actions:
        raise EmptyProposal
    proposer = to_address(proposer)
    description = with_proposer_suffix(description, proposer)
    targets, values, calldatas = encode(actions, deployment.addresses)
    proposal_id = proposal_id_of(targets, values, calldatas, description)
    check_can_propose(w3, deployment, proposer, proposal_id)
    check_offers(w3, deployment, actions)

    governor = bind(w3, "FairnessGovernor", deployment.addresses.governor)
    data = governor.encode_abi("propose", args=[targets, values, calldatas, description])
    call = {"from": proposer, "to": governor.address, "data": data, "value": 0}
    try:
        gas = w3.eth.estimate_gas(call)  # type: ignore[arg-type]
    except ContractLogicError as exc:
        revert = decode_revert(exc.data if isinstance(exc.data, str | bytes) else None)
        raise ProposalWouldRevert(revert.message(), revert.code) from exc
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    transaction = {
        **call,
        "type": 2,
        "chainId": deployment.chain_id,
        "nonce": (w3.eth.get_transaction_count(proposer, "pending") if nonce is None else nonce),
        "gas": int(gas * _GAS_MARGIN),
        "maxPriorityFeePerGas": _PRIORITY_FEE_WEI,
        "maxFeePerGas": 2 * base_fee + _PRIORITY_FEE_WEI,
    }
    return PreparedProposal(
        proposer=proposer,
        description=description,
        description_hash=Web3.keccak(text=description).to_0x_hex(),
        actions=tuple(actions),
        targets=tuple(targets),
        values=tuple(values),
        calldatas=tuple("0x" + c.hex() for c in calldatas),
        proposal_id=proposal_id,
        transaction=transaction,
    )
