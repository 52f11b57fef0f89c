"""Health, governance parameters and the effective policy."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import EXAMPLE_ADDRESS
from governance.policy.snapshot import (
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    ThresholdEntry,
)


class ChainHealth(BaseModel):
    status: Literal["ok", "unreachable"]
    block: int | None = None


class DatabaseHealth(BaseModel):
    status: Literal["ok", "error"]


class SchedulerHealth(BaseModel):
    status: Literal["ok", "stale", "unknown"] = Field(
        description="ok when a scheduler job finished lately; stale when the last one finished "
        "longer ago than the jobs' interval allows (no scheduler runs: nothing syncs the chain "
        "or relays ballots; the health is then degraded); unknown when none ever reported"
    )
    last_heartbeat: datetime | None = None


class IndexHealth(BaseModel):
    block: int | None = Field(default=None, description="last indexed block, None before sync")


class HealthPublic(BaseModel):
    """The service's parts. ``status`` is ok when the chain and the database answer and no
    relay item is stuck; ``reasons`` says why it is degraded otherwise."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "chain": {"status": "ok", "block": 1234},
                    "database": {"status": "ok"},
                    "scheduler": {"status": "unknown", "last_heartbeat": None},
                    "index": {"block": 1230},
                    "relay_queue": 0,
                    "reasons": [],
                }
            ]
        }
    )

    status: Literal["ok", "degraded"]
    chain: ChainHealth
    database: DatabaseHealth
    scheduler: SchedulerHealth
    index: IndexHealth
    relay_queue: int | None = Field(default=None, description="messages waiting to be relayed")
    reasons: list[str] = Field(
        default_factory=list, description="why the status is degraded, one line each"
    )


class AddressesPublic(BaseModel):
    """Every contract of the deployment, as ``deployment.json`` and ``run.json`` name them."""

    token: str
    timelock: str
    governor: str
    training_policy: str
    audit_registry: str
    classifier: str = Field(description="PolicyChangeClassifier: which changes loosen")
    rewards: str = Field(description="ProviderRewards: the data providers' reward epochs")


class VotingParameters(BaseModel):
    """The governor's settings now (they change only by executed proposals)."""

    voting_delay: int = Field(description="blocks between proposing and voting")
    voting_period: int = Field(description="blocks the vote lasts")
    proposal_threshold: str = Field(description="votes (wei units) needed to propose")
    quorum_numerator: int = Field(description="percent of the supply at the snapshot")
    late_quorum_vote_extension: int = Field(description="blocks added when quorum comes late")
    timelock_delay: int = Field(description="seconds between queueing and execution")


class GovernancePublic(BaseModel):
    """Where the DAO lives and how it votes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "chain_id": 31337,
                    "block": 1234,
                    "governor_name": "FairnessGovernor",
                    "token_name": "Fairgov Governance Token",
                    "token_symbol": "FAIR",
                    "addresses": {
                        "token": EXAMPLE_ADDRESS,
                        "timelock": EXAMPLE_ADDRESS,
                        "governor": EXAMPLE_ADDRESS,
                        "training_policy": EXAMPLE_ADDRESS,
                        "audit_registry": EXAMPLE_ADDRESS,
                        "classifier": EXAMPLE_ADDRESS,
                        "rewards": EXAMPLE_ADDRESS,
                    },
                    "voting": {
                        "voting_delay": 1,
                        "voting_period": 30,
                        "proposal_threshold": "0",
                        "quorum_numerator": 4,
                        "late_quorum_vote_extension": 5,
                        "timelock_delay": 10,
                    },
                    "policy_version": 3,
                    "indexed_block": 1230,
                }
            ]
        }
    )

    chain_id: int
    block: int
    governor_name: str
    token_name: str
    token_symbol: str
    addresses: AddressesPublic
    voting: VotingParameters
    policy_version: int
    indexed_block: int | None = None


class PolicyPublic(BaseModel):
    """The TrainingPolicy at one block, and the sha256 of its canonical JSON."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "hash": "0x" + "3b" * 32,
                    "chain_id": 31337,
                    "policy": EXAMPLE_ADDRESS,
                    "block_number": 1234,
                    "block_hash": "0x" + "ab" * 32,
                    "policy_version": 3,
                    "datasets": [],
                    "thresholds": [
                        {
                            "metric": "demographic_parity_difference",
                            "value": "0.1",
                            "direction": "upper",
                        }
                    ],
                    "mitigation": {"strategy": "none", "constraint": ""},
                    "evidence": {
                        "metric": None,
                        "confidence_level": "0.950000",
                        "min_group_size": 30,
                        "min_denominator": 10,
                        "on_inconclusive": "block",
                    },
                    "evidence_overrides": [],
                    "federation": {
                        "aggregation": "fedavg",
                        "trim_beta": "0.200000",
                        "krum_f": 0,
                        "epsilon": None,
                        "min_nodes": 2,
                    },
                }
            ]
        }
    )

    hash: str
    chain_id: int
    policy: str
    block_number: int
    block_hash: str
    policy_version: int
    datasets: list[DatasetEntry]
    thresholds: list[ThresholdEntry]
    mitigation: Mitigation
    evidence: EvidenceRuleEntry = Field(
        description="the default evidence rule: confidence of every interval, the minimum "
        "group size and rate denominator, and what INCONCLUSIVE does at the gate"
    )
    evidence_overrides: list[EvidenceRuleEntry] = Field(
        description="metrics judged by their own evidence rule, sorted by metric"
    )
    federation: FederationPolicy = Field(
        description="federated runs: the aggregation strategy (and its beta or f), the "
        "privacy budget epsilon of each node's audit counts (null: no noise), the fewest nodes"
    )
