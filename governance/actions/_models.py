"""The action models: one class per call fairgov knows, and :class:`RawCall` for the rest."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar, Literal, Self

from eth_abi.abi import encode as abi_encode
from eth_utils.abi import function_signature_to_4byte_selector
from pydantic import BaseModel, ConfigDict, Field, model_validator

from governance.actions._consent import OFFER_ABI_TYPE, DatasetOffer
from governance.actions._values import (
    AUDITOR_ROLE,
    CONSTRAINTS,
    DIRECTIONS,
    UINT32_MAX,
    UINT48_MAX,
    UINT256_MAX,
    AddressHex,
    BytesHex,
    Contract,
    Direction,
    Hash32Hex,
    MetricName,
    Strategy,
    ThresholdValue,
    bytes32_to_text,
    check_bound,
    dataset_id_of,
    from_fixed,
    metric_to_bytes32,
    to_fixed,
    trim_decimal,
)
from governance.chain.deploy import TOKEN_DECIMALS, Addresses
from governance.errors import InvalidMitigation


class KnownCall(BaseModel):
    """An action that is one call to one of our contracts, with no value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    contract: ClassVar[Contract]
    signature: ClassVar[str]

    @classmethod
    def selector(cls) -> bytes:
        return bytes(function_signature_to_4byte_selector(cls.signature))

    @classmethod
    def abi_types(cls) -> list[str]:
        return cls.signature[cls.signature.index("(") + 1 : -1].split(",")

    @abstractmethod
    def args(self) -> tuple[Any, ...]:
        """The call's arguments, in ABI order."""

    @classmethod
    @abstractmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        """The action from decoded call arguments (raises ValueError if they do not fit)."""

    def fits(self, addresses: Addresses) -> bool:
        """Whether the decoded call means this action in ``addresses``' deployment."""
        return True

    def bound(self, addresses: Addresses) -> Self:
        """This action with what it leaves to the deployment (an address) filled in."""
        return self

    def calldata(self) -> bytes:
        """The calldata of this action's call."""
        return self.selector() + abi_encode(self.abi_types(), list(self.args()))

    @abstractmethod
    def summary(self) -> str:
        """One line a voter can read."""


class AllowDataset(KnownCall):
    """Allow a dataset its provider offered, or move a registered one to a newer offer.

    The action carries the provider's signed :class:`DatasetOffer`; the policy contract
    refuses it unless the signature is the provider's (EOA or EIP-1271).
    """

    kind: Literal["allow_dataset"] = "allow_dataset"
    offer: DatasetOffer
    provider_signature: BytesHex = Field(
        description="the provider's EIP-712 signature of the offer (65 bytes from an EOA, "
        "whatever its EIP-1271 wallet accepts from a contract)"
    )
    name: str | None = None

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = f"allowDataset({OFFER_ABI_TYPE},bytes)"

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.name is not None and dataset_id_of(self.name) != self.offer.dataset_id:
            raise ValueError(f"dataset_id is not keccak256 of the name {self.name!r}")
        if len(self.provider_signature) <= 2:
            raise ValueError("the offer has no signature")
        return self

    @classmethod
    def abi_types(cls) -> list[str]:
        return [OFFER_ABI_TYPE, "bytes"]

    @property
    def dataset_id(self) -> str:
        return self.offer.dataset_id

    @property
    def content_hash(self) -> str:
        return self.offer.content_hash

    @property
    def manifest_hash(self) -> str:
        return self.offer.manifest_hash

    @property
    def uri(self) -> str:
        return self.offer.uri

    @property
    def provider(self) -> str:
        return self.offer.provider

    def args(self) -> tuple[Any, ...]:
        return (self.offer.abi_tuple(), bytes.fromhex(self.provider_signature[2:]))

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        offer, signature = args
        return cls(
            offer=DatasetOffer.from_abi(offer), provider_signature="0x" + bytes(signature).hex()
        )

    def summary(self) -> str:
        label = f"{self.name} ({self.dataset_id})" if self.name else self.dataset_id
        offer = self.offer
        return (
            f"Allow dataset {label} offered by {offer.provider} with content hash "
            f"{offer.content_hash}, manifest hash {offer.manifest_hash}, records root "
            f"{offer.records_root}, licence {offer.licence or '(none)'}, uri {offer.uri}"
        )


