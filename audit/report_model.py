"""The typed read view of an audit report: what renderers, routes and the CLI read.

A report's bytes are canonical JSON and their sha256 is anchored on chain, so the JSON stays
the source of truth: :class:`ReportModel` is parsed from it (:meth:`ReportModel.parse`) and
never written instead of it. Its fields keep each JSON value's exact type (an integer stays
an integer, ``"NaN"`` stays a string), so :meth:`ReportModel.to_jsonable` gives back the same
canonical bytes; a test proves that on stored fixture reports.

The provenance blocks (:class:`ModelInfo`, :class:`DatasetInfo`, :class:`PolicyInfo`) are
also what :func:`audit.report.build_report` takes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    SerializerFunctionWrapHandler,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_serializer,
)

from audit.db_models import RunKind
from bias_checks import OnInconclusive, Verdict

#: A JSON number as the report writes it: an integer, a float, or ``"NaN"``/``"Infinity"``.
Number = StrictInt | StrictFloat | StrictStr
#: A group or control level: ``{feature: value}``.
GroupKey = dict[str, Any]


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExternalModelInfo(_View):
    """What fairgov verified, and could not, about an external model it scored (#17).

    ``kind`` is ``external_onnx``; ``producer`` is the exporter the file names (unverified);
    ``inputs`` are the columns the model was given, in order; ``output`` how its scores were
    read; ``predictions`` whether its label output or ``cutoff`` made the predictions.
    """

    kind: Literal["external_onnx"] = "external_onnx"
    producer: str
    signature: str
    opsets: dict[str, StrictInt]
    inputs: list[str]
    output: str
    predictions: str
    cutoff: Number | None = None
    scored_rows: StrictInt
    verified: list[str]
    not_verified: list[str]


class ModelInfo(_View):
    """The audited model: its name, skops file hash, estimator, mitigation and spec; for an
    external model, also what was verified about it (``external``, absent otherwise)."""

    name: str
    hash: str | None = None
    estimator: str | None = None
    mitigation: str | None = None
    spec: dict[str, Any] | None = None
    external: ExternalModelInfo | None = None

    @model_serializer(mode="wrap")
    def _omit_absent_external(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("external") is None:
            data.pop("external", None)
        return data


class DatasetPart(_View):
    """One of several datasets a model trained on, in the spec's order."""

    name: str
    dataset_id: str
    content_hash: str
    manifest_hash: str
    rows: StrictInt


class DatasetInfo(_View):
    """The audited data: its content hash and, for registered datasets, id and manifest hash.

    When a spec names several datasets, ``datasets`` lists each one; ``name`` joins their
    names, ``dataset_id`` and ``content_hash`` are :func:`audit.plan.combined` of theirs,
    ``manifest_hash`` is None and ``rows`` is the total. ``datasets`` is absent otherwise,
    so single-dataset reports are unchanged.
    """

    name: str
    dataset_id: str | None = None
    content_hash: str
    manifest_hash: str | None = None
    rows: StrictInt
    label: str
    positive_label: str | None = None
    sensitive_features: list[str]
    datasets: list[DatasetPart] | None = None

    @property
    def parts(self) -> list[DatasetPart]:
        """Each registered dataset the model trained on, in order: ``datasets``, or this
        block itself for one (none for a predictions audit, which names no registered one).

        Examples
        --------
        >>> [(p.dataset_id, p.rows) for p in report.model.dataset.parts]  # doctest: +SKIP
        [('0x…', 3000), ('0x…', 3000)]
        """
        if self.datasets is not None:
            return list(self.datasets)
        if self.dataset_id is None or self.manifest_hash is None:
            return []
        return [
            DatasetPart(
                name=self.name,
                dataset_id=self.dataset_id,
                content_hash=self.content_hash,
                manifest_hash=self.manifest_hash,
                rows=self.rows,
            )
        ]

    @model_serializer(mode="wrap")
    def _omit_absent_parts(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("datasets") is None:
            data.pop("datasets", None)
        return data


class WithdrawalInfo(_View):
    """A dataset a model trained on that lost its consent: withdrawn by its provider on
    chain, or revoked by a vote, at one block and policy version."""

    dataset: str
    dataset_id: str
    by: Literal["provider", "vote"]
    provider: str | None
    block_number: StrictInt
    policy_version: StrictInt
    tx_hash: str


class RetrainingInfo(_View):
    """Why a training run exists: it replaces a model trained on data since withdrawn, and
    trains on the datasets that remain (``remaining``, in the spec's order)."""

    replaces_run_id: str
    replaces_model_hash: str
    withdrawn: list[WithdrawalInfo]
    remaining: list[str]


class FederatedNodeInfo(_View):
    """A node whose model updates and counts a federated run used (#16)."""

    node_id: StrictInt
    provider: str
    dataset_id: str
    content_hash: str
    train_rows: StrictInt
    heldout_rows: StrictInt
    bytes_sent: StrictInt


class NodeRefusalInfo(_View):
    """A node a federated run left out, with the code and reason."""

    node_id: StrictInt
    dataset_id: str | None
    code: str
    message: str


class RoundInfo(_View):
    """One training round: the nodes whose updates the voted strategy aggregated."""

    round: StrictInt
    node_ids: list[StrictInt]


class FederationInfo(_View):
    """How a federated run trained and audited: the voted strategy and privacy budget, the
    nodes whose counts the audit sums (exactly these), those refused, and each round.
    ``epsilon`` None means the counts are exact, and so is the audit."""

    aggregation: str
    trim_beta: str
    krum_f: StrictInt
    epsilon: str | None
    min_nodes: StrictInt
    nodes: list[FederatedNodeInfo]
    refused: list[NodeRefusalInfo]
    rounds: list[RoundInfo]


class PolicyInfo(_View):
    """The TrainingPolicy snapshot an audit run froze when it started."""

    chain_id: StrictInt
    policy_address: str
    version: StrictInt
    block_number: StrictInt
    block_hash: str
    snapshot_hash: str
    mitigation_strategy: str
    mitigation_constraint: str


class IntervalView(_View):
    low: Number
    high: Number
    method: str


class EvidenceRuleView(_View):
    confidence_level: Number
    min_group_size: StrictInt
    min_denominator: StrictInt
    on_inconclusive: OnInconclusive


class ThresholdView(_View):
    metric: str
    bound: Number
    direction: Literal["upper", "lower"]
    method: str = "between_groups"
    agg: str | None = None
    features: list[str] | None = None
    evidence: EvidenceRuleView | None = None


class GroupRefView(_View):
    """One side of a compared pair: the group (None: everyone), its rows and its value."""

    group: GroupKey | None
    count: StrictInt
    value: Number


class CheckView(_View):
    """One threshold and its three-way verdict, with the evidence it was judged on."""

    threshold: ThresholdView
    verdict: Verdict
    reason: str
    value: Number | None = None
    ci: IntervalView | None = None
    label: Any = None
    control: GroupKey | None = None
    pair: list[GroupRefView] | None = None
    unreliable_groups: list[GroupRefView] | None = None
    value_all_groups: Number | None = None
    n_judged_groups: StrictInt | None = None
    rows_needed: StrictInt | None = None
    evidence_rule: EvidenceRuleView


class DisparityView(_View):
    metric: str
    method: str
    agg: str | None
    grouping: list[str]
    label: Any
    control: GroupKey | None
    value: Number
    pair: list[GroupRefView]
    judged_value: Number
    ci: IntervalView | None
    judged_pair: list[GroupRefView] | None
    reference: GroupKey | None
    unreliable_groups: list[GroupRefView]
    judgeable: StrictBool


class GroupSizeView(_View):
    grouping: list[str]
    control: GroupKey | None
    group: GroupKey
    count: StrictInt
    weight: Number
    true_label_counts: list[list[Any]]
    predicted_label_counts: list[list[Any]]
    small: StrictBool


class GroupMetricView(_View):
    metric: str
    label: Any
    grouping: list[str]
    control: GroupKey | None
    group: GroupKey
    value: Number
    ci: IntervalView | None
    defined: StrictBool
    reliable: StrictBool


class OverallMetricView(_View):
    metric: str
    label: Any
    control: GroupKey | None
    value: Number
    ci: IntervalView | None


class WarningView(_View):
    code: str
    message: str
    details: dict[str, Any] = {}


class CustomMetricView(_View):
    metric: str
    by_group: list[dict[str, Any]]
    overall: list[dict[str, Any]]
    disparities: list[dict[str, Any]]
    undefined: list[dict[str, Any]] = []


class GroupSweepView(_View):
    group: GroupKey
    count: StrictInt
    selection_rate: list[Number]
    true_positive_rate: list[Number]
    false_positive_rate: list[Number]


class CutoffSweepView(_View):
    """Each group's rates across cutoffs on the scores (``bias_checks.CutoffSweep``)."""

    grouping: list[str]
    cutoffs: list[Number]
    groups: list[GroupSweepView]


class AuditView(_View):
    """What :func:`bias_checks.audit_predictions` found (its ``to_dict`` form)."""

    schema_version: str
    task: str
    classes: list[Any]
    pos_label: Any
    n_rows: StrictInt
    total_weight: Number
    weighted: StrictBool
    sensitive_features: list[str]
    control_features: list[str]
    config: dict[str, Any]
    evidence_rule: EvidenceRuleView
    groups: list[GroupSizeView]
    overall: list[OverallMetricView]
    metrics: list[GroupMetricView]
    disparities: list[DisparityView]
    checks: list[CheckView]
    verdict: Verdict
    warnings: list[WarningView]
    custom_metrics: list[CustomMetricView] = []
    cutoff_sweep: CutoffSweepView | None = None


class ImpactRowView(_View):
    """One category of an LL144 table (see :class:`bias_checks.ImpactRow`)."""

    grouping: list[str]
    category: GroupKey
    applicants: StrictInt
    selected: StrictInt
    rate: Number
    impact_ratio: Number | None
    excluded: StrictBool


class UnknownCountView(_View):
    """Applicants left out of one LL144 grouping: a feature's value is an unknown category."""

    grouping: list[str]
    applicants: StrictInt
    selected: StrictInt


class LL144View(_View):
    """The NYC Local Law 144 summary table of the ``ll144`` preset."""

    rate_kind: Literal["selection", "scoring"]
    applicants: StrictInt
    min_share: Number
    rows: list[ImpactRowView]
    unknown: list[UnknownCountView] = []


class ReportModel(_View):
    """An audit report, typed.

    Examples
    --------
    >>> model = report.model  # a Report's typed view  # doctest: +SKIP
    >>> [c.threshold.metric for c in model.audit.checks]  # doctest: +SKIP
    ['demographic_parity_difference']
    >>> canonical_json(model.to_jsonable()) == report.canonical_bytes()  # doctest: +SKIP
    True
    """

    schema_version: str
    kind: RunKind
    run_id: str
    model: ModelInfo | None
    dataset: DatasetInfo
    policy: PolicyInfo | None
    environment: dict[str, str]
    seeds: dict[str, StrictInt]
    audit: AuditView
    verdict: Verdict
    warnings: list[str]
    retraining: RetrainingInfo | None = None
    federation: FederationInfo | None = None
    ll144: LL144View | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ReportModel:
        """Parse report content (the JSON object of report.json)."""
        return cls.model_validate(data)

    def to_jsonable(self) -> dict[str, Any]:
        """The report content as plain JSON data, exactly as it was parsed."""
        return self.model_dump(mode="python", exclude_unset=True)
