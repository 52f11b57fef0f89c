"""TrainingPolicy against a Python model, over random sequences of changes (hypothesis).

brownie 1.22's own `state_machine` cannot run a machine here: its compiled (mypyc) build
rejects the subclass it generates ("_BrownieStateMachine object expected"). This is a plain
hypothesis RuleBasedStateMachine, and each example gets a freshly deployed policy (cheaper
than brownie's chain.revert, which takes about a tenth of a second).
"""

from dataclasses import dataclass, field

from brownie import TrainingPolicy
from dao import ZERO_HASH, b32, read_many, sha256_hex, text_id
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from reverts import assert_custom_error

DATASETS = [text_id(name) for name in ("loans", "credit", "hiring")]
HASHES = [sha256_hex(name.encode()) for name in ("a", "b")]
METRICS = [
    b32(name)
    for name in ("demographic_parity_difference", "equalized_odds_ratio", "selection_rate")
]
STRATEGIES = [b32(name) for name in ("none", "threshold_optimizer", "exponentiated_gradient")]
CONSTRAINTS = [b32(name) for name in ("demographic_parity", "equalized_odds")]
NONE = b32("none")

# The zero hash is one choice among several, so most changes succeed and each error occurs.
dataset_ids = st.sampled_from([*DATASETS, ZERO_HASH])
hashes = st.sampled_from([*HASHES, *HASHES, ZERO_HASH])
uris = st.sampled_from(["ipfs://one", "https://data.example/two", ""])
metrics = st.sampled_from([*METRICS, ZERO_HASH])
values = st.integers(min_value=0, max_value=2 * 10**6)
directions = st.integers(min_value=0, max_value=1)
strategies = st.sampled_from(STRATEGIES)
constraints = st.sampled_from([*CONSTRAINTS, ZERO_HASH])
COUNT = b32("count")
DEFAULT_RULE = (950_000, 30, 10, 0)
# The default key, two metrics and count (which has no interval, so it is refused).
evidence_metrics = st.sampled_from([ZERO_HASH, *METRICS[:2], COUNT])
# Mostly valid, with both ends of (0.5, 1) and beyond them.
confidences = st.sampled_from([500_000, 500_001, 900_000, 950_000, 999_999, 1_000_000, 0])
sizes = st.integers(min_value=0, max_value=2**64 - 1)
on_inconclusive = st.integers(min_value=0, max_value=1)


@dataclass
class Model:
    """What the policy should hold. Metrics keep the contract's swap-and-pop order."""

    version: int = 0
    datasets: dict = field(default_factory=dict)  # id -> (content, manifest, uri, allowed)
    metrics: list = field(default_factory=list)
    thresholds: dict = field(default_factory=dict)  # metric -> (value, direction)
    mitigation: tuple = (NONE, ZERO_HASH)
    evidence_metrics: list = field(default_factory=list)  # overrides, swap-and-pop order
    evidence: dict = field(default_factory=lambda: {ZERO_HASH: DEFAULT_RULE})

    def clear(self, metric):
        position = self.metrics.index(metric)
        self.metrics[position] = self.metrics[-1]
        self.metrics.pop()
        del self.thresholds[metric]

    def clear_evidence(self, metric):
        position = self.evidence_metrics.index(metric)
        self.evidence_metrics[position] = self.evidence_metrics[-1]
        self.evidence_metrics.pop()
        del self.evidence[metric]

    def effective_rule(self, metric):
        return self.evidence.get(metric, self.evidence[ZERO_HASH])

    def allowed(self):
        return [i for i, record in self.datasets.items() if record[3]]


