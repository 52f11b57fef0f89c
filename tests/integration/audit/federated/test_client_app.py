"""fairgov's ClientApp, called in process against anvil: what each reply carries, and the
refusals a node sends instead (with the central pipeline's codes).

Only a signed admission with a column summary, model parameters with a row count, a
per-group score histogram, and per-group counts may leave a node: these tests pin the
records and keys of every reply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from web3 import Web3

from audit.errors import DatasetHashMismatch, DatasetNotAllowed
from audit.federated import learning
from audit.federated.client_app import app
from audit.federated.errors import EpsilonMismatch, NodeNotProvider, PrivacyBudgetSpent
from audit.federated.mitigation import ScoreHistogram, thresholds, with_thresholds
from audit.federated.node import NodeConfig, load_checked
from audit.federated.privacy import discrete_laplace_variance
from audit.federated.protocol import (
    ADMISSION,
    ARRAYS,
    CONFIG,
    COUNTS,
    HISTOGRAM,
    METRICS,
    NUM_EXAMPLES,
    SCHEMA,
    Action,
    Admission,
    parse_refusal,
    wire_size,
)
from audit.synthetic import make_loans
from audit.training import predict
from bias_checks import GroupCounts, group_counts
from core.canonical import sha256_hex
from governance.actions import Aggregation, SetFederationPolicy, dataset_id_of
from governance.chain import deploy, localchain
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, address_of, allow_raw
from tests.integration.audit.audit_support import govern
from tests.integration.audit.federated.federated_support import LOANS

# Flower's app identity, set as an app process has it (conftest.py).
pytestmark = [pytest.mark.chain, pytest.mark.usefixtures("task_identity")]

ROWS = 400
EPSILON = "0.500000"


@dataclass(frozen=True)
class Node:
    config: NodeConfig
    data: Path

    def context(self, **overrides: str) -> Context:
        values: dict[str, bool | float | int | str] = dict(
            zip(NodeConfig.KEYS, self.config.to_node_config_values(), strict=True), **overrides
        )
        return Context(run_id=1, node_id=7, node_config=values, state=RecordDict(), run_config={})


@pytest.fixture
def node(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path: Path,
) -> Node:
    data = tmp_path / "clinic.csv"
    make_loans(ROWS, seed=3).to_csv(data, index=False)
    offer = allow_raw(
        isolated_chain,
        deployment,
        "clinic",
        sha256_hex(data.read_bytes()),
        "0x" + "cd" * 32,
        "file://clinic.csv",
    )
    govern(isolated_chain, deployment, [offer], "allow the clinic's dataset")
    key = tmp_path / "provider.key"
    key.write_text(PROVIDER_KEY)
    policy = deployment.addresses.training_policy
    config = NodeConfig(data, dataset_id_of("clinic"), key, local_chain.rpc_url, policy)
    return Node(config, data)


def _ask(node: Node, action: Action, content: RecordDict, **overrides: str) -> Message:
    message = Message(content, dst_node_id=7, message_type=action)
    return app(message, node.context(**overrides))


def _admission_query() -> RecordDict:
    query = LOANS.to_config()
    query["nonce"] = "0x" + "11" * 32
    return RecordDict({SCHEMA: query})


def _admit(node: Node) -> Admission:
    reply = _ask(node, Action.ADMISSION, _admission_query())
    assert not reply.has_error()
    return Admission.from_record(reply.content)


def _round_config(summary: str) -> ConfigRecord:
    config = LOANS.to_config()
    config.update({"summary": summary, "epochs": 5, "c": 1.0, "epsilon": "", "server-round": 1})
    return config


def test_the_admission_is_signed_and_holds_counts_and_a_summary_only(node: Node) -> None:
    reply = _ask(node, Action.ADMISSION, _admission_query())
    assert set(reply.content.keys()) == {ADMISSION}
    assert set(reply.content[ADMISSION].keys()) == {f.name for f in fields(Admission)}
    admission = Admission.from_record(reply.content)
    assert admission.signer() == address_of(PROVIDER_KEY)
    assert admission.train_rows + admission.heldout_rows == ROWS
    assert learning.FrameSummary.from_json(admission.summary).rows == admission.train_rows
    assert wire_size(reply.content) < node.data.stat().st_size / 4


def test_a_round_returns_parameters_and_a_row_count_only(node: Node) -> None:
    admission = _admit(node)
    sent = ArrayRecord(learning.initial_params(len(LOANS.inputs)))
    content = RecordDict({ARRAYS: sent, CONFIG: _round_config(admission.summary)})
    reply = _ask(node, Action.TRAIN, content)
    assert not reply.has_error()
    assert set(reply.content.keys()) == {ARRAYS, METRICS}
    assert dict(reply.content[METRICS]) == {NUM_EXAMPLES: admission.train_rows}
    shapes = [a.shape for a in reply.content.array_records[ARRAYS].to_numpy_ndarrays()]
    assert shapes == [(1, len(LOANS.inputs)), (1,)]


def test_the_audit_returns_counts_of_the_held_out_rows_only(node: Node) -> None:
    admission = _admit(node)
    params = [np.array([[1.0, -1.0, 0.5]]), np.array([0.1])]
    content = RecordDict({ARRAYS: ArrayRecord(params), CONFIG: _round_config(admission.summary)})
    reply = _ask(node, Action.AUDIT, content)
    assert set(reply.content.keys()) == {COUNTS}
    assert set(reply.content[COUNTS].keys()) == {"json"}
    counts = GroupCounts.from_json(reply.content[COUNTS]["json"])  # type: ignore[arg-type]
    assert counts.n_rows == admission.heldout_rows
    assert counts.sensitive == LOANS.sensitive


def test_the_histogram_holds_the_training_rows_scores_only_and_the_audit_applies_thresholds(
    node: Node,
) -> None:
    admission = _admit(node)
    params = [np.array([[1.0, -1.0, 0.5]]), np.array([0.1])]
    config = _round_config(admission.summary)
    config["bins"] = 50
    reply = _ask(node, Action.HISTOGRAM, RecordDict({ARRAYS: ArrayRecord(params), CONFIG: config}))
    assert set(reply.content.keys()) == {HISTOGRAM}
    assert set(reply.content[HISTOGRAM].keys()) == {"json"}
    scores = ScoreHistogram.from_json(reply.content[HISTOGRAM]["json"])  # type: ignore[arg-type]
    assert scores.bins == 50
    assert sum(sum(sum(c) for c in per) for per in scores.counts.values()) == admission.train_rows
    assert wire_size(reply.content) < node.data.stat().st_size / 4

    # The audit with the thresholds fitted from it: the counts of what the stored model predicts.
    fitted = thresholds(scores, constraint="demographic_parity")
    config.update({"thresholds": json.dumps(fitted), "constraint": "demographic_parity"})
    reply = _ask(node, Action.AUDIT, RecordDict({ARRAYS: ArrayRecord(params), CONFIG: config}))
    assert set(reply.content.keys()) == {COUNTS}
    counts = GroupCounts.from_json(reply.content[COUNTS]["json"])  # type: ignore[arg-type]
    summary = learning.FrameSummary.from_json(admission.summary)
    model = with_thresholds(
        learning.to_model_artifact(
            params,
            learning.global_preprocessor(summary),
            inputs=LOANS.inputs,
            sensitive=LOANS.sensitive,
            seed=LOANS.seed,
        ),
        scores,
        constraint="demographic_parity",
    )
    data = load_checked(node.config, LOANS)
    y_pred = predict(model, data.x_test, data.a_test, random_state=LOANS.seed)
    expected = group_counts(
        data.y_test, y_pred, sensitive_features=data.a_test, classes=(0, 1), pos_label=1
    )
    assert counts.to_json() == expected.to_json()
    unmitigated = _ask(
        node,
        Action.AUDIT,
        RecordDict({ARRAYS: ArrayRecord(params), CONFIG: _round_config(admission.summary)}),
    )
    assert unmitigated.content[COUNTS]["json"] != counts.to_json()


def test_an_altered_file_is_refused_with_the_pipelines_code(node: Node) -> None:
    with node.data.open("a") as data:
        data.write("1.0,0.1,3,salaried,north,A,1\n")
    reply = _ask(node, Action.ADMISSION, _admission_query())
    refusal = parse_refusal(reply)
    assert (refusal.code, refusal.dataset_id) == (DatasetHashMismatch.code, dataset_id_of("clinic"))
    assert sha256_hex(node.data.read_bytes()) in refusal.message


def test_a_node_refuses_before_every_round_not_only_at_admission(node: Node) -> None:
    admission = _admit(node)
    with node.data.open("a") as data:
        data.write("1.0,0.1,3,salaried,north,A,1\n")
    sent = ArrayRecord(learning.initial_params(len(LOANS.inputs)))
    content = RecordDict({ARRAYS: sent, CONFIG: _round_config(admission.summary)})
    reply = _ask(node, Action.TRAIN, content)
    assert parse_refusal(reply).code == DatasetHashMismatch.code


def test_another_providers_key_and_an_unknown_dataset_are_refused(
    node: Node, tmp_path: Path
) -> None:
    other = tmp_path / "other.key"
    other.write_text(SECOND_PROVIDER_KEY)
    reply = _ask(node, Action.ADMISSION, _admission_query(), **{"key-file": str(other)})
    assert parse_refusal(reply).code == NodeNotProvider.code
    unknown = dataset_id_of("never-offered")
    reply = _ask(node, Action.ADMISSION, _admission_query(), **{"dataset-id": unknown})
    assert (parse_refusal(reply).code, parse_refusal(reply).dataset_id) == (
        DatasetNotAllowed.code,
        unknown,
    )


def test_a_poisoning_test_node_scales_its_update(node: Node) -> None:
    admission = _admit(node)
    sent = ArrayRecord(learning.initial_params(len(LOANS.inputs)))
    content = RecordDict({ARRAYS: sent, CONFIG: _round_config(admission.summary)})
    honest, scaled = (
        _ask(node, Action.TRAIN, content, **extra).content.array_records[ARRAYS]
        for extra in ({}, {"attack": "scale"})
    )
    for h, s in zip(honest.to_numpy_ndarrays(), scaled.to_numpy_ndarrays(), strict=True):
        np.testing.assert_allclose(s, learning.SCALE_FACTOR * h)


@pytest.fixture
def noisy(node: Node, isolated_chain: Web3, deployment: deploy.Deployment) -> Node:
    """The same node once the policy votes epsilon 0.5 for the audit counts."""
    vote = SetFederationPolicy(aggregation=Aggregation.FEDAVG, epsilon=Decimal(EPSILON))
    govern(isolated_chain, deployment, [vote], "audit counts with noise")
    return node


def _audit_query(node: Node, epsilon: str, weight: float = 1.0) -> RecordDict:
    config = _round_config(_admit(node).summary)
    config["epsilon"] = epsilon
    params = [np.array([[weight, -1.0, 0.5]]), np.array([0.1])]
    return RecordDict({ARRAYS: ArrayRecord(params), CONFIG: config})


@pytest.mark.parametrize("asked", ["", "1000000", "0.4"])
def test_a_node_noises_only_at_the_voted_epsilon_whatever_the_server_asks(
    noisy: Node, asked: str
) -> None:
    """Finding 1 of the #16 review: the node takes epsilon from the policy it just read on
    chain; a server asking for none (exact counts) or a huge one (no noise) is refused."""
    reply = _ask(noisy, Action.AUDIT, _audit_query(noisy, asked))
    assert parse_refusal(reply).code == EpsilonMismatch.code
    reply = _ask(noisy, Action.AUDIT, _audit_query(noisy, EPSILON))
    counts = GroupCounts.from_json(reply.content[COUNTS]["json"])  # type: ignore[arg-type]
    assert counts.noise_variance is not None
    np.testing.assert_allclose(counts.noise_variance, discrete_laplace_variance(1 / 0.5))


def test_a_node_without_a_voted_epsilon_refuses_to_be_told_one(node: Node) -> None:
    reply = _ask(node, Action.AUDIT, _audit_query(node, EPSILON))
    assert parse_refusal(reply).code == EpsilonMismatch.code


def test_a_node_spends_its_epsilon_once_per_run(noisy: Node) -> None:
    """Finding 2 of the #16 review: Flower keeps one Context per run on the node. The same
    audit query again gets the same noisy counts (nothing to average); another query in
    the run is refused; a new run draws fresh noise."""
    run = noisy.context()
    query = _audit_query(noisy, EPSILON)
    first, again = (
        app(Message(query, dst_node_id=7, message_type=Action.AUDIT), run) for _ in range(2)
    )
    raw = [r.content[COUNTS]["json"] for r in (first, again)]
    assert raw[0] == raw[1]
    other = _audit_query(noisy, EPSILON, weight=2.0)
    refused = app(Message(other, dst_node_id=7, message_type=Action.AUDIT), run)
    assert parse_refusal(refused).code == PrivacyBudgetSpent.code
    fresh = app(Message(query, dst_node_id=7, message_type=Action.AUDIT), noisy.context())
    assert fresh.content[COUNTS]["json"] != raw[0]