class RevokeDataset(KnownCall):
    """Revoke an allowed dataset; its record stays on chain."""

    kind: Literal["revoke_dataset"] = "revoke_dataset"
    dataset_id: Hash32Hex

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "revokeDataset(bytes32)"

    def args(self) -> tuple[Any, ...]:
        return (bytes.fromhex(self.dataset_id[2:]),)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(dataset_id="0x" + args[0].hex())

    def summary(self) -> str:
        return f"Revoke dataset {self.dataset_id}"


class SetThreshold(KnownCall):
    """Bound a catalogue metric: ``upper`` means metric <= value, ``lower`` metric >= value.

    The value is signed: directional metrics take negative bounds
    (``statistical_parity_difference >= -0.1``). A bound outside the values the metric can
    take raises :class:`ThresholdOutOfRange` before anything is proposed.
    """

    kind: Literal["set_threshold"] = "set_threshold"
    metric: MetricName
    value: ThresholdValue
    direction: Direction

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "setThreshold(bytes32,int256,uint8)"

    @model_validator(mode="after")
    def _in_range(self) -> Self:
        check_bound(self.metric, self.value, self.direction)
        return self

    def args(self) -> tuple[Any, ...]:
        direction = DIRECTIONS.index(self.direction)
        return (metric_to_bytes32(self.metric), to_fixed(self.value), direction)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        metric, units, direction = args
        direction_name = DIRECTIONS[direction]
        return cls(
            metric=bytes32_to_text(metric), value=from_fixed(units), direction=direction_name
        )

    def summary(self) -> str:
        operator = "<=" if self.direction == "upper" else ">="
        return f"Set threshold {self.metric} {operator} {trim_decimal(self.value)}"


class ClearThreshold(KnownCall):
    """Remove the threshold on a metric."""

    kind: Literal["clear_threshold"] = "clear_threshold"
    metric: MetricName

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "clearThreshold(bytes32)"

    def args(self) -> tuple[Any, ...]:
        return (metric_to_bytes32(self.metric),)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(metric=bytes32_to_text(args[0]))

    def summary(self) -> str:
        return f"Clear threshold {self.metric}"


class SetMitigation(KnownCall):
    """Choose the bias mitigation: ``none``, or a Fairlearn strategy with its constraint."""

    kind: Literal["set_mitigation"] = "set_mitigation"
    strategy: Strategy
    constraint: str = ""

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "setMitigation(bytes32,bytes32)"

    @model_validator(mode="after")
    def _check(self) -> Self:
        allowed = CONSTRAINTS[self.strategy]
        if self.constraint not in allowed:
            raise InvalidMitigation(self.strategy, self.constraint, list(allowed))
        return self

    def args(self) -> tuple[Any, ...]:
        constraint = self.constraint.encode("ascii").ljust(32, b"\0")
        return (self.strategy.encode("ascii").ljust(32, b"\0"), constraint)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        strategy, constraint = (bytes32_to_text(a) for a in args)
        return cls.model_validate({"strategy": strategy, "constraint": constraint})

    def summary(self) -> str:
        if self.strategy == "none":
            return "Set mitigation none"
        return f"Set mitigation {self.strategy} with constraint {self.constraint}"


