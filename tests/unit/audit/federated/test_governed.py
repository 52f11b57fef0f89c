"""The governed side of a federated run without processes: which voted mitigations a run
accepts, and the model it stores for the ThresholdOptimizer the nodes applied."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine

from audit.errors import DatasetSchemaMismatch, UnsupportedMitigation
from audit.federated import learning
from audit.federated.errors import FederatedRunFailed, VotedManifestNotStored
from audit.federated.governed import check_mitigation, federated_model, voted_reference
from audit.federated.mitigation import combine, thresholds
from audit.federated.node import NodeData, audit_predictions, score_histogram
from audit.federated.outcome import FederatedOutcome, FittedThresholds
from audit.manifest import DatasetManifest, store_manifest
from audit.spec import FederatedSpec
from audit.synthetic import make_loans
from audit.training import predict
from bias_checks import UnknownReferenceGroupError
from core.db import session_scope
from governance.policy.models import (
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
)

INPUTS = ("income", "debt_ratio", "credit_years")
SENSITIVE = ("group",)
SEED = 7


def _snapshot(strategy: str = "none", constraint: str = "") -> PolicySnapshot:
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "01" * 20,
        block_number=1,
        block_hash="0x" + "02" * 32,
        policy_version=1,
        datasets=(),
        mitigation=Mitigation(strategy=strategy, constraint=constraint),
        evidence=EvidenceRuleEntry(
            confidence_level="0.950000",
            min_group_size=1,
            min_denominator=1,
            on_inconclusive="block",
        ),
    )


@pytest.mark.parametrize(
    ("strategy", "constraint"),
    [
        ("none", ""),
        ("threshold_optimizer", "demographic_parity"),
        ("threshold_optimizer", "equalized_odds"),
        ("threshold_optimizer", "false_positive_rate_parity"),
    ],
)
def test_a_federated_run_accepts_no_mitigation_and_threshold_optimizer(
    strategy: str, constraint: str
) -> None:
    check_mitigation(_snapshot(strategy, constraint))


@pytest.mark.parametrize(
    ("strategy", "constraint"),
    [
        ("exponentiated_gradient", "demographic_parity"),
        ("threshold_optimizer", "error_rate_parity"),
        ("reweighing", ""),
    ],
)
def test_a_mitigation_a_federated_run_cannot_apply_refuses_it(
    strategy: str, constraint: str
) -> None:
    with pytest.raises(UnsupportedMitigation) as caught:
        check_mitigation(_snapshot(strategy, constraint))
    assert caught.value.code == "unsupported_mitigation"


def _node(frame: pd.DataFrame) -> NodeData:
    entry = DatasetEntry(
        dataset_id="0x" + "d1" * 32,
        content_hash="0x" + "c1" * 32,
        manifest_hash="0x" + "00" * 32,
        records_root="0x" + "ab" * 32,
        uri="file://d.csv",
        licence="",
        terms_hash="0x" + "00" * 32,
        provider="0x" + "11" * 20,
        consented_at=1,
        allowed=True,
    )
    train, test = frame.iloc[: len(frame) * 3 // 4], frame.iloc[len(frame) * 3 // 4 :]
    return NodeData(
        entry,
        train[list(INPUTS)],
        train["approved"].to_numpy(),
        train[list(SENSITIVE)].astype(str),
        test[list(INPUTS)],
        test["approved"].to_numpy(),
        test[list(SENSITIVE)].astype(str),
    )


def _spec() -> FederatedSpec:
    return FederatedSpec.model_validate(
        {
            "name": "federated-loans",
            "federated": True,
            "datasets": ["0x" + "d1" * 32, "0x" + "d2" * 32],
            "label": "approved",
            "features": list(INPUTS),
            "sensitive_features": list(SENSITIVE),
            "seed": SEED,
        }
    )


def _run() -> tuple[list[NodeData], FederatedOutcome, str]:
    nodes = [_node(make_loans(800, seed=s)) for s in (1, 2)]
    pooled = learning.combine(learning.summarize(n.x_train) for n in nodes)
    x = [learning.global_preprocessor(pooled).transform(n.x_train) for n in nodes]
    params = learning.initial_params(x[0].shape[1])
    fits = [
        learning.local_fit(params, xs, n.y_train, epochs=5, seed=0)
        for xs, n in zip(x, nodes, strict=True)
    ]
    params = [np.mean(arrays, axis=0) for arrays in zip(*fits, strict=True)]
    scores = combine(score_histogram(n, pooled.to_json(), params, bins=200) for n in nodes)
    fitted = FittedThresholds(
        "demographic_parity", scores, thresholds(scores, constraint="demographic_parity")
    )
    outcome = FederatedOutcome(
        params=tuple(params),
        preprocessor=pooled.model_dump(mode="json"),
        nodes=(),
        refusals=(),
        rounds=(),
        policy=FederationPolicy(),
        superlink="",
        mitigation=fitted,
    )
    return nodes, outcome, pooled.to_json()


def test_the_stored_model_predicts_what_the_nodes_predicted_in_the_audit() -> None:
    nodes, outcome, summary = _run()
    voted = _snapshot("threshold_optimizer", "demographic_parity")
    model = federated_model(_spec(), voted, outcome)
    assert (model["kind"], model["constraint"]) == ("threshold_optimizer", "demographic_parity")
    assert outcome.mitigation is not None
    for n in nodes:
        at_node = audit_predictions(
            n,
            summary,
            list(outcome.params),
            thresholds=outcome.mitigation.thresholds,
            constraint="demographic_parity",
            seed=SEED,
        )
        stored = predict(model, n.x_test, n.a_test, random_state=SEED)
        np.testing.assert_array_equal(at_node, stored)
    unmitigated = audit_predictions(nodes[0], summary, list(outcome.params))
    assert not np.array_equal(
        unmitigated, predict(model, nodes[0].x_test, nodes[0].a_test, random_state=SEED)
    )


def test_a_model_without_the_voted_thresholds_or_with_other_ones_is_not_stored() -> None:
    _, outcome, _ = _run()
    voted = _snapshot("threshold_optimizer", "demographic_parity")
    assert federated_model(_spec(), _snapshot(), outcome)["kind"] == "none"
    with pytest.raises(FederatedRunFailed, match="did not fit"):
        federated_model(_spec(), voted, replace(outcome, mitigation=None))
    assert outcome.mitigation is not None
    shifted = {g: [*t[:2], t[2] + 0.01, *t[3:]] for g, t in outcome.mitigation.thresholds.items()}
    tampered = replace(outcome, mitigation=replace(outcome.mitigation, thresholds=shifted))
    with pytest.raises(FederatedRunFailed, match="differ from a refit"):
        federated_model(_spec(), voted, tampered)


def _allowing(*manifests: DatasetManifest) -> PolicySnapshot:
    entries = tuple(
        DatasetEntry(
            dataset_id=m.dataset_id,
            content_hash=m.sha256,
            manifest_hash=m.hash,
            records_root="0x" + "ab" * 32,
            uri=m.uri,
            licence="",
            terms_hash="0x" + "00" * 32,
            provider="0x" + "11" * 20,
            consented_at=1,
            allowed=True,
        )
        for m in manifests
    )
    return _snapshot().model_copy(update={"datasets": entries})


def _manifest(name: str, reference: dict[str, str] | None) -> DatasetManifest:
    return DatasetManifest(
        name=name,
        uri=f"file:///{name}.csv",
        sha256="0x" + name.encode().hex().ljust(64, "0")[:64],
        label="approved",
        positive_label="1",
        sensitive_features=SENSITIVE,
        features=INPUTS,
        reference_group=reference,
    )


def _federated(*names: str, sensitive: tuple[str, ...] = SENSITIVE) -> FederatedSpec:
    return FederatedSpec.model_validate({
        "name": "fed", "federated": True, "datasets": list(names), "label": "approved",
        "features": list(INPUTS), "sensitive_features": list(sensitive),
    })  # fmt: skip


def test_a_federated_run_takes_the_privileged_group_of_the_voted_manifests_stored_here(
    engine: Engine,
) -> None:
    a, b = _manifest("node-a", {"group": "A"}), _manifest("node-b", {"group": "A"})
    plain = _manifest("node-c", None)
    with session_scope(engine) as session:
        store_manifest(session, a)
        store_manifest(session, b)
        store_manifest(session, plain)
    assert voted_reference(engine, _allowing(plain), _federated("node-c")) is None
    snapshot = _allowing(a, b)
    spec = _federated("node-a", "node-b")
    assert voted_reference(engine, snapshot, spec) == {"group": "A"}
    # A stored manifest other than the voted one (another hash) is not read.
    other = _manifest("node-a", {"group": "B"})
    with session_scope(engine) as session:
        store_manifest(session, other)
    assert voted_reference(engine, snapshot, _federated("node-a")) == {"group": "A"}


def test_voted_manifests_that_disagree_or_name_other_features_start_nothing(
    engine: Engine,
) -> None:
    a, b = _manifest("node-a", {"group": "A"}), _manifest("node-b", {"group": "B"})
    with session_scope(engine) as session:
        store_manifest(session, a)
        store_manifest(session, b)
    with pytest.raises(DatasetSchemaMismatch, match="differ in reference_group"):
        voted_reference(engine, _allowing(a, b), _federated("node-a", "node-b"))
    with pytest.raises(UnknownReferenceGroupError) as raised:
        voted_reference(engine, _allowing(a), _federated("node-a", sensitive=("region",)))
    assert raised.value.message == (
        "The voted privileged group of dataset node-a names group=A, but the spec's sensitive "
        "features are region: audit the sensitive features its manifest declares."
    )


def test_an_unstored_voted_manifest_naming_a_group_is_not_replaced_by_the_largest_group(
    engine: Engine,
) -> None:
    """Review #18: the operator chose the verdicts off chain by storing, or not, a manifest."""
    voted = _manifest("node-c", {"group": "B"})  # on chain by hash; never stored here
    with pytest.raises(VotedManifestNotStored, match="register it"):
        voted_reference(engine, _allowing(voted), _federated("node-c"))


def test_an_unstored_voted_manifest_naming_another_group_is_not_outvoted_by_stored_ones(
    engine: Engine,
) -> None:
    a = _manifest("node-a", {"group": "A"})
    c = _manifest("node-c", {"group": "B"})  # voted, held by its node, not stored here
    with session_scope(engine) as session:
        store_manifest(session, a)
    with pytest.raises(VotedManifestNotStored) as refused:
        voted_reference(engine, _allowing(a, c), _federated("node-a", "node-c"))
    assert refused.value.details["manifest_hash"] == c.hash
