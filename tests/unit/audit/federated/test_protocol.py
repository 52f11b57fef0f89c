from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from eth_account import Account
from flwr.app import ArrayRecord, ConfigRecord, MetricRecord, RecordDict
from flwr.serverapp.strategy.strategy_utils import aggregate_arrayrecords

from audit.errors import DatasetHashMismatch, DatasetNotAllowed
from audit.federated import learning
from audit.federated.admission import verify_admission
from audit.federated.errors import InvalidNodeReply, NodeNotProvider
from audit.federated.governed import schema_of
from audit.federated.mitigation import InvalidNodeHistogram, histogram
from audit.federated.protocol import (
    ARRAYS,
    DEFAULT_BINS,
    METRICS,
    NUM_EXAMPLES,
    Action,
    Admission,
    RunPlan,
    Schema,
)
from audit.federated.replies import check_histogram, read_counts, read_histogram
from audit.federated.strategy import build_strategy, check_update
from audit.spec import FederatedSpec
from bias_checks import InvalidCountsError, group_counts
from governance.policy.models import (
    Aggregation,
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
)

KEY = "0x" + "42" * 32
PROVIDER = str(Account.from_key(KEY).address)
DATASET = "0x" + "d1" * 32
CONTENT = "0x" + "c1" * 32
NONCE = "0x" + "99" * 32
SCHEMA = Schema("approved", "1", ("income", "debt"), ("group",), 0.25, 3)


def _snapshot(*, allowed: bool = True, provider: str = PROVIDER) -> PolicySnapshot:
    entry = DatasetEntry(
        dataset_id=DATASET,
        content_hash=CONTENT,
        manifest_hash="0x" + "00" * 32,
        records_root="0x" + "ab" * 32,
        uri="file://d.csv",
        licence="",
        terms_hash="0x" + "00" * 32,
        provider=provider,
        consented_at=1,
        allowed=allowed,
    )
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "01" * 20,
        block_number=1,
        block_hash="0x" + "02" * 32,
        policy_version=1,
        datasets=(entry,),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=EvidenceRuleEntry(
            confidence_level="0.950000",
            min_group_size=1,
            min_denominator=1,
            on_inconclusive="block",
        ),
    )


def _admission(**changes: str | int) -> Admission:
    summary = learning.summarize(pd.DataFrame({"income": [1.0, 2.0], "debt": [0.1, 0.2]}))
    unsigned = Admission(PROVIDER, DATASET, CONTENT, 2, 1, summary.to_json(), NONCE)
    return replace(unsigned, **changes).sign(KEY)  # type: ignore[arg-type]


def test_an_admission_signed_by_the_registered_provider_is_accepted() -> None:
    summary = verify_admission(_admission(), _snapshot(), NONCE, SCHEMA)
    assert summary.rows == 2


def test_a_changed_admission_no_longer_recovers_the_provider() -> None:
    forged = replace(_admission(), train_rows=2000)
    with pytest.raises(NodeNotProvider):
        verify_admission(forged, _snapshot(), NONCE, SCHEMA)


@pytest.mark.parametrize(
    ("admission", "snapshot", "error"),
    [
        (_admission(), _snapshot(allowed=False), DatasetNotAllowed),
        (_admission(), _snapshot(provider="0x" + "77" * 20), NodeNotProvider),
        (_admission(content_hash="0x" + "c2" * 32), _snapshot(), DatasetHashMismatch),
        (_admission(nonce="0x" + "98" * 32), _snapshot(), InvalidNodeReply),
    ],
)
def test_admissions_the_policy_does_not_back_are_refused(
    admission: Admission, snapshot: PolicySnapshot, error: type[Exception]
) -> None:
    with pytest.raises(error):
        verify_admission(admission, snapshot, NONCE, SCHEMA)


def test_an_admission_record_round_trips_and_rejects_bad_fields() -> None:
    admission = _admission()
    assert Admission.from_record(admission.to_record()) == admission
    broken = admission.to_record()
    broken.config_records["admission"]["train_rows"] = "many"
    with pytest.raises(InvalidNodeReply):
        Admission.from_record(broken)
    with pytest.raises(InvalidNodeReply):
        Admission.from_record(RecordDict({"other": ConfigRecord({"x": 1})}))


