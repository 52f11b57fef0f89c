"""Wallet-signed ballots and delegations (EIP-712, OpenZeppelin v5 types).

Holders sign in their own wallets with ``eth_signTypedData_v4``; the service relays the
signature and pays the gas. Before anything is accepted, :func:`verify_ballot` and
:func:`verify_delegation` check everything that could make the transaction revert, so bad
input never costs gas. The checks that need chain state go through a :class:`ChainView`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final, Protocol

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak as keccak256
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from governance.errors import (
    AlreadyVoted,
    DelegationExpired,
    InvalidSignature,
    InvalidSupport,
    NoVotingPower,
    ProposalNotActive,
    SignatureMalleable,
    SignerMismatch,
    UnknownProposal,
    WrongChain,
    WrongNonce,
    WrongVerifyingContract,
)

SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DOMAIN_VERSION: Final = "1"

DOMAIN_FIELDS: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
BALLOT_FIELDS: Final = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "support", "type": "uint8"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]
EXTENDED_BALLOT_FIELDS: Final = [
    *BALLOT_FIELDS,
    {"name": "reason", "type": "string"},
    {"name": "params", "type": "bytes"},
]
DELEGATION_FIELDS: Final = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]

_DOMAIN_TYPEHASH: Final = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
BALLOT_TYPEHASH: Final = keccak(
    text="Ballot(uint256 proposalId,uint8 support,address voter,uint256 nonce)"
)
EXTENDED_BALLOT_TYPEHASH: Final = keccak(
    text="ExtendedBallot(uint256 proposalId,uint8 support,address voter,uint256 nonce,"
    "string reason,bytes params)"
)
DELEGATION_TYPEHASH: Final = keccak(
    text="Delegation(address delegatee,uint256 nonce,uint256 expiry)"
)

#: GovernorCountingSimple's vote types.
SUPPORT_NAMES: Final = {0: "against", 1: "for", 2: "abstain"}

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
ACTIVE: Final = 1


@dataclass(frozen=True)
class Domain:
    """An EIP-712 domain: the governor's or the token's name, version "1"."""

    name: str
    chain_id: int
    verifying_contract: str

    def separator(self) -> bytes:
        return _separator(self.name, self.chain_id, self.verifying_contract)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": to_checksum_address(self.verifying_contract),
        }


@functools.lru_cache(maxsize=64)
def _separator(name: str, chain_id: int, verifying_contract: str) -> bytes:
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(text=name),
                keccak(text=DOMAIN_VERSION),
                chain_id,
                verifying_contract,
            ],
        )
    )


@functools.lru_cache(maxsize=65_536)
def checksum_address(address: str) -> str:
    """The EIP-55 form of a ``0x`` + 40 hex digits address (which the caller validated).

    eth-utils' ``to_checksum_address`` accepts many input types and checks them all, which
    made it a tenth of the cost of accepting a ballot; voters come back, hence the cache.
    """
    digits = address[2:].lower()
    hashed = keccak256(digits.encode("ascii")).hex()[:40]
    return "0x" + "".join(
        c.upper() if c > "9" and h >= "8" else c for c, h in zip(digits, hashed, strict=True)
    )


def _word(value: int) -> bytes:
    """``value`` ABI-encoded as a uint (the caller checked its range)."""
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    """A validated 0x address ABI-encoded."""
    return bytes(12) + bytes.fromhex(address[2:])


class _Signed(BaseModel):
    model_config = ConfigDict(frozen=True)

    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$", description="65-byte r‖s‖v")
    chain_id: int | None = Field(default=None, description="The domain's chain id, if given")
    verifying_contract: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")

    def signature_bytes(self) -> bytes:
        return bytes.fromhex(self.signature[2:])


class Ballot(_Signed):
    """A signed vote. With a reason (or params) it is an ExtendedBallot."""

    proposal_id: int = Field(ge=0, lt=2**256)
    support: int
    voter: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    nonce: int = Field(ge=0, lt=2**256)
    reason: str | None = None
    params: str = Field(default="0x", pattern=r"^0x([0-9a-fA-F]{2})*$")

    @field_validator("voter")
    @classmethod
    def _checksum(cls, value: str) -> str:
        return checksum_address(value)

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
                + _word(self.proposal_id)
                + _word(self.support)
                + _address_word(self.voter)
                + _word(self.nonce)
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

    delegator: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    delegatee: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    nonce: int = Field(ge=0, lt=2**256)
    expiry: int = Field(ge=0, lt=2**256)

    @field_validator("delegator", "delegatee")
    @classmethod
    def _checksum(cls, value: str) -> str:
        return checksum_address(value)

    def struct_hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "address", "uint256", "uint256"],
                [DELEGATION_TYPEHASH, self.delegatee, self.nonce, self.expiry],
            )
        )


def digest(domain: Domain, struct_hash: bytes) -> bytes:
    """The EIP-712 hash a wallet signs: keccak(0x1901 ‖ domainSeparator ‖ structHash)."""
    return keccak256(b"\x19\x01" + domain.separator() + struct_hash)


def ballot_typed_data(
    domain: Domain,
    *,
    proposal_id: int,
    support: int,
    voter: str,
    nonce: int,
    reason: str | None = None,
    params: str = "0x",
) -> dict[str, Any]:
    """Typed data for ``eth_signTypedData_v4``: a Ballot, or an ExtendedBallot with a reason.

    ``proposalId`` is a decimal string: proposal ids exceed JavaScript's safe integers.
    """
    extended = reason is not None or params != "0x"
    message: dict[str, Any] = {
        "proposalId": str(proposal_id),
        "support": support,
        "voter": to_checksum_address(voter),
        "nonce": str(nonce),
    }
    if extended:
        message |= {"reason": reason or "", "params": params}
    primary = "ExtendedBallot" if extended else "Ballot"
    return {
        "types": {
            "EIP712Domain": DOMAIN_FIELDS,
            primary: EXTENDED_BALLOT_FIELDS if extended else BALLOT_FIELDS,
        },
        "primaryType": primary,
        "domain": domain.as_json(),
        "message": message,
    }


def delegation_typed_data(
    domain: Domain, *, delegatee: str, nonce: int, expiry: int
) -> dict[str, Any]:
    """Typed data for ``eth_signTypedData_v4``: a Delegation."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "Delegation": DELEGATION_FIELDS},
        "primaryType": "Delegation",
        "domain": domain.as_json(),
        "message": {
            "delegatee": to_checksum_address(delegatee),
            "nonce": str(nonce),
            "expiry": str(expiry),
        },
    }


