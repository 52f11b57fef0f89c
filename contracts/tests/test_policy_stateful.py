"""TrainingPolicy against a Python model, over random sequences of changes (hypothesis).

Datasets are allowed through their providers' signed offers, and providers (or anyone) withdraw
between the DAO's changes, directly or by signature. Every transaction's block time is set, so
the model knows each "now"; the invariant checks the consent property on its own: a dataset is
never allowed under an offer issued at or before a withdrawal by its provider, nor one dated
after the block that accepted it.

brownie 1.22's own `state_machine` cannot run a machine here: its compiled (mypyc) build
rejects the subclass it generates ("_BrownieStateMachine object expected"). This is a plain
hypothesis RuleBasedStateMachine, and each example gets a freshly deployed policy (cheaper
than brownie's chain.revert, which takes about a tenth of a second).
"""

from brownie import TrainingPolicy
from consent import Provider, next_block_at
from dao import ZERO_HASH, b32, latest_time, offer, read_many, text_id
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
from policy_state import NONE, Model
from reverts import assert_custom_error
from signing import Signer

NAMES = ["loans", "credit", "hiring"]
DATASETS = [text_id(name) for name in NAMES]
METRICS = [
    b32(name)
    for name in ("demographic_parity_difference", "equalized_odds_ratio", "selection_rate")
]
STRATEGIES = [b32(name) for name in ("none", "threshold_optimizer", "exponentiated_gradient")]
CONSTRAINTS = [b32(name) for name in ("demographic_parity", "equalized_odds")]

# The zero hash is one choice among several, so most changes succeed and each error occurs.
dataset_ids = st.sampled_from([*DATASETS, ZERO_HASH])
# An offer: which dataset, by whom (an index into the machine's providers), which contents.
names = st.sampled_from(NAMES)
provider_indexes = st.integers(min_value=0, max_value=2)
offer_versions = st.integers(min_value=1, max_value=3)
# issuedAt - now: old, a second ago, this very second (a tie with a withdrawal), the future.
offer_ages = st.sampled_from([-100, -1, -1, 0, 0, 0, 5])
withdrawal_ages = st.sampled_from([-100, -1, 0, 0, 0, 5])
consent_ages = st.sampled_from([-1, 0, 0, 1, 100])  # a signed withdrawal's, from the consent
zero_fields = st.sampled_from([None] * 21 + ["dataset_id", "content_hash", "records_root"])
# Who withdraws a registered dataset: mostly its own provider (None), sometimes another one.
withdrawers = st.sampled_from([None, None, None, 0, 1, 2])
rare = st.sampled_from([False] * 7 + [True])
waits = st.sampled_from([1, 2, 50, 200])
metrics = st.sampled_from([*METRICS, ZERO_HASH])
# Signed fixed point: directional metrics take negative bounds; the int256 ends must round-trip.
values = st.one_of(
    st.integers(min_value=-2 * 10**6, max_value=2 * 10**6),
    st.sampled_from([-(2**255), -1, 2**255 - 1]),
)
directions = st.integers(min_value=0, max_value=1)
strategies = st.sampled_from(STRATEGIES)
constraints = st.sampled_from([*CONSTRAINTS, ZERO_HASH])
COUNT = b32("count")
# The default key, two metrics and count (which has no interval, so it is refused).
evidence_metrics = st.sampled_from([ZERO_HASH, *METRICS[:2], COUNT])
# Mostly valid, with both ends of (0.5, 1) and beyond them.
confidences = st.sampled_from([500_000, 500_001, 900_000, 950_000, 999_999, 1_000_000, 0])
sizes = st.integers(min_value=0, max_value=2**64 - 1)
on_inconclusive = st.integers(min_value=0, max_value=1)
# A federation policy (#16): each part mostly valid, with both ends of its range and beyond.
federations = st.tuples(
    st.integers(min_value=0, max_value=3),
    st.sampled_from([0, 1, 200_000, 499_999, 500_000, 2**64 - 1]),
    st.sampled_from([0, 0, 1, 2, 2**32 - 1]),
    st.sampled_from([0, 1, 1_000_000, 2**64 - 1]),
    st.sampled_from([0, 1, 2, 4, 5, 7, 2**32 - 1]),
)


