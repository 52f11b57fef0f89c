"""Data providers: offering a dataset, and a record owner's inclusion check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import Address, Hash32
from audit.inclusion import Inclusion


class OfferPrepare(BaseModel):
    """Which registered manifest the provider offers, and for how long the offer holds."""

    manifest_hash: Hash32 = Field(description="a manifest registered with POST /v1/datasets")
    provider: Address
    valid_days: int = Field(default=30, ge=1, le=3650, description="days until the deadline")
    terms_hash: Hash32 | None = Field(
        default=None, description="sha256 of the terms text, if any beyond the licence"
    )


class OfferPrepared(BaseModel):
    """The offer's typed data, to sign with eth_signTypedData_v4 in the provider's wallet."""

    typed_data: dict[str, Any]
    message: dict[str, Any] = Field(description="the offer; POST it back with the signature")


class OfferSubmit(BaseModel):
    """A signed offer: the message from /prepare and the provider's signature."""

    message: dict[str, Any]
    signature: str = Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=4098)
    name: str | None = Field(default=None, description="the dataset's name, shown to voters")


class OfferAccepted(BaseModel):
    """The checked offer as an ``allow_dataset`` action, ready for a proposal."""

    action: dict[str, Any] = Field(description="pass it in the actions of a proposal")
    summary: str


class WithdrawalPrepared(BaseModel):
    """A withdrawal's typed data, dated at the latest block, for the provider's wallet."""

    typed_data: dict[str, Any]
    message: dict[str, Any] = Field(description="the withdrawal; POST it back with the signature")


class WithdrawalSubmit(BaseModel):
    """A signed withdrawal: the message from the typed-data route and the signature."""

    message: dict[str, Any]
    signature: str = Field(pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=4098)


class InclusionCheck(BaseModel):
    """A record owner's claim: their record, its salt and the proof from the provider."""

    record: dict[str, str | None] = Field(
        description="the record's fields as in the data file (null: a Parquet null)"
    )
    salt: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    proof: list[str] = Field(max_length=64, description="sibling hashes from the leaf up")


class TrainedModelPublic(BaseModel):
    model_config = {"protected_namespaces": ()}

    model_name: str
    model_hash: str
    run_id: str
    report_hash: str | None
    verdict: str | None
    anchored: bool
    status: str | None = Field(
        default=None,
        description="the model's gate status now (approved, blocked, candidate); a model that "
        "passed may be blocked since, by a withdrawal or a later audit",
    )
    reason: str = Field(default="", description="why the gate holds that status")


class ScoredModelPublic(TrainedModelPublic):
    """An external (ONNX) model, trained elsewhere, that fairgov only scored the dataset with."""

    scored_rows: int | None = Field(
        default=None,
        description="how many of the dataset's rows it scored (a held-out split may have left "
        "the record out); null when the run's report cannot be read",
    )
    dataset_rows: int | None = Field(default=None, description="the dataset's rows")


class InclusionPublic(BaseModel):
    """The record is committed under the dataset's on-chain records root."""

    included: bool = True
    dataset_id: str
    records_root: str
    provider: str
    allowed: bool
    withdrawn: bool
    record_hash: str
    models: list[TrainedModelPublic] = Field(
        description="audited models trained on the dataset (completed training runs)"
    )
    scored: list[ScoredModelPublic] = Field(
        default_factory=list,
        description="external models fairgov audited by scoring the dataset: not trained on it",
    )
    note: str = (
        "a salted commitment, not a zero-knowledge proof: this check saw the record and its "
        "salt; no other record of the dataset is revealed"
    )

    @classmethod
    def of(cls, inclusion: Inclusion) -> InclusionPublic:
        entry = inclusion.dataset
        return cls(
            dataset_id=entry.dataset_id,
            records_root=entry.records_root,
            provider=entry.provider,
            allowed=entry.allowed,
            withdrawn=entry.withdrawn,
            record_hash=inclusion.record_hash,
            models=[TrainedModelPublic(**vars(m)) for m in inclusion.models],
            scored=[ScoredModelPublic(**vars(m)) for m in inclusion.scored],
        )
