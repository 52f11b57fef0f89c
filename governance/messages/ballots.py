"""Wallet-signed ballots and delegations, and the checks that keep bad ones off the chain.

Holders sign in their own wallets with ``eth_signTypedData_v4`` (the encoding is in
:mod:`governance.messages.eip712`); the service relays the signature and pays the gas.
Before anything is accepted, the ``verify_*_signature`` and ``verify_*_state`` functions
check everything that could make the transaction revert, so bad input never costs gas. The
checks that need chain state go through a :class:`ChainView`.
"""

from __future__ import annotations

from typing import Final

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak as keccak256
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.types import Address, to_address
from governance.chain.view import PROPOSAL_STATES, ChainView
from governance.errors import (
    AlreadyVoted,
    DelegationExpired,
    InvalidSupport,
    NoVotingPower,
    ProposalNotActive,
    SignerMismatch,
    UnknownProposal,
    WrongChain,
    WrongNonce,
    WrongVerifyingContract,
)
from governance.messages.eip712 import (
    BALLOT_TYPEHASH,
    DELEGATION_TYPEHASH,
    EXTENDED_BALLOT_TYPEHASH,
    Domain,
    address_word,
    digest,
    recover_signer,
    word,
)

#: GovernorCountingSimple's vote types.
SUPPORT_NAMES: Final = {0: "against", 1: "for", 2: "abstain"}

ACTIVE: Final = 1


class _Signed(BaseModel):
    model_config = ConfigDict(frozen=True)

    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte r‖s‖v")
    chain_id: int | None = Field(default=None, description="The domain's chain id, if given")
    verifying_contract: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")

    @field_validator("signature")
    @classmethod
    def _v_27_or_28(cls, signature: str) -> str:
        """Lower-case hex, with a recovery id of 0 or 1 (some hardware wallets) written as 27
        or 28, the only form OpenZeppelin's ECDSA takes: stored and relayed as given, it was
        accepted here and reverted on chain (review, session 23)."""
        v = int(signature[-2:], 16)
        last = f"{v + 27:02x}" if v in (0, 1) else signature[-2:]
        return (signature[:-2] + last).lower()

    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])


class Ballot(_Signed):
    """A signed vote. With a reason (or params) it is an ExtendedBallot."""

    proposal_id: int = Field(ge=0, lt=2**256)
    support: int
    voter: Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    nonce: int = Field(ge=0, lt=2**256)
    reason: str | None = None
    params: str = Field(default="0x", pattern=r"^0x([0-9a-fA-F]{2})*$")

    @field_validator("voter")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)

    @property
    def extended(self) -> bool:
        return self.reason is not None or self.params != "0x"

    def struct_hash(self) -> bytes:
        if self.extended:
            return keccak(
                abi_encode(
                    ["bytes32", "uint256", "uint8", "address", "uint256", "bytes32", "bytes32"],
                    [
                        EXTENDED_BALLOT_TYPEHASH,
                        self.proposal_id,
                        self.support,
                        self.voter,
                        self.nonce,
                        keccak(text=self.reason or ""),
                        keccak(bytes.fromhex(self.params[2:])),
                    ],
                )
            )
        if 0 <= self.support < 256:  # every field is one static word: no need for eth-abi
            return keccak256(
                BALLOT_TYPEHASH
                + word(self.proposal_id)
                + word(self.support)
                + address_word(self.voter)
                + word(self.nonce)
            )
        return keccak(  # eth-abi refuses the out-of-range support
            abi_encode(
                ["bytes32", "uint256", "uint8", "address", "uint256"],
                [BALLOT_TYPEHASH, self.proposal_id, self.support, self.voter, self.nonce],
            )
        )


def same_vote(first: Ballot, second: Ballot) -> bool:
    """Whether two ballots cast the same vote: support, reason and params (the nonce and
    signature may differ, as when a wallet signs the same choice again). No reason and an
    empty one are the same: the governor records both as ``""``."""

    def choice(ballot: Ballot) -> tuple[int, str, str]:
        return ballot.support, ballot.reason or "", ballot.params.lower()

    return choice(first) == choice(second)


