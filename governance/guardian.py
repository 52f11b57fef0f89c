"""The fairness guardian's cancel: prepared for the guardian's wallet, checked before it is sent.

The governor lets its guardian cancel a proposal that is loosening (when it was made, or now
against the current policy) until it executes. :func:`prepare_guardian_cancel` builds the
unsigned ``cancel(targets, values, calldatas, descriptionHash)`` transaction from the indexed
proposal; :func:`submit_guardian_cancel` checks the signed one and queues it for broadcast.
Everything the governor would refuse is refused here first, with a stable code, so a bad
cancel never spends the guardian's gas: another sender (``not_guardian``), a proposal that
is not loosening (``proposal_not_loosening``), one that is past cancelling
(``proposal_not_cancellable``), an unknown one (``unknown_proposal``), and every check of a
raw transaction (chain, gas, fees, funds, nonce).
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_utils.abi import function_signature_to_4byte_selector
from pydantic import BaseModel, ConfigDict
from sqlmodel import Session
from web3 import Web3
from web3.exceptions import ContractLogicError

from core.types import to_address
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.reverts import decode_revert
from governance.chain.view import PROPOSAL_STATES
from governance.errors import (
    InvalidRawTransaction,
    NotACancelCall,
    NotGuardian,
    NotOurGovernor,
    ProposalNotCancellable,
    ProposalNotLoosening,
    ProposalWouldRevert,
    UnknownProposal,
    WrongChain,
)
from governance.index.read import get_proposal
from governance.intake.service import next_transaction_nonce, queue_signed_call
from governance.messages.signed_proposals import parse_signed
from governance.protection import GUARDIAN_CANCELLABLE_STATES, classify
from governance.relay.outbox import RelayItem

CANCEL_SIGNATURE = "cancel(address[],uint256[],bytes[],bytes32)"
CANCEL_SELECTOR = bytes(function_signature_to_4byte_selector(CANCEL_SIGNATURE))
_CANCEL_TYPES = ["address[]", "uint256[]", "bytes[]", "bytes32"]
_GAS_MARGIN = 1.25
_PRIORITY_FEE_WEI = 10**9


class CancelCall(BaseModel):
    """The calls of the proposal to cancel, as the governor hashes them into its id."""

    model_config = ConfigDict(frozen=True)

    targets: tuple[str, ...]
    values: tuple[int, ...]
    calldatas: tuple[str, ...]
    description_hash: str

    @property
    def proposal_id(self) -> int:
        """``Governor.hashProposal`` of these calls."""
        encoded = abi_encode(
            ["address[]", "uint256[]", "bytes[]", "bytes32"],
            [
                list(self.targets),
                list(self.values),
                [bytes.fromhex(c[2:]) for c in self.calldatas],
                bytes.fromhex(self.description_hash[2:]),
            ],
        )
        return int.from_bytes(Web3.keccak(encoded), "big")


class PreparedCancel(BaseModel):
    """The unsigned cancel transaction for the guardian's wallet."""

    model_config = ConfigDict(frozen=True)

    proposal_id: int
    guardian: str
    call: CancelCall
    transaction: dict[str, Any]


class RawCancel(BaseModel):
    """What a guardian-signed cancel transaction does; nothing has been sent."""

    model_config = ConfigDict(frozen=True)

    tx_hash: str
    sender: str
    chain_id: int
    nonce: int
    governor: str
    proposal_id: int
    call: CancelCall
    gas: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int
    data: str

    @property
    def max_cost(self) -> int:
        """The most the transaction can cost the guardian, in wei (cancel sends no value)."""
        return self.gas * self.max_fee_per_gas


