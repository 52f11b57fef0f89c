"""Shapes shared by several areas: addresses, uint256 strings, paging, relay records."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core import types
from governance.messages.kinds import RelayKind
from governance.relay.outbox import RelayItem, RelayStatus

UINT_PATTERN: Final = r"^[0-9]{1,78}$"
EXAMPLE_ADDRESS: Final = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
EXAMPLE_PROPOSAL_ID: Final = (
    "8361128419836528399620359727838120546337357226127545937208532960421131302817"
)
EXAMPLE_HASH: Final = "0x" + "5b" * 32

# The API's names for the validated shapes of core.types (declared once, there).
ADDRESS_PATTERN: Final = types.ADDRESS_PATTERN
HASH_PATTERN: Final = types.HASH32_PATTERN
Address = types.HexAddress
Hash32 = types.HexHash32


def _below_2_256(text: str) -> str:
    """Refuse a decimal that does not fit in a uint256 (78 digits reach past 2**256)."""
    if int(text) >= 2**256:
        raise ValueError("must be below 2**256 (a uint256)")
    return text


UintString = Annotated[str, StringConstraints(pattern=UINT_PATTERN), AfterValidator(_below_2_256)]
ProposalIdPath = Annotated[UintString, Path(description="The proposal id, decimal.")]

Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page.")]


class RelayPublic(BaseModel):
    """An accepted message and where it is on its way to the chain."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 17,
                    "kind": "ballot",
                    "status": "queued",
                    "signer": EXAMPLE_ADDRESS,
                    "proposal_id": EXAMPLE_PROPOSAL_ID,
                    "nonce": 0,
                    "support": 1,
                    "reason": "fairness first",
                    "delegatee": None,
                    "tx_hash": None,
                    "block_number": None,
                    "error_code": None,
                    "error": None,
                    "created_at": "2026-01-01T12:00:00Z",
                    "updated_at": "2026-01-01T12:00:00Z",
                }
            ]
        }
    )

    id: int
    kind: RelayKind
    status: RelayStatus
    signer: str
    proposal_id: str | None = None
    nonce: int | None = None
    support: int | None = Field(default=None, description="ballots: 0 against, 1 for, 2 abstain")
    reason: str | None = Field(default=None, description="ballots: the reason, if any")
    delegatee: str | None = Field(default=None, description="delegations: to whom")
    tx_hash: str | None = None
    block_number: int | None = None
    error_code: str | None = None
    error: str | None = None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: RelayItem) -> RelayPublic:
        assert item.id is not None
        carried = _carried(item)
        return cls(
            id=item.id,
            kind=item.kind,
            status=item.status,
            signer=item.signer,
            proposal_id=item.proposal_id,
            nonce=item.nonce,
            support=carried.get("support"),
            reason=carried.get("reason"),
            delegatee=carried.get("delegatee"),
            tx_hash=item.tx_hash,
            block_number=item.block_number,
            error_code=item.error_code,
            error=item.error,
            created_at=item.created_at,
            updated_at=item.updated_at,
        )


def _carried(item: RelayItem) -> dict[str, Any]:
    """What a ballot or delegation record carries: its choice, or its delegatee."""
    if item.kind == RelayKind.BALLOT:
        payload = item.payload_dict()
        return {"support": payload.get("support"), "reason": payload.get("reason")}
    if item.kind == RelayKind.DELEGATION:
        return {"delegatee": item.payload_dict().get("delegatee")}
    return {}
