"""Providers' rewards: their epochs and status, proofs, and gasless claims."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from api.schemas.common import (
    EXAMPLE_ADDRESS,
    EXAMPLE_HASH,
    HASH_PATTERN,
    Address,
    UintString,
)
from audit.rewards.claims import ClaimInputs, ProviderReward, RewardStatus
from governance.rewards import CLAIM_SIGNATURE_PATTERN

Hash = Annotated[str, StringConstraints(pattern=HASH_PATTERN)]


class RewardPublic(BaseModel):
    """One epoch's reward of a provider."""

    epoch: int
    run_id: str
    model_name: str
    amount: UintString = Field(description="base units (18 decimals), a decimal string")
    status: RewardStatus
    challenge_ends: int = Field(description="unix time the challenge window ends")
    statement_hash: str

    @classmethod
    def of(cls, reward: ProviderReward) -> RewardPublic:
        return cls(
            epoch=reward.epoch,
            run_id=reward.run_id,
            model_name=reward.model_name,
            amount=str(reward.amount),
            status=reward.status,
            challenge_ends=reward.challenge_ends,
            statement_hash=reward.statement_hash,
        )


class RewardsPublic(BaseModel):
    data: list[RewardPublic]
    count: int


class ProofPublic(BaseModel):
    """What ``claim(epoch, amount, proof)`` (or a signed claim) needs."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "epoch": 1,
                    "account": EXAMPLE_ADDRESS,
                    "amount": "700000000000000000000",
                    "proof": [EXAMPLE_HASH],
                    "root": EXAMPLE_HASH,
                }
            ]
        }
    }

    epoch: int
    account: Address
    amount: UintString
    proof: list[str]
    root: str

    @classmethod
    def of(cls, inputs: ClaimInputs) -> ProofPublic:
        return cls(
            epoch=inputs.epoch,
            account=inputs.account,
            amount=str(inputs.amount),
            proof=list(inputs.proof),
            root=inputs.root,
        )


class ClaimTypedDataPublic(BaseModel):
    """EIP-712 typed data of a Claim to pass to ``eth_signTypedData_v4`` as it is, with the
    amount and proof to post back with the signature."""

    typed_data: dict[str, Any]
    amount: UintString
    proof: list[str]
    deadline: int


class ClaimCreate(BaseModel):
    """A provider's signed claim; anyone may post it, the signature is its authority."""

    account: Address
    amount: UintString
    deadline: int = Field(ge=0, lt=2**64)
    proof: list[Hash] = Field(max_length=64)
    signature: str = Field(
        pattern=CLAIM_SIGNATURE_PATTERN,
        description="65-byte r‖s‖v from a key; what an EIP-1271 wallet accepts (at most 1,024 "
        "bytes) from a contract",
    )

    @field_validator("amount")
    @classmethod
    def _uint256(cls, value: str) -> str:
        if int(value) >= 2**256:
            raise ValueError("the amount does not fit a uint256")
        return value

    def proof_steps(self) -> tuple[str, ...]:
        return tuple(self.proof)