def check_guardian_may_cancel(
    w3: Web3, deployment: Deployment, *, sender: str, call: CancelCall
) -> None:
    """Refuse what the governor would refuse of ``sender`` cancelling ``call`` as guardian.

    Raises
    ------
    UnknownProposal, NotGuardian, ProposalNotCancellable, ProposalNotLoosening
    """
    proposal_id = call.proposal_id
    governor = bind(w3, "FairnessGovernor", deployment.addresses.governor).functions
    if governor.proposalSnapshot(proposal_id).call() == 0:
        raise UnknownProposal(proposal_id)
    state = PROPOSAL_STATES[governor.state(proposal_id).call()]
    # The governor's own order: a proposer may cancel its pending proposal, whatever it is;
    # then only the guardian, only a loosening proposal, only before it is decided.
    proposer = str(governor.proposalProposer(proposal_id).call())
    if state == "Pending" and to_address(proposer) == to_address(sender):
        return
    guardian = str(governor.proposalGuardian().call())
    if int(guardian, 16) == 0 or to_address(guardian) != to_address(sender):
        raise NotGuardian(to_address(sender), None if int(guardian, 16) == 0 else guardian)
    loosening_when_made = bool(governor.proposalClassification(proposal_id).call()[0])
    if not loosening_when_made:
        calldatas = [bytes.fromhex(c[2:]) for c in call.calldatas]
        if not classify(w3, deployment.addresses, call.targets, calldatas).loosening:
            raise ProposalNotLoosening(proposal_id)
    if state not in GUARDIAN_CANCELLABLE_STATES:
        raise ProposalNotCancellable(proposal_id, state)


def _indexed_call(session: Session, proposal_id: int) -> CancelCall:
    proposal = get_proposal(session, proposal_id)
    if proposal is None:
        raise UnknownProposal(proposal_id)
    calls = proposal.calls_dict()
    return CancelCall(
        targets=tuple(to_address(t) for t in calls["targets"]),
        values=tuple(int(v) for v in calls["values"]),
        calldatas=tuple(calls["calldatas"]),
        description_hash=proposal.description_hash,
    )


def _estimate(w3: Web3, call: dict[str, Any]) -> int:
    try:
        return int(w3.eth.estimate_gas(call))  # type: ignore[arg-type]
    except ContractLogicError as exc:
        revert = decode_revert(exc.data if isinstance(exc.data, str | bytes) else None)
        raise ProposalWouldRevert(revert.message(), revert.code) from exc


def prepare_guardian_cancel(
    session: Session,
    w3: Web3,
    deployment: Deployment,
    *,
    proposal_id: int,
    guardian: str | None = None,
) -> PreparedCancel:
    """The unsigned ``cancel`` transaction of proposal ``proposal_id`` for the guardian.

    Parameters
    ----------
    session : Session
        The chain index (the proposal's calls come from its ProposalCreated event).
    w3 : Web3
        A client of the deployment's chain.
    deployment : Deployment
        Our governor.
    proposal_id : int
        The proposal to cancel.
    guardian : str, optional
        Who will sign; default the governor's guardian now. Anyone else is refused.

    Raises
    ------
    UnknownProposal, NotGuardian, ProposalNotCancellable, ProposalNotLoosening

    Examples
    --------
    >>> prepared = prepare_guardian_cancel(session, w3, deployment, proposal_id=pid)
    >>> signed = Account.sign_transaction(prepared.transaction, guardian_key)  # in the wallet
    """
    call = _indexed_call(session, proposal_id)
    governor = bind(w3, "FairnessGovernor", deployment.addresses.governor)
    if guardian is None:
        guardian = str(governor.functions.proposalGuardian().call())
    sender = to_address(guardian)
    check_guardian_may_cancel(w3, deployment, sender=sender, call=call)
    data = governor.encode_abi(
        "cancel",
        args=[
            list(call.targets),
            list(call.values),
            [bytes.fromhex(c[2:]) for c in call.calldatas],
            bytes.fromhex(call.description_hash[2:]),
        ],
    )
    request = {"from": sender, "to": governor.address, "data": data, "value": 0}
    gas = _estimate(w3, request)
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    transaction = {
        **request,
        "type": 2,
        "chainId": deployment.chain_id,
        "nonce": next_transaction_nonce(session, w3, deployment, sender),
        "gas": int(gas * _GAS_MARGIN),
        "maxPriorityFeePerGas": _PRIORITY_FEE_WEI,
        "maxFeePerGas": 2 * base_fee + _PRIORITY_FEE_WEI,
    }
    return PreparedCancel(
        proposal_id=proposal_id, guardian=sender, call=call, transaction=transaction
    )


