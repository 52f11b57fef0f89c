"""Checking a ``propose`` transaction that a holder signed, before anything is sent.

:func:`inspect_raw_proposal` decodes it and says what it will do; :func:`check_minable`
refuses one that the chain would never mine as it is (gas, fees, balance, nonce). Both run
at intake, so bad input never spends anyone's gas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from eth_abi.abi import decode as abi_decode
from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction as LegacyTransaction
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from eth_utils.abi import function_signature_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError

from core.types import to_address
from governance.actions import decode
from governance.chain.deploy import Deployment
from governance.chain.reverts import decode_revert
from governance.consent import check_offers
from governance.errors import (
    EmptyProposal,
    FeesNotMinable,
    GasLimitAboveBlock,
    GasLimitTooLow,
    InsufficientFunds,
    InvalidRawTransaction,
    NotAProposeCall,
    NotOurGovernor,
    ProposalWouldRevert,
    RestrictedProposer,
    TransactionNonceMismatch,
    WrongChain,
)
from governance.messages.proposals import (
    RawProposal,
    check_can_propose,
    named_proposer,
    proposal_id_of,
)

PROPOSE_SIGNATURE = "propose(address[],uint256[],bytes[],string)"
PROPOSE_SELECTOR = bytes(function_signature_to_4byte_selector(PROPOSE_SIGNATURE))
_PROPOSE_TYPES = ["address[]", "uint256[]", "bytes[]", "string"]


class SignedFields(NamedTuple):
    """What a signed transaction carries, and who signed it."""

    sender: str
    chain_id: int | None
    to: str | None
    value: int
    nonce: int
    data: bytes
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


def parse_signed(raw: bytes) -> SignedFields:
    """The fields of a signed transaction that the checks need, and its sender."""
    try:
        sender = str(Account.recover_transaction(raw))
        if raw[0] <= 0x7F:
            fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
            chain_id: int | None = fields["chainId"]
        else:
            fields = LegacyTransaction.from_bytes(raw).as_dict()
            v = fields["v"]
            chain_id = (v - 35) // 2 if v >= 35 else None
    except Exception as exc:
        raise InvalidRawTransaction(f"{type(exc).__name__}: {exc}") from exc
    to = bytes(fields["to"])
    return SignedFields(
        sender=sender,
        chain_id=chain_id,
        to=to_address("0x" + to.hex()) if to else None,
        value=int(fields["value"]),
        nonce=int(fields["nonce"]),
        data=bytes(fields["data"]),
        gas=int(fields["gas"]),
        max_fee_per_gas=int(fields.get("maxFeePerGas", fields.get("gasPrice", 0))),
        max_priority_fee_per_gas=int(fields.get("maxPriorityFeePerGas", fields.get("gasPrice", 0))),
    )


def _decode_propose(data: bytes, value: int) -> tuple[list[str], list[int], list[bytes], str]:
    selector = "0x" + data[:4].hex()
    if data[:4] != PROPOSE_SELECTOR:
        raise NotAProposeCall(selector, f"it calls function {selector}, not propose")
    if value != 0:
        raise NotAProposeCall(selector, f"it sends {value} wei, and propose takes none")
    try:
        targets, values, calldatas, description = abi_decode(_PROPOSE_TYPES, data[4:])
    except Exception as exc:
        raise NotAProposeCall(selector, "its arguments do not decode") from exc
    if not len(targets) == len(values) == len(calldatas):
        raise NotAProposeCall(selector, "it has different numbers of targets, values, calldatas")
    if not targets:
        raise EmptyProposal
    return list(targets), list(values), list(calldatas), str(description)


def inspect_raw_proposal(
    w3: Web3, deployment: Deployment, raw_tx: bytes, *, check_state: bool = True
) -> RawProposal:
    """Check a proposer-signed ``propose`` transaction and say what it will do.

    Nothing is sent. The relayer calls this before it broadcasts ``raw_tx``.

    Parameters
    ----------
    w3 : Web3
        A client of the deployment's chain.
    deployment : Deployment
        Our governor and contracts.
    raw_tx : bytes
        The signed transaction, as a wallet's ``eth_signTransaction`` returns it.
    check_state : bool
        Also check on chain that the proposer has enough votes and that the proposal does
        not exist yet; pass False to only decode (for example once it was sent).

    Raises
    ------
    InvalidRawTransaction, WrongChain, NotOurGovernor, NotAProposeCall, EmptyProposal,
    RestrictedProposer, BelowProposalThreshold, ProposalExists, and the consent errors of
    an ``allow_dataset`` offer the policy would refuse now

    Examples
    --------
    >>> proposal = inspect_raw_proposal(w3, deployment, signed.raw_transaction)
    >>> [describe(a) for a in proposal.actions]
    ['Set threshold demographic_parity_difference <= 0.1']
    """
    raw = bytes(raw_tx)
    if not raw:
        raise InvalidRawTransaction("it is empty")
    signed = parse_signed(raw)
    proposer, chain_id, to, value, nonce, data = signed[:6]
    if chain_id is None:
        raise InvalidRawTransaction("it has no chain id: sign it with EIP-155 or EIP-1559")
    if chain_id != deployment.chain_id:
        raise WrongChain(expected=deployment.chain_id, actual=chain_id)
    governor = to_address(deployment.addresses.governor)
    if to != governor:
        raise NotOurGovernor(to, governor)
    targets, values, calldatas, description = _decode_propose(data, value)
    named = named_proposer(description)
    if named is not None and named != proposer:
        raise RestrictedProposer(proposer, named)
    proposal_id = proposal_id_of(targets, values, calldatas, description)
    actions = tuple(decode(targets, values, calldatas, deployment.addresses))
    if check_state:
        check_can_propose(w3, deployment, proposer, proposal_id)
        check_offers(w3, deployment, actions)
    return RawProposal(
        tx_hash=Web3.keccak(raw).to_0x_hex(),
        proposer=proposer,
        chain_id=chain_id,
        nonce=nonce,
        governor=governor,
        description=description,
        description_hash=Web3.keccak(text=description).to_0x_hex(),
        actions=actions,
        targets=tuple(to_address(t) for t in targets),
        values=tuple(values),
        calldatas=tuple("0x" + bytes(c).hex() for c in calldatas),
        proposal_id=proposal_id,
        gas=signed.gas,
        max_fee_per_gas=signed.max_fee_per_gas,
        max_priority_fee_per_gas=signed.max_priority_fee_per_gas,
        data="0x" + data.hex(),
    )


class MinableTransaction(Protocol):
    """A signed call to the governor, as :func:`check_minable` needs it."""

    @property
    def sender(self) -> str: ...
    @property
    def governor(self) -> str: ...
    @property
    def data(self) -> str: ...
    @property
    def gas(self) -> int: ...
    @property
    def max_fee_per_gas(self) -> int: ...
    @property
    def max_priority_fee_per_gas(self) -> int: ...
    @property
    def nonce(self) -> int: ...
    @property
    def max_cost(self) -> int: ...


def check_minable(
    w3: Web3,
    proposal: MinableTransaction,
    *,
    held_nonces: Sequence[int] = (),
    held_cost: int = 0,
) -> None:
    """Refuse a signed transaction (a proposal, or a guardian's cancel) that the chain would
    never mine as it is.

    A transaction with too little gas, a sender who cannot pay, or a nonce that is used or
    leaves a gap would sit in the outbox for ever. ``held_nonces`` and ``held_cost`` are the
    nonces and the summed maximum cost of the sender's transactions that fairgov accepted
    and has not yet seen mined.

    Raises
    ------
    GasLimitTooLow
        The gas limit is below what ``eth_estimateGas`` needs for the call now.
    GasLimitAboveBlock
        The gas limit is above the latest block's gas limit.
    FeesNotMinable
        The priority fee is above the fee cap, or the fee cap is below the pending block's
        base fee (the node would reject it, or hold it until the base fee falls).
    ProposalWouldRevert
        The simulation reverts.
    InsufficientFunds
        The sender's balance is below the maximum cost of this and its held transactions.
    TransactionNonceMismatch
        The nonce is not the chain's pending nonce, or the one after the sender's held ones.

    Examples
    --------
    >>> check_minable(w3, inspect_raw_proposal(w3, deployment, raw))  # doctest: +SKIP
    """
    call = {"from": proposal.sender, "to": proposal.governor, "data": proposal.data, "value": 0}
    try:
        needed = int(w3.eth.estimate_gas(call, "pending"))  # type: ignore[arg-type]
    except ContractLogicError as exc:
        revert = decode_revert(exc.data if isinstance(exc.data, str | bytes) else None)
        raise ProposalWouldRevert(revert.message(), revert.code) from exc
    if proposal.gas < needed:
        raise GasLimitTooLow(proposal.gas, needed)
    block_gas_limit = int(w3.eth.get_block("latest")["gasLimit"])
    if proposal.gas > block_gas_limit:
        raise GasLimitAboveBlock(proposal.gas, block_gas_limit)
    base_fee = int(w3.eth.get_block("pending").get("baseFeePerGas", 0))
    max_fee, priority_fee = proposal.max_fee_per_gas, proposal.max_priority_fee_per_gas
    if priority_fee > max_fee or max_fee < base_fee:
        raise FeesNotMinable(max_fee, priority_fee, base_fee)
    sender = to_address(proposal.sender)
    balance = int(w3.eth.get_balance(sender, "pending"))
    if balance < proposal.max_cost + held_cost:
        raise InsufficientFunds(proposal.sender, balance, proposal.max_cost + held_cost)
    pending = int(w3.eth.get_transaction_count(sender, "pending"))
    expected = max([pending, *(n + 1 for n in held_nonces)])
    if proposal.nonce == expected:
        return
    if proposal.nonce < pending:
        problem = "the chain has already used"
    elif proposal.nonce in held_nonces:
        problem = "another transaction that fairgov accepted already uses"
    else:
        problem = "would leave a gap no transaction fills"
    raise TransactionNonceMismatch(proposal.sender, proposal.nonce, expected, problem)
