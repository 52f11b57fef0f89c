from __future__ import annotations

from dataclasses import replace

import numpy as np

from audit.federated.mitigation import histogram, thresholds
from audit.federated.outcome import (
    FederatedOutcome,
    FittedThresholds,
    NodeOutcome,
    NodeRefusal,
    RoundRecord,
)
from bias_checks import group_counts
from governance.policy.models import Aggregation, FederationPolicy


def _outcome() -> FederatedOutcome:
    counts = group_counts(
        [1, 0, 1, 1], [1, 1, 0, 1], sensitive_features=["a", "a", "b", "b"], pos_label=1
    )
    node = NodeOutcome(
        node_id=7,
        provider="0x" + "11" * 20,
        dataset_id="0x" + "22" * 32,
        content_hash="0x" + "33" * 32,
        train_rows=80,
        heldout_rows=20,
        bytes_sent=1234,
        counts=counts,
    )
    return FederatedOutcome(
        params=(np.array([[0.1, 1 / 3], [2.5e-17, -4.0]]), np.array([np.pi])),
        preprocessor={"columns": ["x"], "mean": [0.5]},
        nodes=(node,),
        refusals=(NodeRefusal(9, None, "dataset_hash_mismatch", "the file changed"),),
        rounds=(RoundRecord(1, (7,), {"loss": 0.25}),),
        policy=FederationPolicy(aggregation=Aggregation.KRUM, krum_f=1, min_nodes=1),
        superlink="127.0.0.1:9092",
    )


def test_json_round_trip_keeps_every_bit() -> None:
    outcome = _outcome()
    back = FederatedOutcome.from_json(outcome.to_json())
    assert back.to_json() == outcome.to_json()
    for a, b in zip(back.params, outcome.params, strict=True):
        assert a.dtype == b.dtype
        assert a.shape == b.shape
        assert np.array_equal(a, b)
    assert [n.to_dict() for n in back.nodes] == [n.to_dict() for n in outcome.nodes]
    assert back.refusals == outcome.refusals
    assert back.rounds == outcome.rounds
    assert back.policy == outcome.policy


def test_total_counts_sums_only_listed_nodes() -> None:
    outcome = _outcome()
    assert outcome.total_counts().to_json() == outcome.nodes[0].counts.to_json()


def test_fitted_thresholds_round_trip_exactly() -> None:
    rng = np.random.default_rng(4)
    groups = rng.choice(np.array(["a", "b"], dtype=object), 300)
    y = rng.integers(0, 2, 300)
    pooled = histogram(np.clip(0.3 * y + 0.7 * rng.random(300), 0, 1), y, groups, bins=40)
    fitted = FittedThresholds(
        "demographic_parity", pooled, thresholds(pooled, constraint="demographic_parity")
    )
    outcome = replace(_outcome(), mitigation=fitted)
    back = FederatedOutcome.from_json(outcome.to_json())
    assert back.mitigation == fitted
    assert back.mitigation is not None
    assert back.mitigation.bins == 40
    assert FederatedOutcome.from_json(_outcome().to_json()).mitigation is None