def test_the_run_plan_round_trips_through_the_run_config() -> None:
    plan = RunPlan(
        policy=FederationPolicy(aggregation=Aggregation.FEDTRIMMEDAVG, epsilon="1.000000"),
        schema=SCHEMA,
        rpc_url="http://127.0.0.1:8545",
        policy_address="0x" + "01" * 20,
        dataset_ids=(DATASET, "0x" + "d2" * 32),
    )
    assert RunPlan.from_run_config(plan.to_run_config()) == plan
    voted = replace(plan, mitigation="threshold_optimizer", constraint="equalized_odds", bins=50)
    assert RunPlan.from_run_config(voted.to_run_config()) == voted
    assert voted.thresholded
    assert not plan.thresholded


def test_a_run_config_without_the_mitigation_keys_applies_none() -> None:
    plan = RunPlan(
        policy=FederationPolicy(),
        schema=SCHEMA,
        rpc_url="http://127.0.0.1:8545",
        policy_address="0x" + "01" * 20,
        dataset_ids=("0x" + "ab" * 32,),
    )
    older = {
        k: v
        for k, v in plan.to_run_config().items()
        if k not in {"mitigation", "constraint", "bins"}
    }
    read = RunPlan.from_run_config(older)
    assert (read.mitigation, read.constraint, read.bins) == ("none", "", DEFAULT_BINS)
    assert not read.thresholded


def test_the_histogram_action_is_a_query_flower_routes_to_the_client_app() -> None:
    assert Action.HISTOGRAM.value == "query.histogram"


def test_the_run_plan_names_the_specs_datasets_for_the_server() -> None:
    """Finding 7 of the #16 review: the server refuses nodes holding other datasets, so the
    run config it reads must name the spec's datasets (ids read back in lower case)."""
    spec = FederatedSpec(
        name="loans",
        federated=True,
        datasets=("0x" + "AA" * 32, "0x" + "bb" * 32),
        label="approved",
        features=("income",),
        sensitive_features=("group",),
    )
    plan = RunPlan(
        policy=FederationPolicy(),
        schema=schema_of(spec),
        rpc_url="http://127.0.0.1:8545",
        policy_address="0x" + "00" * 20,
        dataset_ids=spec.dataset_ids,
    )
    read = RunPlan.from_run_config(plan.to_run_config())
    assert read.dataset_ids == ("0x" + "aa" * 32, "0x" + "bb" * 32)


@pytest.mark.parametrize(
    ("policy", "name", "attribute", "value"),
    [
        (FederationPolicy(), "FedAvg", "min_train_nodes", 2),
        (
            FederationPolicy(aggregation=Aggregation.FEDMEDIAN, min_nodes=3),
            "FedMedian",
            "min_available_nodes",
            3,
        ),
        (
            FederationPolicy(aggregation=Aggregation.FEDTRIMMEDAVG, trim_beta="0.100000"),
            "FedTrimmedAvg",
            "beta",
            0.1,
        ),
        (
            FederationPolicy(aggregation=Aggregation.KRUM, krum_f=1),
            "Krum",
            "num_malicious_nodes",
            1,
        ),
    ],
)
def test_the_voted_aggregation_picks_flowers_strategy(
    policy: FederationPolicy, name: str, attribute: str, value: float
) -> None:
    strategy = build_strategy(policy)
    assert type(strategy).__name__ == name
    assert getattr(strategy, attribute) == value
    assert strategy.fraction_evaluate == 0.0  # type: ignore[attr-defined]


def _update(arrays: list[np.ndarray], rows: object = 10) -> RecordDict:
    return RecordDict({ARRAYS: ArrayRecord(arrays), METRICS: MetricRecord({NUM_EXAMPLES: rows})})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "reply",
    [
        _update([np.zeros((1, 3))]),
        _update([np.zeros((1, 4)), np.zeros(1)]),
        _update([np.array([[np.nan, 0.0, 0.0]]), np.zeros(1)]),
        _update([np.zeros((1, 3)), np.zeros(1)], rows=0),
        RecordDict({ARRAYS: ArrayRecord([np.zeros((1, 3)), np.zeros(1)])}),
    ],
)
def test_malformed_updates_are_rejected_before_aggregation(reply: RecordDict) -> None:
    sent = ArrayRecord([np.zeros((1, 3)), np.zeros(1)])
    check_update(sent, _update([np.ones((1, 3)), np.ones(1)]), train_rows=10)
    with pytest.raises(InvalidNodeReply):
        check_update(sent, reply, train_rows=10)