class _GovernorSetting(KnownCall):
    """A governor setting in one integer; the governor applies it to itself via the timelock."""

    contract: ClassVar[Contract] = "governor"
    unit_scale: ClassVar[int] = 1
    label: ClassVar[str]
    unit: ClassVar[str]

    @abstractmethod
    def number(self) -> int:
        """The setting's value in its display unit."""

    def args(self) -> tuple[Any, ...]:
        return (self.number() * self.unit_scale,)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        (raw,) = args
        if raw % cls.unit_scale:
            raise ValueError(f"{raw} is not a whole number of {cls.unit}")
        field = next(iter(cls.model_fields.keys() - {"kind"}))
        return cls.model_validate({field: raw // cls.unit_scale})

    def summary(self) -> str:
        return f"Set {self.label} to {self.number()}{self.unit}"


class SetVotingDelay(_GovernorSetting):
    """Blocks between a proposal and the start of its vote."""

    kind: Literal["set_voting_delay"] = "set_voting_delay"
    blocks: int = Field(ge=0, le=UINT48_MAX)

    signature: ClassVar[str] = "setVotingDelay(uint48)"
    label: ClassVar[str] = "voting delay"
    unit: ClassVar[str] = " blocks"

    def number(self) -> int:
        return self.blocks


class SetVotingPeriod(_GovernorSetting):
    """Blocks a vote lasts."""

    kind: Literal["set_voting_period"] = "set_voting_period"
    blocks: int = Field(ge=1, le=UINT32_MAX)

    signature: ClassVar[str] = "setVotingPeriod(uint32)"
    label: ClassVar[str] = "voting period"
    unit: ClassVar[str] = " blocks"

    def number(self) -> int:
        return self.blocks


class SetProposalThreshold(_GovernorSetting):
    """Votes, in whole tokens, an account needs to propose."""

    kind: Literal["set_proposal_threshold"] = "set_proposal_threshold"
    tokens: int = Field(ge=0, le=UINT256_MAX // 10**TOKEN_DECIMALS)

    signature: ClassVar[str] = "setProposalThreshold(uint256)"
    unit_scale: ClassVar[int] = 10**TOKEN_DECIMALS
    label: ClassVar[str] = "proposal threshold"
    unit: ClassVar[str] = " tokens"

    def number(self) -> int:
        return self.tokens


class UpdateQuorumNumerator(_GovernorSetting):
    """Quorum as a percentage of the token supply at the proposal's snapshot."""

    kind: Literal["update_quorum_numerator"] = "update_quorum_numerator"
    percent: int = Field(ge=0, le=100)

    signature: ClassVar[str] = "updateQuorumNumerator(uint256)"
    label: ClassVar[str] = "quorum"
    unit: ClassVar[str] = "% of the token supply"

    def number(self) -> int:
        return self.percent


class SetLateQuorumVoteExtension(_GovernorSetting):
    """Blocks a vote is extended by when quorum is reached late."""

    kind: Literal["set_late_quorum_vote_extension"] = "set_late_quorum_vote_extension"
    blocks: int = Field(ge=0, le=UINT48_MAX)

    signature: ClassVar[str] = "setLateQuorumVoteExtension(uint48)"
    label: ClassVar[str] = "late-quorum vote extension"
    unit: ClassVar[str] = " blocks"

    def number(self) -> int:
        return self.blocks


class _AuditorRole(KnownCall):
    contract: ClassVar[Contract] = "audit_registry"

    account: AddressHex

    def args(self) -> tuple[Any, ...]:
        return (AUDITOR_ROLE, self.account)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        role, account = args
        if role != AUDITOR_ROLE:
            raise ValueError("not the auditor role")
        return cls(account=account)


class GrantAuditor(_AuditorRole):
    """Let an account publish audits in the AuditRegistry."""

    kind: Literal["grant_auditor"] = "grant_auditor"
    signature: ClassVar[str] = "grantRole(bytes32,address)"

    def summary(self) -> str:
        return f"Grant the auditor role to {self.account}"


class RevokeAuditor(_AuditorRole):
    """Stop an account from publishing audits."""

    kind: Literal["revoke_auditor"] = "revoke_auditor"
    signature: ClassVar[str] = "revokeRole(bytes32,address)"

    def summary(self) -> str:
        return f"Revoke the auditor role from {self.account}"


class RawCall(BaseModel):
    """Any call that is not one of the actions above, shown as it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["raw_call"] = "raw_call"
    target: AddressHex
    value: int = Field(default=0, ge=0, le=UINT256_MAX)
    calldata: BytesHex = "0x"
    selector: BytesHex = ""

    @model_validator(mode="before")
    @classmethod
    def _fill_selector(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("selector"):
            return {**data, "selector": str(data.get("calldata", "0x"))[:10]}
        return data

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.selector != self.calldata[:10]:
            raise ValueError("selector is not the first four bytes of calldata")
        return self

    def summary(self) -> str:
        what = f"function {self.selector}" if len(self.selector) == 10 else "no function"
        return (
            f"Raw call to {self.target}: {what}, {len(self.calldata) // 2 - 1} bytes of "
            f"calldata, value {self.value} wei"
        )