class PolicyMachine(RuleBasedStateMachine):
    def __init__(self, owner, stranger, providers):
        super().__init__()
        self.owner = {"from": owner}
        self.policy = TrainingPolicy.deploy(owner, self.owner)
        self.stranger = stranger
        self.providers = providers
        self.forger = Signer.named("forger")
        self.now = latest_time()
        self.model = Model()

    def changed(self, tx, event):
        """A change succeeded: its event carries the next version."""
        self.model.version += 1
        assert tx.events[event]["policyVersion"] == self.model.version

    def tick(self):
        """The time of the next transaction's block, one second or more after the last."""
        self.now = max(self.now, latest_time()) + 1
        next_block_at(self.now)
        return self.now

    # ------------------------------------------------------------ rules

    # Bundles hold what earlier steps created, so revoke and clear often hit a real target.
    registered = Bundle("registered")
    with_threshold = Bundle("with_threshold")

    @rule(seconds=waits)
    def wait(self, seconds):
        self.now += seconds

    @rule(
        target=registered,
        name=names,
        who=provider_indexes,
        version=offer_versions,
        age=offer_ages,
        zero=zero_fields,
        expired=rare,
        forged=rare,
    )
    def allow(self, name, who, version, age, zero, expired, forged):
        return self.offer(name, self.providers[who], version, age, zero, expired, forged)

    def provider_of(self, dataset_id):
        address = self.model.datasets[dataset_id][0].provider
        return next(p for p in self.providers if p.address == address)

    def offer(
        self, name, provider, version, age, zero=None, expired=False, forged=False, issued_at=None
    ):
        now = self.tick()
        issued_at = now + age if issued_at is None else issued_at
        made = offer(name, provider.address, version=version, issued_at=issued_at)
        made = made.replace(deadline=now - 1 if expired else now + 1000)
        if zero is not None:
            made = made.replace(**{zero: ZERO_HASH})
        signer = Provider(self.forger, None) if forged else provider
        signature = signer.sign(self.policy, made)

        def call():
            return self.policy.allowDataset(made.args(), signature, self.owner)

        error = self.model.offer_error(made, now, forged=forged)
        if error is not None:
            assert_custom_error(call, error[0], *error[1])
            return multiple()
        self.changed(call(), "DatasetAllowed")
        self.model.datasets[made.dataset_id] = (made, True)
        return made.dataset_id

    @rule(dataset_id=registered, version=offer_versions, age=offer_ages)
    def reoffer(self, dataset_id, version, age):
        """The recorded provider offers its dataset again: newer, a replay, or cancelled."""
        self.offer(NAMES[DATASETS.index(dataset_id)], self.provider_of(dataset_id), version, age)

    @rule(dataset_id=registered, who=withdrawers, by_signature=st.booleans(), age=consent_ages)
    def withdraw_registered(self, dataset_id, who, by_signature, age):
        """A withdrawal sent now, or signed `age` seconds from the current consent (0: a tie)."""
        provider = self.provider_of(dataset_id) if who is None else self.providers[who]
        consented_at = self.model.datasets[dataset_id][0].issued_at
        issued_at = consented_at + age if by_signature else None
        self.withdraw(dataset_id, provider, 0, by_signature=by_signature, issued_at=issued_at)

    @rule(dataset_id=dataset_ids, who=st.integers(min_value=0, max_value=3), age=withdrawal_ages)
    def withdraw_any(self, dataset_id, who, age):
        """A provider withdraws any id by signature, or the stranger (3) withdraws it directly."""
        if who == len(self.providers):
            self.withdraw(dataset_id, Provider(None, self.stranger), 0, by_signature=False)
        else:
            self.withdraw(dataset_id, self.providers[who], age, by_signature=True)

    @rule(
        dataset_id=registered,
        by_signature=st.booleans(),
        age=st.sampled_from([-100, -1, 0, 1]),
        version=offer_versions,
    )
    def withdraw_then_offer(self, dataset_id, by_signature, age, version):
        """The provider withdraws, then offers again, dated `age` seconds from its withdrawal."""
        provider = self.provider_of(dataset_id)
        self.withdraw(dataset_id, provider, 0, by_signature=by_signature)
        withdrawn_at = self.model.withdrawn[dataset_id, provider.address]
        name = NAMES[DATASETS.index(dataset_id)]
        self.offer(name, provider, version, 0, issued_at=withdrawn_at + age)

    def withdraw(self, dataset_id, provider, age, *, by_signature, issued_at=None):
        """A withdrawal sent by the provider itself (dated now) or relayed with its signature
        (dated `issued_at`, or `age` seconds from now)."""
        now = self.tick()
        address = provider.address if provider.signer else self.stranger.address
        if issued_at is None:
            issued_at = now + age if by_signature else now

        def call():
            if not by_signature:
                if provider.signer is None:
                    return self.policy.withdrawDataset(dataset_id, {"from": self.stranger})
                return provider.withdraw(self.policy, dataset_id)
            signature = provider.sign_withdrawal(self.policy, dataset_id, issued_at)
            return self.policy.withdrawDatasetBySig(
                dataset_id, address, issued_at, signature, {"from": self.stranger}
            )

        # The promise on its own, not the model's prediction: a dataset's provider sending its
        # own withdrawal always can, and always revokes the dataset if it is allowed.
        accepted, was_allowed = self.model.datasets.get(dataset_id, (None, False))
        enforced = not by_signature and accepted is not None and accepted.provider == address
        error = self.model.withdrawal_error(dataset_id, address, issued_at)
        assert not (enforced and was_allowed and error is not None)
        if error is not None:
            assert_custom_error(call, error[0], *error[1])
            return
        tx = call()
        revoked = self.model.withdraw(dataset_id, address, issued_at)
        self.model.version += revoked
        event = tx.events["DatasetWithdrawn"]
        assert event["revoked"] or not (enforced and was_allowed)
        assert list(event.values()) == [
            dataset_id,
            address,
            issued_at,
            revoked,
            self.model.version,
        ]

    @rule(dataset_id=registered)
    def revoke_registered(self, dataset_id):
        self.revoke(dataset_id)

    @rule(dataset_id=dataset_ids)
    def revoke_any(self, dataset_id):
        self.revoke(dataset_id)

    def revoke(self, dataset_id):
        def call():
            return self.policy.revokeDataset(dataset_id, self.owner)

        accepted, allowed = self.model.datasets.get(dataset_id, (None, False))
        if accepted is None:
            assert_custom_error(call, "TrainingPolicyUnknownDataset(bytes32)", dataset_id)
        elif not allowed:
            assert_custom_error(call, "TrainingPolicyDatasetNotAllowed(bytes32)", dataset_id)
        else:
            self.changed(call(), "DatasetRevoked")
            self.model.datasets[dataset_id] = (accepted, False)

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

    @rule(federation=federations)
    def set_federation_policy(self, federation):
        def call():
            return self.policy.setFederationPolicy(federation, self.owner)

        error = self.model.federation_error(federation)
        if error is not None:
            assert_custom_error(call, error[0], *error[1])
            return
        self.changed(call(), "FederationPolicySet")
        self.model.federation = federation

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
            (p.federationPolicy,),
            (p.mitigation,),
            (p.datasetIds,),
            (p.allowedDatasetIds,),
            (p.thresholds,),
            *[(p.isAllowed, i) for i in DATASETS],
            *[(p.getDataset, i) for i in known_datasets],
            *[(p.hasThreshold, m) for m in METRICS],
            *[(p.getThreshold, m) for m in known_metrics],
        ]
        version, federation, mitigation, ids, allowed_ids, thresholds, *rest = read_many(calls)
        metrics_, values_, directions_ = thresholds
        is_allowed, rest = rest[: len(DATASETS)], rest[len(DATASETS) :]
        records, rest = rest[: len(known_datasets)], rest[len(known_datasets) :]
        has_threshold, threshold_records = rest[: len(METRICS)], rest[len(METRICS) :]

        assert version == model.version
        assert tuple(federation) == model.federation
        assert tuple(mitigation) == model.mitigation

        assert list(ids) == list(model.datasets)
        assert list(allowed_ids) == model.allowed()
        assert [tuple(r) for r in records] == [model.record(i) for i in known_datasets]
        assert list(is_allowed) == [i in model.allowed() for i in DATASETS]  # revoked: never
        self.check_consent(dict(zip(known_datasets, records, strict=True)))

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

    def check_consent(self, records):
        """The consent property, from the chain's records and the withdrawals this machine made
        (not the model's prediction): every allowed dataset's consent is newer than each of
        its provider's withdrawals and no newer than the block that accepted it."""
        addresses = [provider.address for provider in self.providers]
        pairs = [(i, a) for i in DATASETS for a in addresses]
        withdrawn_at = read_many([(self.policy.withdrawnAt, i, a) for i, a in pairs])
        assert dict(zip(pairs, withdrawn_at, strict=True)) == {
            pair: self.model.withdrawn.get(pair, 0) for pair in pairs
        }
        for dataset_id, record in records.items():
            *_, provider, consented_at, allowed, _, _ = record
            if allowed:
                assert consented_at > self.model.withdrawn.get((dataset_id, provider), 0)
                assert consented_at <= self.now


def test_policy_matches_its_model(
    policy_owner, outsider, eoa_provider, wallet_provider, impersonate
):
    second = Signer.named("second provider")
    providers = [eoa_provider, wallet_provider, Provider(second, impersonate(second.address))]
    run_state_machine_as_test(
        lambda: PolicyMachine(policy_owner, outsider, providers),
        # brownie-config.yaml's hypothesis profile, without its example database: with one,
        # hypothesis also spends a minute "optimising" passing examples (pareto front).
        settings=settings(database=None),
    )