def _decode_cancel(data: bytes, value: int) -> CancelCall:
    selector = "0x" + data[:4].hex()
    if data[:4] != CANCEL_SELECTOR:
        raise NotACancelCall(selector, f"it calls function {selector}, not cancel")
    if value != 0:
        raise NotACancelCall(selector, f"it sends {value} wei, and cancel takes none")
    try:
        targets, values, calldatas, description_hash = abi_decode(_CANCEL_TYPES, data[4:])
    except Exception as exc:
        raise NotACancelCall(selector, "its arguments do not decode") from exc
    if not len(targets) == len(values) == len(calldatas):
        raise NotACancelCall(selector, "it has different numbers of targets, values, calldatas")
    return CancelCall(
        targets=tuple(to_address(t) for t in targets),
        values=tuple(int(v) for v in values),
        calldatas=tuple("0x" + bytes(c).hex() for c in calldatas),
        description_hash="0x" + bytes(description_hash).hex(),
    )


def inspect_raw_cancel(
    w3: Web3, deployment: Deployment, raw_tx: bytes, *, proposal_id: int | None = None
) -> RawCancel:
    """Check a guardian-signed ``cancel`` transaction and say what it cancels; nothing is sent.

    Raises
    ------
    InvalidRawTransaction, WrongChain, NotOurGovernor, NotACancelCall (also when it cancels
    another proposal than ``proposal_id``), and what :func:`check_guardian_may_cancel` raises
    """
    raw = bytes(raw_tx)
    if not raw:
        raise InvalidRawTransaction("it is empty")
    signed = parse_signed(raw)
    if signed.chain_id is None:
        raise InvalidRawTransaction("it has no chain id: sign it with EIP-155 or EIP-1559")
    if signed.chain_id != deployment.chain_id:
        raise WrongChain(expected=deployment.chain_id, actual=signed.chain_id)
    governor = to_address(deployment.addresses.governor)
    if signed.to != governor:
        raise NotOurGovernor(signed.to, governor)
    call = _decode_cancel(signed.data, signed.value)
    if proposal_id is not None and call.proposal_id != proposal_id:
        raise NotACancelCall(
            "0x" + CANCEL_SELECTOR.hex(),
            f"it cancels proposal {call.proposal_id}, not {proposal_id}",
        )
    check_guardian_may_cancel(w3, deployment, sender=signed.sender, call=call)
    return RawCancel(
        tx_hash=Web3.keccak(raw).to_0x_hex(),
        sender=signed.sender,
        chain_id=signed.chain_id,
        nonce=signed.nonce,
        governor=governor,
        proposal_id=call.proposal_id,
        call=call,
        gas=signed.gas,
        max_fee_per_gas=signed.max_fee_per_gas,
        max_priority_fee_per_gas=signed.max_priority_fee_per_gas,
        data="0x" + signed.data.hex(),
    )


def submit_guardian_cancel(
    session: Session,
    raw_transaction: bytes,
    *,
    w3: Web3,
    deployment: Deployment,
    proposal_id: int | None = None,
) -> tuple[RelayItem, RawCancel]:
    """Check a guardian-signed cancel and queue it for broadcast; a second submission of the
    same bytes returns the first record. The guardian signed and pays; the relayer only
    broadcasts. Refused before anything is stored (see :func:`inspect_raw_cancel` and
    :func:`~governance.messages.signed_proposals.check_minable`)."""
    cancel = inspect_raw_cancel(w3, deployment, raw_transaction, proposal_id=proposal_id)
    return queue_signed_call(session, raw_transaction, cancel, w3=w3, deployment=deployment), cancel


__all__ = [
    "CANCEL_SELECTOR",
    "CancelCall",
    "PreparedCancel",
    "RawCancel",
    "check_guardian_may_cancel",
    "inspect_raw_cancel",
    "prepare_guardian_cancel",
    "submit_guardian_cancel",
]
