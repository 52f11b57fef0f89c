"""Datasets, models, audit runs, reports and their verification."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import EXAMPLE_HASH
from audit.db_models import (
    AuditRunRecord,
    DatasetManifestRecord,
    ModelStatus,
    ModelVersion,
    RunKind,
    RunStatus,
)
from audit.report_model import CheckView
from audit.verify import Verification
from bias_checks import Verdict


class ManifestPublic(BaseModel):
    """One registered dataset manifest and the action that asks the DAO to allow it."""

    id: int
    name: str
    version: str
    dataset_id: str
    manifest_hash: str
    content_hash: str
    manifest: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: DatasetManifestRecord) -> ManifestPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            version=row.version,
            dataset_id=row.dataset_id,
            manifest_hash=row.manifest_hash,
            content_hash=row.content_hash,
            manifest=json.loads(row.manifest_json),
            created_at=row.created_at,
        )


class ManifestsPublic(BaseModel):
    data: list[ManifestPublic]
    count: int


class DatasetPublic(BaseModel):
    """A dataset (all manifests with the same name, hence the same id), newest first."""

    dataset_id: str
    name: str
    manifests: list[ManifestPublic]


class ManifestCreated(BaseModel):
    """The stored manifest. Its provider signs an offer of it next
    (``POST /v1/providers/offers/prepare``): only an offer can be allowed."""

    manifest: ManifestPublic


class ModelPublic(BaseModel):
    """A trained model file and whether serving may use it."""

    model_config = ConfigDict(protected_namespaces=())

    id: int
    name: str
    model_hash: str
    status: ModelStatus = Field(description="candidate, approved or blocked")
    reason: str
    latest_run_id: str | None
    policy_version: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ModelVersion) -> ModelPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            name=row.name,
            model_hash=row.model_hash,
            status=ModelStatus(row.status),
            reason=row.reason,
            latest_run_id=row.latest_run_id,
            policy_version=row.policy_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int


class IntervalSummary(BaseModel):
    """The confidence interval a verdict was judged on (null ends: not finite)."""

    low: float | None
    high: float | None
    method: str = Field(description="How it was computed (docs/bias_checks.md).")
    confidence_level: float


class GroupSummary(BaseModel):
    """A group as a check saw it: its feature values (null: the whole population), its rows
    and its value of the metric."""

    group: dict[str, Any] | None
    count: int
    value: float | None


class EvidenceRuleSummary(BaseModel):
    """The evidence rule a check was judged under."""

    confidence_level: float
    min_group_size: int
    min_denominator: int
    on_inconclusive: str


class CheckSummary(BaseModel):
    """One fairness check of a report: the bound, the measured value, its interval, the pair
    of groups it rests on and its verdict: the evidence the verdict used, as the report's
    renderings show it. Groups the check did not judge (too few rows, or the rate undefined)
    are listed apart with their sizes."""

    metric: str
    direction: Literal["upper", "lower"]
    bound: float | None
    method: str = Field(description="between_groups, to_overall or to_reference.")
    agg: str | None = Field(description="worst_case or mean (equalized odds); else null.")
    value: float | None
    ci: IntervalSummary | None
    pair: list[GroupSummary] | None
    verdict: Verdict
    reason: str
    rows_needed: int | None = Field(
        description="About how many rows per group would decide an INCONCLUSIVE check."
    )
    unreliable_groups: list[GroupSummary]
    label: Any = Field(default=None, description="The class, in a multiclass audit.")
    control: dict[str, Any] | None = Field(default=None, description="The control level.")
    evidence_rule: EvidenceRuleSummary

    @classmethod
    def of(cls, check: CheckView) -> CheckSummary:
        threshold, ci, rule = check.threshold, check.ci, check.evidence_rule
        return cls.model_validate(
            {
                "metric": threshold.metric,
                "direction": threshold.direction,
                "bound": threshold.bound,
                "method": threshold.method,
                "agg": threshold.agg,
                "value": check.value,
                "ci": None
                if ci is None
                else {
                    "low": ci.low,
                    "high": ci.high,
                    "method": ci.method,
                    "confidence_level": rule.confidence_level,
                },
                "pair": None if check.pair is None else [g.model_dump() for g in check.pair],
                "verdict": check.verdict,
                "reason": check.reason,
                "rows_needed": check.rows_needed,
                "unreliable_groups": [g.model_dump() for g in check.unreliable_groups or []],
                "label": check.label,
                "control": check.control,
                "evidence_rule": rule.model_dump(mode="json"),
            }
        )


class AuditPublic(BaseModel):
    """An audit run's public summary: verdict, hashes, anchor and (when done) its checks."""

    model_config = ConfigDict(
        protected_namespaces=(),
        json_schema_extra={
            "examples": [
                {
                    "run_id": EXAMPLE_HASH,
                    "kind": "training_run",
                    "status": "completed",
                    "model_name": "loans-lr",
                    "dataset_name": "loans",
                    "dataset_id": EXAMPLE_HASH,
                    "verdict": "PASS",
                    "model_hash": EXAMPLE_HASH,
                    "report_hash": EXAMPLE_HASH,
                    "content_hash": EXAMPLE_HASH,
                    "policy_version": 3,
                    "policy_block": 120,
                    "policy_snapshot_hash": EXAMPLE_HASH,
                    "anchor_tx": EXAMPLE_HASH,
                    "anchor_block": 130,
                    "error_code": None,
                    "error": None,
                    "created_at": "2026-01-01T12:00:00Z",
                    "finished_at": "2026-01-01T12:00:09Z",
                    "checks": [],
                }
            ]
        },
    )

    run_id: str
    kind: RunKind
    status: RunStatus = Field(description="queued, running, completed, failed or refused")
    model_name: str
    dataset_name: str | None = None
    dataset_id: str | None = None
    verdict: Verdict | None = None
    model_hash: str | None = None
    report_hash: str | None = None
    content_hash: str | None = None
    policy_version: int | None = None
    policy_block: int | None = None
    policy_snapshot_hash: str | None = None
    anchor_tx: str | None = None
    anchor_block: int | None = None
    error_code: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    checks: list[CheckSummary] | None = None

    @classmethod
    def of(cls, row: AuditRunRecord, checks: list[CheckSummary] | None = None) -> AuditPublic:
        return cls(
            run_id=row.run_id,
            kind=RunKind(row.kind),
            status=RunStatus(row.status),
            model_name=row.model_name,
            dataset_name=row.dataset_name,
            dataset_id=row.dataset_id,
            verdict=None if row.verdict is None else Verdict(row.verdict),
            model_hash=row.model_hash,
            report_hash=row.report_hash,
            content_hash=row.content_hash,
            policy_version=row.policy_version,
            policy_block=row.policy_block,
            policy_snapshot_hash=row.policy_snapshot_hash,
            anchor_tx=row.anchor_tx,
            anchor_block=row.anchor_block,
            error_code=row.error_code,
            error=row.error,
            created_at=row.created_at,
            finished_at=row.finished_at,
            checks=checks,
        )


