"""A provider node reading its voted file, in process against anvil: the same group is one
group on every node, and a file the run cannot use is a refusal with a code and the
dataset id (never a crash of the ClientApp, which the server could only record as
``node_error``). From the review of #16 (findings 8, 9, 10)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flwr.app import Context, Message, RecordDict
from web3 import Web3

from audit.federated import node as node_side
from audit.federated.client_app import app
from audit.federated.node import NodeConfig
from audit.federated.protocol import SCHEMA, Action, Refusal, Schema, parse_refusal
from audit.synthetic import make_loans
from bias_checks import GroupCounts, group_counts
from core.canonical import sha256_hex
from governance.actions import dataset_id_of
from governance.chain import deploy, localchain
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import govern
from tests.integration.audit.federated.federated_support import LOANS

# Flower's app identity, set as an app process has it (conftest.py).
pytestmark = [pytest.mark.chain, pytest.mark.usefixtures("task_identity")]

ROWS = 400


@dataclass(frozen=True)
class Node:
    config: NodeConfig

    def context(self) -> Context:
        values: dict[str, bool | float | int | str] = dict(
            zip(NodeConfig.KEYS, self.config.to_node_config_values(), strict=True)
        )
        return Context(run_id=1, node_id=7, node_config=values, state=RecordDict(), run_config={})


@dataclass(frozen=True)
class Voting:
    w3: Web3
    deployment: deploy.Deployment
    rpc_url: str
    folder: Path

    def node(self, name: str, frame: pd.DataFrame, key: str = PROVIDER_KEY) -> Node:
        """A node holding ``frame`` as ``name``.csv, allowed by a vote of the DAO."""
        path = self.folder / f"{name}.csv"
        frame.to_csv(path, index=False)
        offer = allow_raw(
            self.w3,
            self.deployment,
            name,
            sha256_hex(path.read_bytes()),
            "0x" + "cd" * 32,
            f"file://{name}.csv",
            key,
        )
        govern(self.w3, self.deployment, [offer], f"allow {name}")
        key_file = self.folder / f"{name}.key"
        key_file.write_text(key)
        policy = self.deployment.addresses.training_policy
        return Node(NodeConfig(path, dataset_id_of(name), key_file, self.rpc_url, policy))


@pytest.fixture
def voting(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path: Path,
) -> Voting:
    return Voting(isolated_chain, deployment, local_chain.rpc_url, tmp_path)


def _refusal(node: Node, schema: Schema = LOANS) -> Refusal:
    """The node's answer to an admission query, which must be a refusal."""
    query = schema.to_config()
    query["nonce"] = "0x" + "11" * 32
    message = Message(RecordDict({SCHEMA: query}), dst_node_id=7, message_type=Action.ADMISSION)
    reply = app(message, node.context())
    assert reply.has_error()
    refusal = parse_refusal(reply)
    assert refusal.dataset_id == node.config.dataset_id
    return refusal


def test_the_same_group_counts_as_one_group_across_nodes(voting: Voting) -> None:
    """Node A's integer column reads group 1 as "1"; node B's column, float because one
    value is missing, writes it "1.0". Pooled rows hold one group 1, so must the federated
    sum."""
    first = make_loans(ROWS, seed=3)
    first["group"] = np.where(first["group"] == "A", 1, 2)
    second = make_loans(ROWS, seed=4)
    second["group"] = np.where(second["group"] == "A", 1.0, 2.0)
    second.loc[0, "group"] = np.nan  # one row whose group was not recorded
    nodes = [
        voting.node("clinic", first),
        voting.node("hospital", second, SECOND_PROVIDER_KEY),
    ]
    parts = [
        group_counts(
            data.y_test, data.y_test, sensitive_features=data.a_test, classes=(0, 1), pos_label=1
        )
        for data in (node_side.load_checked(n.config, LOANS) for n in nodes)
    ]
    keys = {key[0] for key in GroupCounts.combine(parts).keys}
    assert {"1", "2"} <= keys
    assert not {"1.0", "2.0"} & keys, f"one group split in two: {sorted(keys)}"


def test_one_missing_label_is_a_refusal_not_every_positive_turned_negative(
    voting: Voting,
) -> None:
    """One blank label made pandas read the column as float, every positive "1.0" != "1",
    and the node trained and audited on all-negative labels without a word."""
    frame = make_loans(ROWS, seed=6).astype({"approved": float})
    frame.loc[0, "approved"] = np.nan
    refusal = _refusal(voting.node("blank-label", frame))
    assert refusal.code == "missing_values"
    assert "'approved'" in refusal.message


def test_whole_number_float_labels_are_read_as_the_positive_label(voting: Voting) -> None:
    frame = make_loans(ROWS, seed=6)
    node = voting.node("float-label", frame.astype({"approved": float}))
    data = node_side.load_checked(node.config, LOANS)
    assert int(data.y_train.sum() + data.y_test.sum()) == int(frame["approved"].sum())


def test_a_schema_naming_a_missing_column_is_a_refusal_with_a_code(voting: Voting) -> None:
    """A run whose label column is not in a node's file: refused with missing_column, not a
    KeyError that crashes the ClientApp."""
    schema = Schema(
        label="outcome", positive_label="1", inputs=LOANS.inputs, sensitive=LOANS.sensitive
    )
    refusal = _refusal(voting.node("clinic", make_loans(ROWS, seed=3)), schema)
    assert refusal.code == "missing_column"
    assert "'outcome'" in refusal.message


def test_a_node_with_a_single_positive_row_refuses_with_a_code(voting: Voting) -> None:
    """A stratified split needs two rows of each label: a voted file with a single positive
    row is refused with too_few_rows_per_class, not a ValueError from scikit-learn."""
    frame = make_loans(50, seed=5)
    frame["approved"] = 0
    frame.loc[0, "approved"] = 1
    refusal = _refusal(voting.node("skewed", frame))
    assert refusal.code == "too_few_rows_per_class"