def split_signature(signature: bytes) -> tuple[int, int, int]:
    """(v, r, s) of a 65-byte r‖s‖v signature, v in {27, 28}."""
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    return (v + 27 if v < 27 else v), r, s


def recover_signer(message_digest: bytes, signature: bytes) -> str:
    """The address that signed ``message_digest``. Refuses malformed and high-s signatures."""
    v, r, s = split_signature(signature)
    if v not in (27, 28) or not (0 < r < SECP256K1_N) or not (0 < s < SECP256K1_N):
        raise InvalidSignature("v, r or s is out of range")
    if s > SECP256K1_N // 2:
        raise SignatureMalleable()
    try:
        key = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(message_digest)
    except (BadSignature, ValidationError) as exc:
        raise InvalidSignature(str(exc)) from exc
    return checksum_address("0x" + key.to_canonical_address().hex())


@dataclass(frozen=True)
class ProposalView:
    """What ballot verification needs to know about a proposal."""

    state: int
    snapshot: int
    deadline: int


class ChainView(Protocol):
    """Read access to governance state, from the node or from the index."""

    @property
    def chain_id(self) -> int: ...

    def proposal(self, proposal_id: int) -> ProposalView | None: ...

    def has_voted(self, proposal_id: int, voter: str) -> bool: ...

    def votes_at(self, account: str, timepoint: int) -> int: ...

    def governor_nonce(self, account: str) -> int: ...

    def token_nonce(self, account: str) -> int: ...

    def timestamp(self) -> int: ...


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
        raise ProposalNotActive(ballot.proposal_id, PROPOSAL_STATES[proposal.state])
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
