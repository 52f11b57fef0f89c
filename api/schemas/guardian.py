"""The fairness guardian's cancel: the unsigned transaction for its wallet, and the signed one."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import Address, RelayPublic
from api.schemas.proposals import rpc_transaction, wallet_transaction
from governance.guardian import PreparedCancel, RawCancel


class GuardianCancelPrepare(BaseModel):
    """Who will sign the cancel; by default the governor's guardian now."""

    guardian: Address | None = None


class CancelCallPublic(BaseModel):
    targets: list[str]
    values: list[str]
    calldatas: list[str]
    description_hash: str


class PreparedCancelPublic(BaseModel):
    """The unsigned ``cancel`` transaction to sign in the guardian's wallet."""

    proposal_id: str
    guardian: str
    call: CancelCallPublic
    transaction: dict[str, Any] = Field(
        description="to sign unchanged with ethers v6 or viem, then POST "
        "/v1/proposals/{id}/guardian-cancel (same shape as a prepared proposal's)"
    )
    rpc_transaction: dict[str, Any] = Field(
        description="the same transaction for a browser wallet's eth_sendTransaction"
    )

    @classmethod
    def of(cls, prepared: PreparedCancel) -> PreparedCancelPublic:
        call = prepared.call
        return cls(
            proposal_id=str(prepared.proposal_id),
            guardian=prepared.guardian,
            call=CancelCallPublic(
                targets=list(call.targets),
                values=[str(v) for v in call.values],
                calldatas=list(call.calldatas),
                description_hash=call.description_hash,
            ),
            transaction=wallet_transaction(prepared.transaction),
            rpc_transaction=rpc_transaction(prepared.transaction),
        )


class GuardianCancelSubmit(BaseModel):
    """A ``cancel`` transaction the guardian signed (``eth_signTransaction``'s output)."""

    raw_transaction: str = Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=120_000)


class GuardianCancelSubmitted(BaseModel):
    """The accepted cancel, queued for broadcast."""

    relay: RelayPublic
    proposal_id: str
    guardian: str
    tx_hash: str

    @classmethod
    def of(cls, item: RelayPublic, cancel: RawCancel) -> GuardianCancelSubmitted:
        return cls(
            relay=item,
            proposal_id=str(cancel.proposal_id),
            guardian=cancel.sender,
            tx_hash=cancel.tx_hash,
        )
