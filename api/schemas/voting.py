"""Ballots, delegations, relay records and voters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import EXAMPLE_ADDRESS, EXAMPLE_PROPOSAL_ID, Address
from governance.intake import NonceSource

SIGNATURE_PATTERN = r"^0x[0-9a-fA-F]{130}$"
_EXAMPLE_SIGNATURE = "0x" + "ab" * 64 + "1b"
_CHAIN_ID_DOC = (
    "the signed domain's chainId (optional): when given and not this chain's, the answer is "
    "wrong_chain rather than signer_mismatch"
)
_CONTRACT_DOC = (
    "the signed domain's verifyingContract (optional): when given and not ours, the answer "
    "is wrong_verifying_contract rather than signer_mismatch"
)


class TypedDataPublic(BaseModel):
    """EIP-712 typed data to pass to ``eth_signTypedData_v4`` as it is."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "typed_data": {
                        "types": {"EIP712Domain": [], "Ballot": []},
                        "primaryType": "Ballot",
                        "domain": {
                            "name": "FairnessGovernor",
                            "version": "1",
                            "chainId": 31337,
                            "verifyingContract": EXAMPLE_ADDRESS,
                        },
                        "message": {
                            "proposalId": EXAMPLE_PROPOSAL_ID,
                            "support": 1,
                            "voter": EXAMPLE_ADDRESS,
                            "nonce": "0",
                        },
                    },
                    "nonce": 0,
                    "nonce_source": "chain",
                }
            ]
        }
    )

    typed_data: dict[str, Any]
    nonce: int = Field(description="the contract nonce plus the signer's pending messages")
    nonce_source: NonceSource = Field(
        description="index when the node was down and the nonce was estimated from the index"
    )


class VoteCreate(BaseModel):
    """A ballot the voter signed over the typed data from GET …/ballot."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "voter": EXAMPLE_ADDRESS,
                    "support": 1,
                    "nonce": 0,
                    "reason": "fairness first",
                    "signature": _EXAMPLE_SIGNATURE,
                    "chain_id": 31337,
                    "verifying_contract": EXAMPLE_ADDRESS,
                }
            ]
        }
    )

    voter: Address
    support: int = Field(ge=0, le=255, description="0 against, 1 for, 2 abstain")
    nonce: int = Field(ge=0, lt=2**256)
    reason: str | None = Field(default=None, max_length=4000)
    params: str = Field(default="0x", pattern=r"^0x([0-9a-fA-F]{2})*$", max_length=4002)
    signature: str = Field(pattern=SIGNATURE_PATTERN, description="65 bytes r‖s‖v")
    chain_id: int | None = Field(default=None, ge=1, lt=2**256, description=_CHAIN_ID_DOC)
    verifying_contract: Address | None = Field(default=None, description=_CONTRACT_DOC)


class DelegationCreate(BaseModel):
    """A delegation the delegator signed over the typed data from GET /delegations/typed-data."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "delegator": EXAMPLE_ADDRESS,
                    "delegatee": EXAMPLE_ADDRESS,
                    "nonce": 0,
                    "expiry": 1893456000,
                    "signature": _EXAMPLE_SIGNATURE,
                    "chain_id": 31337,
                    "verifying_contract": EXAMPLE_ADDRESS,
                }
            ]
        }
    )

    delegator: Address
    delegatee: Address
    nonce: int = Field(ge=0, lt=2**256)
    expiry: int = Field(ge=0, lt=2**256, description="unix time after which it is void")
    signature: str = Field(pattern=SIGNATURE_PATTERN)
    chain_id: int | None = Field(default=None, ge=1, lt=2**256, description=_CHAIN_ID_DOC)
    verifying_contract: Address | None = Field(default=None, description=_CONTRACT_DOC)


class VotePublic(BaseModel):
    proposal_id: str
    support: int
    weight: str
    reason: str
    block_number: int
    tx_hash: str


class VoterPublic(BaseModel):
    """A holder now: tokens, voting power, delegate, and votes cast (from the index)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "address": EXAMPLE_ADDRESS,
                    "balance": "400000000000000000000000",
                    "voting_power": "400000000000000000000000",
                    "delegate": EXAMPLE_ADDRESS,
                    "governor_nonce": 1,
                    "token_nonce": 0,
                    "votes": [],
                }
            ]
        }
    )

    address: str
    balance: str
    voting_power: str
    delegate: str | None
    governor_nonce: int
    token_nonce: int
    votes: list[VotePublic]
