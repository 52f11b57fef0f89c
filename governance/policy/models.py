"""The policy snapshot's shape: the whole TrainingPolicy at one block, and lookups in it.

Read from the chain's state by :mod:`governance.policy.snapshot`, or rebuilt from events by
:mod:`governance.policy.history`; both build these models, so neither imports the other's
reader.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.canonical import canonical_json, sha256_hex
from core.types import Hash32
from governance.actions import (
    AGGREGATIONS,
    Aggregation,
    DatasetOffer,
    Direction,
    OnInconclusive,
    SetFederationPolicy,
    from_fixed,
)

__all__ = [
    "Aggregation",
    "DatasetEntry",
    "EvidenceRuleEntry",
    "FederationPolicy",
    "Mitigation",
    "PolicySnapshot",
    "ThresholdEntry",
    "allowed_dataset",
    "evidence_rule_for",
]


class DatasetEntry(BaseModel):
    """One registered dataset, allowed or not, with its provider's consent.

    ``consented_at`` is the ``issuedAt`` of the offer the DAO accepted. ``withdrawn`` is true
    when the provider withdrew consent after it (``allowed`` is then false); a dataset the DAO
    revoked by vote is not allowed but not withdrawn.
    """

    model_config = ConfigDict(frozen=True)

    dataset_id: str
    content_hash: str
    manifest_hash: str
    records_root: str
    uri: str
    licence: str
    terms_hash: str
    provider: str
    consented_at: int
    allowed: bool
    withdrawn: bool = False

    @classmethod
    def from_offer(cls, offer: DatasetOffer) -> DatasetEntry:
        """The entry of a dataset just allowed under ``offer``."""
        return cls(
            dataset_id=offer.dataset_id,
            content_hash=offer.content_hash,
            manifest_hash=offer.manifest_hash,
            records_root=offer.records_root,
            uri=offer.uri,
            licence=offer.licence,
            terms_hash=offer.terms_hash,
            provider=offer.provider,
            consented_at=offer.issued_at,
            allowed=True,
        )


class ThresholdEntry(BaseModel):
    """The bound on one metric; ``value`` is a decimal string with six decimals."""

    model_config = ConfigDict(frozen=True)

    metric: str
    value: str
    direction: Direction

    @property
    def decimal(self) -> Decimal:
        """``value`` as a :class:`~decimal.Decimal`."""
        return Decimal(self.value)


class EvidenceRuleEntry(BaseModel):
    """How strong the evidence must be: the default rule (``metric`` None) or an override.

    ``confidence_level`` is a decimal string with six decimals, like threshold values.
    """

    model_config = ConfigDict(frozen=True)

    metric: str | None = None
    confidence_level: str
    min_group_size: int
    min_denominator: int
    on_inconclusive: OnInconclusive


class Mitigation(BaseModel):
    """The bias mitigation strategy and its constraint (``""`` with ``none``)."""

    model_config = ConfigDict(frozen=True)

    strategy: str
    constraint: str


class FederationPolicy(BaseModel):
    """The voted rules of federated training and auditing (#16).

    ``aggregation`` is the Flower strategy that combines the nodes' model updates.
    ``trim_beta`` is FedTrimmedAvg's fraction cut from each end (a decimal string with six
    decimals, in (0, 0.5); kept with every strategy, read only by FedTrimmedAvg); ``krum_f`` is
    the number of poisoned updates Krum tolerates (0 with any other strategy); ``epsilon`` is
    the differential-privacy budget each node spends on its audit counts (a decimal string with
    six decimals; None means no noise); ``min_nodes`` is the fewest accepted nodes a run may
    proceed with (Krum needs at least ``2 * krum_f + 3``). The defaults are the contract's.
    """

    model_config = ConfigDict(frozen=True)

    aggregation: Aggregation = Aggregation.FEDAVG
    trim_beta: str = "0.200000"
    krum_f: int = Field(default=0, ge=0)
    epsilon: str | None = None
    min_nodes: int = Field(default=2, ge=1)

    @field_validator("trim_beta")
    @classmethod
    def _beta(cls, value: str) -> str:
        if not Decimal(0) < Decimal(value) < Decimal("0.5"):
            raise ValueError(f"trim_beta {value} is not strictly between 0 and 0.5")
        return value

    @field_validator("epsilon")
    @classmethod
    def _epsilon(cls, value: str | None) -> str | None:
        if value is not None and not Decimal(value) > 0:
            raise ValueError(f"epsilon {value} is not positive (None means no noise)")
        return value

    @classmethod
    def from_chain(
        cls, aggregation: int, trim_beta: int, krum_f: int, epsilon: int, min_nodes: int
    ) -> FederationPolicy:
        """From the contract's ``FederationPolicy`` (getter or event): fixed point, 0 = no noise."""
        return cls(
            aggregation=AGGREGATIONS[aggregation],
            trim_beta=str(from_fixed(trim_beta)),
            krum_f=krum_f,
            epsilon=None if epsilon == 0 else str(from_fixed(epsilon)),
            min_nodes=min_nodes,
        )

    @classmethod
    def from_action(cls, action: SetFederationPolicy) -> FederationPolicy:
        """The policy ``action`` stores once it executes."""
        return cls.from_chain(*action.args()[0])

    @property
    def trim_beta_value(self) -> Decimal:
        """``trim_beta`` as a :class:`~decimal.Decimal`."""
        return Decimal(self.trim_beta)

    @property
    def epsilon_value(self) -> Decimal | None:
        """``epsilon`` as a :class:`~decimal.Decimal`; None: counts travel without noise."""
        return None if self.epsilon is None else Decimal(self.epsilon)


class PolicySnapshot(BaseModel):
    """The TrainingPolicy at one block: datasets sorted by id, thresholds by metric name.

    Schema 4 added ``federation`` (#16); schema 3 each dataset's consent, schema 2 the
    evidence rules.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[4] = 4
    chain_id: int
    policy: str
    block_number: int
    block_hash: str
    policy_version: int
    datasets: tuple[DatasetEntry, ...] = Field(default=())
    thresholds: tuple[ThresholdEntry, ...] = Field(default=())
    mitigation: Mitigation
    evidence: EvidenceRuleEntry = Field(description="the default evidence rule")
    evidence_overrides: tuple[EvidenceRuleEntry, ...] = Field(
        default=(), description="metrics with their own rule, sorted by metric"
    )
    federation: FederationPolicy = Field(
        default_factory=FederationPolicy,
        description="how federated runs aggregate, their privacy budget and fewest nodes "
        "(readers always take it from the chain; the default is the contract's)",
    )

    def canonical_json(self) -> bytes:
        """The snapshot as canonical JSON (:func:`core.canonical.canonical_json`): sorted
        keys, UTF-8, no whitespace; it holds no floats."""
        return canonical_json(self.model_dump(mode="json"))

    @property
    def hash(self) -> Hash32:
        """sha256 of :meth:`canonical_json`, 0x-prefixed hex."""
        return sha256_hex(self.canonical_json())


def allowed_dataset(snapshot: PolicySnapshot, dataset_id: str) -> DatasetEntry | None:
    """The dataset with ``dataset_id`` if the snapshot allows it, else None."""
    wanted = dataset_id.lower()
    for dataset in snapshot.datasets:
        if dataset.dataset_id == wanted and dataset.allowed:
            return dataset
    return None


def evidence_rule_for(snapshot: PolicySnapshot, metric: str) -> EvidenceRuleEntry:
    """The evidence rule that judges ``metric``: its override, else the default rule."""
    return next((r for r in snapshot.evidence_overrides if r.metric == metric), snapshot.evidence)