class PolicyMachine(RuleBasedStateMachine):
    def __init__(self, owner, stranger):
        super().__init__()
        self.owner = {"from": owner}
        self.policy = TrainingPolicy.deploy(owner, self.owner)
        self.stranger = stranger
        self.model = Model()

    def changed(self, tx, event):
        """A change succeeded: its event carries the next version."""
        self.model.version += 1
        assert tx.events[event]["policyVersion"] == self.model.version

    # ------------------------------------------------------------ rules

    # Bundles hold what earlier steps created, so revoke and clear often hit a real target.
    registered = Bundle("registered")
    with_threshold = Bundle("with_threshold")

    @rule(target=registered, dataset_id=dataset_ids, content=hashes, manifest=hashes, uri=uris)
    def allow(self, dataset_id, content, manifest, uri):
        def call():
            return self.policy.allowDataset(dataset_id, content, manifest, uri, self.owner)

        if ZERO_HASH in (dataset_id, content, manifest):
            assert_custom_error(call, "TrainingPolicyZeroHash()")
            return multiple()
        self.changed(call(), "DatasetAllowed")
        self.model.datasets[dataset_id] = (content, manifest, uri, True)
        return dataset_id

    @rule(dataset_id=registered)
    def revoke_registered(self, dataset_id):
        self.revoke(dataset_id)

    @rule(dataset_id=dataset_ids)
    def revoke_any(self, dataset_id):
        self.revoke(dataset_id)

    def revoke(self, dataset_id):
        def call():
            return self.policy.revokeDataset(dataset_id, self.owner)

        record = self.model.datasets.get(dataset_id)
        if record is None:
            assert_custom_error(call, "TrainingPolicyUnknownDataset(bytes32)", dataset_id)
        elif not record[3]:
            assert_custom_error(call, "TrainingPolicyDatasetNotAllowed(bytes32)", dataset_id)
        else:
            self.changed(call(), "DatasetRevoked")
            self.model.datasets[dataset_id] = (*record[:3], False)

    @rule(target=with_threshold, metric=metrics, value=values, direction=directions)
    def set_threshold(self, metric, value, direction):
        def call():
            return self.policy.setThreshold(metric, value, direction, self.owner)

        if metric == ZERO_HASH:
            assert_custom_error(call, "TrainingPolicyEmptyMetric()")
            return multiple()
        self.changed(call(), "ThresholdSet")
        if metric not in self.model.thresholds:
            self.model.metrics.append(metric)
        self.model.thresholds[metric] = (value, direction)
        return metric

    @rule(metric=with_threshold)
    def clear_set_threshold(self, metric):
        self.clear_threshold(metric)

    @rule(metric=metrics)
    def clear_any_threshold(self, metric):
        self.clear_threshold(metric)

    def clear_threshold(self, metric):
        def call():
            return self.policy.clearThreshold(metric, self.owner)

        if metric not in self.model.thresholds:
            assert_custom_error(call, "TrainingPolicyUnknownThreshold(bytes32)", metric)
            return
        self.changed(call(), "ThresholdCleared")
        self.model.clear(metric)

    @rule(strategy=strategies, constraint=constraints)
    def set_mitigation(self, strategy, constraint):
        def call():
            return self.policy.setMitigation(strategy, constraint, self.owner)

        if strategy != NONE and constraint == ZERO_HASH:
            assert_custom_error(call, "TrainingPolicyMissingConstraint(bytes32)", strategy)
            return
        if strategy == NONE and constraint != ZERO_HASH:
            assert_custom_error(call, "TrainingPolicyUnexpectedConstraint(bytes32)", constraint)
            return
        self.changed(call(), "MitigationSet")
        self.model.mitigation = (strategy, constraint)

    @rule(
        metric=evidence_metrics,
        confidence=confidences,
        min_group=sizes,
        min_denominator=sizes,
        when_inconclusive=on_inconclusive,
    )
    def set_evidence_rule(self, metric, confidence, min_group, min_denominator, when_inconclusive):
        rule = (confidence, min_group, min_denominator, when_inconclusive)

        def call():
            return self.policy.setEvidenceRule(metric, *rule, self.owner)

        if not 500_000 < confidence < 1_000_000:
            assert_custom_error(call, "TrainingPolicyInvalidConfidence(uint256)", confidence)
            return
        if metric == COUNT:
            assert_custom_error(call, "TrainingPolicyMetricHasNoInterval(bytes32)", COUNT)
            return
        self.changed(call(), "EvidenceRuleSet")
        if metric != ZERO_HASH and metric not in self.model.evidence:
            self.model.evidence_metrics.append(metric)
        self.model.evidence[metric] = rule

    @rule(metric=evidence_metrics)
    def clear_evidence_rule(self, metric):
        def call():
            return self.policy.clearEvidenceRule(metric, self.owner)

        if metric == ZERO_HASH:
            assert_custom_error(call, "TrainingPolicyCannotClearDefaultEvidenceRule()")
        elif metric not in self.model.evidence:
            assert_custom_error(call, "TrainingPolicyUnknownEvidenceRule(bytes32)", metric)
        else:
            self.changed(call(), "EvidenceRuleCleared")
            self.model.clear_evidence(metric)

    @rule(metric=metrics, value=values)
    def stranger_changes(self, metric, value):
        assert_custom_error(
            lambda: self.policy.setThreshold(metric, value, 0, {"from": self.stranger}),
            "OwnableUnauthorizedAccount(address)",
            self.stranger.address,
        )
        assert_custom_error(
            lambda: self.policy.setEvidenceRule(metric, 950_000, 1, 1, 0, {"from": self.stranger}),
            "OwnableUnauthorizedAccount(address)",
            self.stranger.address,
        )

    # ------------------------------------------------------------ invariant

    @invariant()
    def matches_model(self):
        """Version, enumerations, per-id getters and the model agree after every step."""
        model, p = self.model, self.policy
        known_datasets = [i for i in DATASETS if i in model.datasets]
        known_metrics = [m for m in METRICS if m in model.thresholds]
        calls = [
            (p.policyVersion,),
            (p.mitigation,),
            (p.datasetIds,),
            (p.allowedDatasetIds,),
            (p.thresholds,),
            *[(p.isAllowed, i) for i in DATASETS],
            *[(p.getDataset, i) for i in known_datasets],
            *[(p.hasThreshold, m) for m in METRICS],
            *[(p.getThreshold, m) for m in known_metrics],
        ]
        version, mitigation, ids, allowed_ids, (metrics_, values_, directions_), *rest = read_many(
            calls
        )
        is_allowed, rest = rest[: len(DATASETS)], rest[len(DATASETS) :]
        records, rest = rest[: len(known_datasets)], rest[len(known_datasets) :]
        has_threshold, threshold_records = rest[: len(METRICS)], rest[len(METRICS) :]

        assert version == model.version
        assert tuple(mitigation) == model.mitigation

        assert list(ids) == list(model.datasets)
        assert list(allowed_ids) == model.allowed()
        assert [tuple(r) for r in records] == [model.datasets[i] for i in known_datasets]
        assert list(is_allowed) == [i in model.allowed() for i in DATASETS]  # revoked: never

        assert list(metrics_) == model.metrics
        assert list(zip(values_, directions_, strict=True)) == [
            model.thresholds[m] for m in model.metrics
        ]
        assert list(has_threshold) == [m in model.thresholds for m in METRICS]
        assert [tuple(r) for r in threshold_records] == [model.thresholds[m] for m in known_metrics]

        keys = [ZERO_HASH, *METRICS]
        (rule_metrics, rules), *rest = read_many(
            [
                (p.evidenceRules,),
                *[(p.getEvidenceRule, m) for m in keys],
                *[(p.hasEvidenceRule, m) for m in keys],
            ]
        )
        effective, has_rule = rest[: len(keys)], rest[len(keys) :]
        expected_metrics = [ZERO_HASH, *model.evidence_metrics]
        assert list(rule_metrics) == expected_metrics
        assert [tuple(r) for r in rules] == [model.evidence[m] for m in expected_metrics]
        assert [tuple(r) for r in effective] == [model.effective_rule(m) for m in keys]
        assert list(has_rule) == [m != ZERO_HASH and m in model.evidence for m in keys]


def test_policy_matches_its_model(policy_owner, outsider):
    run_state_machine_as_test(
        lambda: PolicyMachine(policy_owner, outsider),
        # brownie-config.yaml's hypothesis profile, without its example database: with one,
        # hypothesis also spends a minute "optimising" passing examples (pareto front).
        settings=settings(database=None),
    )