class AuditsPublic(BaseModel):
    data: list[AuditPublic]
    count: int


class AuditAccepted(BaseModel):
    """The run was accepted and runs in the background; poll GET /v1/audits/{run_id}."""

    run_id: str
    status: Literal["queued"] = "queued"


class RenderingPublic(BaseModel):
    """One rendering (HTML, CSV, PDF, model card) against the anchored report's rendering."""

    name: str
    status: Literal["ok", "mismatch", "missing"]
    sha256: str | None = None
    expected_sha256: str


class VerificationPublic(BaseModel):
    """The stored report's hash, recomputed, against the one anchored on chain for the run
    in the URL; and each rendering against the rendering of that report."""

    status: Literal[
        "verified",
        "run_mismatch",
        "hash_mismatch",
        "not_anchored",
        "verdict_mismatch",
        "rendering_mismatch",
    ]
    ok: bool
    run_id: str
    report_hash: str
    anchored_hash: str | None = None
    verdict: Verdict | None = None
    anchored_passed: bool | None = None
    policy_version: int | None = None
    block_number: int | None = None
    auditor: str | None = None
    renderings: list[RenderingPublic] = Field(
        default_factory=list, description="checked only once report.json is verified"
    )
    registry: str
    chain_id: int

    @classmethod
    def of(cls, v: Verification, *, registry: str, chain_id: int) -> VerificationPublic:
        return cls(
            status=v.status,
            ok=v.ok,
            run_id=v.run_id,
            report_hash=v.report_hash,
            anchored_hash=v.anchored_hash,
            verdict=v.verdict,
            anchored_passed=v.anchored_passed,
            policy_version=v.policy_version,
            block_number=v.block_number,
            auditor=v.auditor,
            renderings=[
                RenderingPublic(
                    name=c.name, status=c.status, sha256=c.sha256, expected_sha256=c.expected_sha256
                )
                for c in v.renderings
            ],
            registry=registry,
            chain_id=chain_id,
        )
