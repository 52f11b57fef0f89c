"""Decoding revert data into the custom error that caused it, with a stable code."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak

from governance.chain.contracts import CONTRACT_NAMES, artifact
from governance.errors import CONSENT_ERRORS, RewardRunNotApproved

#: OpenZeppelin and fairgov custom errors that mean the same as an intake error code.
_CODES = {
    "GovernorAlreadyCastVote": "already_voted",
    "GovernorInvalidSignature": "invalid_signature",
    "GovernorUnexpectedProposalState": "proposal_not_active",
    "GovernorNonexistentProposal": "unknown_proposal",
    "GovernorInvalidVoteType": "invalid_support",
    "InvalidAccountNonce": "wrong_nonce",
    "VotesExpiredSignature": "delegation_expired",
    "GovernorRestrictedProposer": "restricted_proposer",
    "GovernorInsufficientProposerVotes": "below_proposal_threshold",
    "GovernorUnableToCancel": "not_guardian",
    "FairnessGovernorNotLoosening": "proposal_not_loosening",
    "FairnessGovernorInvalidSupermajority": "invalid_supermajority",
    "FairnessGovernorInvalidLooseningPeriod": "invalid_loosening_period",
    "FairnessGovernorLooseningWithoutSupermajority": "loosening_without_supermajority",
    "RewardsRunNotApproved": RewardRunNotApproved.code,
    **{name: error.code for name, error in CONSENT_ERRORS.items()},
}


@dataclass(frozen=True)
class DecodedRevert:
    """A revert reason: the error's name and arguments, and a stable code."""

    name: str
    args: tuple[Any, ...]
    code: str

    def message(self) -> str:
        shown = ", ".join(a.hex() if isinstance(a, bytes) else str(a) for a in self.args)
        return f"{self.name}({shown})"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@functools.cache
def _errors_by_selector() -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {
        keccak(text="Error(string)")[:4]: ("Error", ["string"]),
        keccak(text="Panic(uint256)")[:4]: ("Panic", ["uint256"]),
    }
    for contract in CONTRACT_NAMES:
        for entry in artifact(contract).abi:
            if entry.get("type") != "error":
                continue
            types = [i["type"] for i in entry["inputs"]]
            signature = f"{entry['name']}({','.join(types)})"
            table[keccak(text=signature)[:4]] = (entry["name"], types)
    return table


def decode_revert(data: bytes | str | None) -> DecodedRevert:
    """The custom error in ``data`` (raw revert bytes or 0x hex)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x")) if data.startswith("0x") else b""
    if not data or len(data) < 4:
        return DecodedRevert("Reverted", (), "reverted")
    known = _errors_by_selector().get(data[:4])
    if known is None:
        return DecodedRevert("UnknownError", (data[:4].hex(),), "reverted")
    name, types = known
    try:
        args = tuple(abi_decode(types, data[4:]))
    except DecodingError:  # malformed revert data still gets a name
        args = ()
    return DecodedRevert(name, args, _CODES.get(name, _snake(name)))