def test_an_update_claiming_other_row_counts_than_its_admission_is_refused() -> None:
    """Finding 6 of the #16 review: num-examples weights FedAvg, so a node admitted with 300
    training rows that claims 10**15 would own the global model."""
    sent = ArrayRecord([np.zeros((1, 3)), np.zeros(1)])
    liar = _update([np.full((1, 3), 50.0), np.array([50.0])], rows=10**15)
    honest = [_update([np.ones((1, 3)), np.ones(1)], rows=300) for _ in range(3)]
    global_ = aggregate_arrayrecords([*honest, liar], NUM_EXAMPLES).to_numpy_ndarrays()
    assert np.allclose(global_[0], 50.0, rtol=1e-9)  # what it would do unchecked
    for update in honest:
        check_update(sent, update, train_rows=300)
    with pytest.raises(InvalidNodeReply, match="300"):
        check_update(sent, liar, train_rows=300)
    with pytest.raises(InvalidNodeReply):
        check_update(sent, honest[0], train_rows=299)


def _counts_reply(**records: ConfigRecord) -> RecordDict:
    return RecordDict(dict(records))


def test_counts_replies_are_read_only_in_their_one_shape() -> None:
    counts = group_counts([1, 0, 1], [1, 1, 0], sensitive_features=["a", "b", "b"], pos_label=1)
    good = ConfigRecord({"json": counts.to_json()})
    assert read_counts(_counts_reply(counts=good)).to_json() == counts.to_json()
    with pytest.raises(InvalidNodeReply):
        read_counts(_counts_reply(counts=good, extra=ConfigRecord({"rows": "1,2"})))
    with pytest.raises(InvalidNodeReply):
        read_counts(_counts_reply(counts=ConfigRecord({"json": counts.to_json().decode()})))
    with pytest.raises(InvalidCountsError) as caught:
        read_counts(_counts_reply(counts=ConfigRecord({"json": b'{"counts": "many"}'})))
    assert caught.value.code == "invalid_counts"


def _histogram_reply(**records: ConfigRecord) -> RecordDict:
    return RecordDict(dict(records))


def test_histogram_replies_are_read_only_in_their_one_shape_and_grid() -> None:
    scores = histogram(
        np.array([0.1, 0.5, 0.9]), np.array([0, 1, 1]), np.array(["a", "b", "b"]), bins=10
    )
    good = ConfigRecord({"json": scores.to_json()})
    assert read_histogram(_histogram_reply(histogram=good), bins=10) == scores
    extra = ConfigRecord({"json": "{}"})
    with pytest.raises(InvalidNodeReply):
        read_histogram(_histogram_reply(histogram=good, counts=extra), bins=10)
    as_bytes = ConfigRecord({"json": scores.to_json().encode()})
    with pytest.raises(InvalidNodeReply):
        read_histogram(_histogram_reply(histogram=as_bytes), bins=10)
    with pytest.raises(InvalidNodeHistogram, match="grid of 10 steps, not 20"):
        read_histogram(_histogram_reply(histogram=good), bins=20)
    negative = scores.to_json().replace('"counts":{"a":[[0,1', '"counts":{"a":[[0,-1')
    assert negative != scores.to_json()
    with pytest.raises(InvalidNodeHistogram) as caught:
        read_histogram(_histogram_reply(histogram=ConfigRecord({"json": negative})), bins=10)
    assert caught.value.code == "invalid_node_histogram"


def test_a_histogram_must_count_exactly_the_admitted_training_rows() -> None:
    """Review, session 26: a node admitted with 3 training rows that sent its histogram
    times 1,000 moved the pooled ThresholdOptimizer as if it held 3,000."""
    scores = histogram(
        np.array([0.1, 0.5, 0.9]), np.array([0, 1, 1]), np.array(["a", "b", "b"]), bins=10
    )
    assert check_histogram(scores, 3) == scores
    scaled = scores.model_copy(
        update={
            "counts": {
                g: ([1000 * c for c in neg], [1000 * c for c in pos])
                for g, (neg, pos) in scores.counts.items()
            }
        }
    )
    with pytest.raises(InvalidNodeHistogram) as caught:
        check_histogram(scaled, 3)
    assert caught.value.code == "invalid_node_histogram"
    assert "it counts 3000 rows, and the node's admission declared 3 training rows" in str(
        caught.value
    )
