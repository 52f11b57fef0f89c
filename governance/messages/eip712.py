"""EIP-712 as OpenZeppelin v5 signs ballots and delegations: domains, type hashes, the
typed data a wallet signs (``eth_signTypedData_v4``) and recovering its signer.

The models that carry these signatures, and the checks against chain state, are in
:mod:`governance.messages.ballots`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak as keccak256
from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.crypto import keccak
from eth_utils.exceptions import ValidationError

from core.types import Address, to_address
from governance.actions import DOMAIN_FIELDS
from governance.errors import InvalidSignature, SignatureMalleable

SECP256K1_N: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
DOMAIN_VERSION: Final = "1"

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
            "verifyingContract": to_address(self.verifying_contract),
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


def word(value: int) -> bytes:
    """``value`` ABI-encoded as a uint (the caller checked its range)."""
    return value.to_bytes(32, "big")


def address_word(address: str) -> bytes:
    """A validated 0x address ABI-encoded."""
    return bytes(12) + bytes.fromhex(address[2:])


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
        "voter": to_address(voter),
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
            "delegatee": to_address(delegatee),
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


def recover_signer(message_digest: bytes, signature: bytes) -> Address:
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
    return to_address("0x" + key.to_canonical_address().hex())