class Delegation(_Signed):
    """A signed delegation of the delegator's votes to ``delegatee``."""

    delegator: Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    delegatee: Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    nonce: int = Field(ge=0, lt=2**256)
    expiry: int = Field(ge=0, lt=2**256)

    @field_validator("delegator", "delegatee")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)

    def struct_hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "address", "uint256", "uint256"],
                [DELEGATION_TYPEHASH, self.delegatee, self.nonce, self.expiry],
            )
        )


def _check_domain(signed: _Signed, domain: Domain) -> None:
    if signed.chain_id is not None and signed.chain_id != domain.chain_id:
        raise WrongChain(expected=domain.chain_id, actual=signed.chain_id)
    contract = signed.verifying_contract
    if contract is not None and contract.lower() != domain.verifying_contract.lower():
        raise WrongVerifyingContract(expected=domain.verifying_contract, actual=contract)


def verify_ballot_signature(ballot: Ballot, *, domain: Domain) -> None:
    """Raise unless ``ballot`` is well formed and signed by its voter for ``domain``."""
    if ballot.support not in SUPPORT_NAMES:
        raise InvalidSupport(ballot.support)
    _check_domain(ballot, domain)
    signer = recover_signer(digest(domain, ballot.struct_hash()), ballot.signature_bytes())
    if signer != ballot.voter:
        raise SignerMismatch(claimed=ballot.voter, recovered=signer)


def verify_ballot_state(ballot: Ballot, *, chain: ChainView, pending_nonces: int = 0) -> None:
    """Raise the specific error that would make ``castVoteBySig`` revert now, if any.

    ``pending_nonces`` counts the voter's ballots already accepted but not yet on chain:
    each consumes one governor nonce, so the next ballot must be signed with the nonce
    after them.
    """
    expected_nonce = chain.governor_nonce(ballot.voter) + pending_nonces
    if ballot.nonce != expected_nonce:
        raise WrongNonce(account=ballot.voter, expected=expected_nonce, actual=ballot.nonce)
    proposal = chain.proposal(ballot.proposal_id)
    if proposal is None:
        raise UnknownProposal(ballot.proposal_id)
    if proposal.state != ACTIVE:
        raise ProposalNotActive(
            ballot.proposal_id, PROPOSAL_STATES[proposal.state], snapshot=proposal.snapshot
        )
    if chain.has_voted(ballot.proposal_id, ballot.voter):
        raise AlreadyVoted(ballot.proposal_id, ballot.voter)
    if chain.votes_at(ballot.voter, proposal.snapshot) == 0:
        raise NoVotingPower(ballot.voter, proposal.snapshot)


def verify_delegation_signature(delegation: Delegation, *, domain: Domain) -> None:
    """Raise unless ``delegation`` is signed by its delegator for ``domain``.

    ERC20Votes does not check who signed: with a wrong delegatee or nonce it recovers some
    other address and delegates *its* votes. So the recovered signer must be the claimed
    delegator before anything is sent.
    """
    _check_domain(delegation, domain)
    signer = recover_signer(digest(domain, delegation.struct_hash()), delegation.signature_bytes())
    if signer != delegation.delegator:
        raise SignerMismatch(claimed=delegation.delegator, recovered=signer)


def verify_delegation_state(
    delegation: Delegation, *, chain: ChainView, pending_nonces: int = 0
) -> None:
    """Raise the specific error that would make ``delegateBySig`` revert now, if any."""
    if delegation.expiry < chain.timestamp():
        raise DelegationExpired(delegation.expiry)
    expected_nonce = chain.token_nonce(delegation.delegator) + pending_nonces
    if delegation.nonce != expected_nonce:
        raise WrongNonce(
            account=delegation.delegator, expected=expected_nonce, actual=delegation.nonce
        )
