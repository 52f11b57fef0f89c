"""fairgov's Flower ClientApp: what a provider's SuperNode runs for each message.

Before every exchange (admission, each training round, the histogram, the audit) the node
re-reads the
policy on chain and re-checks its file (:func:`audit.federated.node.load_checked`). A
refusal is a Flower error carrying only the error's code and one-line message. Replies hold
only a signed admission with a column summary, model parameters with a row count, a
per-group score histogram, or per-group confusion counts: never rows, features or labels.

Started by ``flower-supernode`` (see ``fairgov provider serve``) with the node config
``data-file``, ``dataset-id``, ``key-file``, ``rpc-url`` and ``policy``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from decimal import Decimal

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from audit.federated import node
from audit.federated.errors import EpsilonMismatch, PrivacyBudgetSpent
from audit.federated.protocol import (
    ARRAYS,
    CONFIG,
    COUNTS,
    HISTOGRAM,
    METRICS,
    NUM_EXAMPLES,
    SCHEMA,
    Schema,
    refusal_error,
)
from core.errors import FairgovError
from governance.chain.node import connect
from governance.policy.snapshot import read_snapshot

app = ClientApp()


def _reply(message: Message, context: Context, answer: Callable[[], RecordDict]) -> Message:
    try:
        return Message(answer(), reply_to=message)
    except FairgovError as exc:
        dataset_id = context.node_config.get("dataset-id")
        named = str(dataset_id).lower() if dataset_id else None
        return Message(refusal_error(exc, named), reply_to=message)


def _checked(message: Message, context: Context, key: str) -> node.NodeData:
    config = node.NodeConfig.from_node_config(context.node_config)
    schema = Schema.from_config(message.content.config_records[key])
    return node.load_checked(config, schema)


@app.query("admission")
def admission(message: Message, context: Context) -> Message:
    """Check the dataset and answer with a signed :class:`~audit.federated.protocol.Admission`."""

    def answer() -> RecordDict:
        config = node.NodeConfig.from_node_config(context.node_config)
        data = _checked(message, context, SCHEMA)
        nonce = str(message.content.config_records[SCHEMA]["nonce"])
        return node.admission(config, data, nonce).to_record()

    return _reply(message, context, answer)


@app.train()
def train(message: Message, context: Context) -> Message:
    """One round: re-check the dataset, train from the global parameters, send them back."""

    def answer() -> RecordDict:
        data = _checked(message, context, CONFIG)
        config = message.content.config_records[CONFIG]
        attack = node.NodeConfig.from_node_config(context.node_config).attack
        params = node.train(
            data,
            str(config["summary"]),
            message.content.array_records[ARRAYS].to_numpy_ndarrays(),
            epochs=int(config["epochs"]),  # type: ignore[arg-type]
            c=float(config["c"]),  # type: ignore[arg-type]
            seed=int(config["seed"]),  # type: ignore[arg-type]
            attack=attack,
        )
        return RecordDict(
            {
                ARRAYS: ArrayRecord(params),
                METRICS: MetricRecord({NUM_EXAMPLES: len(data.x_train)}),
            }
        )

    return _reply(message, context, answer)


@app.query("histogram")
def histogram(message: Message, context: Context) -> Message:
    """Re-check the dataset and send the final model's score histogram of training rows."""

    def answer() -> RecordDict:
        data = _checked(message, context, CONFIG)
        config = message.content.config_records[CONFIG]
        scores = node.score_histogram(
            data,
            str(config["summary"]),
            message.content.array_records[ARRAYS].to_numpy_ndarrays(),
            bins=int(config["bins"]),  # type: ignore[arg-type]
        )
        return RecordDict({HISTOGRAM: ConfigRecord({"json": scores.to_json()})})

    return _reply(message, context, answer)


@app.query("audit")
def audit(message: Message, context: Context) -> Message:
    """Re-check the dataset and send the final model's per-group counts on held-out rows,
    predicted with the fitted thresholds when the server sends them, and noised at the
    epsilon the policy on chain votes (never one the server picks), once per run: a
    repeated query gets the same noisy counts, another query is refused."""

    def answer() -> RecordDict:
        data = _checked(message, context, CONFIG)
        config = message.content.config_records[CONFIG]
        epsilon = voted_epsilon(context, str(config.get("epsilon", "")) or None)
        fitted = str(config.get("thresholds", "")) or None
        question = _question(message)
        spent = context.state.config_records.get(AUDIT_SPENT)
        if epsilon is not None and spent is not None:
            if spent["question"] != question:
                raise PrivacyBudgetSpent()
            return RecordDict({COUNTS: ConfigRecord({"json": spent["json"]})})
        counts = node.audit_counts(
            data,
            str(config["summary"]),
            message.content.array_records[ARRAYS].to_numpy_ndarrays(),
            epsilon=epsilon,
            thresholds=None if fitted is None else json.loads(fitted),
            constraint=str(config.get("constraint", "")),
            seed=int(config["seed"]),  # type: ignore[arg-type]
        )
        if epsilon is not None:
            context.state[AUDIT_SPENT] = ConfigRecord(
                {"question": question, "json": counts.to_json()}
            )
        return RecordDict({COUNTS: ConfigRecord({"json": counts.to_json()})})

    return _reply(message, context, answer)


#: The node's per-run record of the noisy counts it sent (``context.state``).
AUDIT_SPENT = "fairgov-audit-spent"


def voted_epsilon(context: Context, asked: str | None) -> str | None:
    """The epsilon the policy on chain votes now; :class:`EpsilonMismatch` if the server
    asked for another (the server relays the epsilon it froze, so they agree unless the
    policy changed mid-run or the server lies)."""
    config = node.NodeConfig.from_node_config(context.node_config)
    voted = read_snapshot(connect(config.rpc_url), config.policy).federation.epsilon
    try:
        same = (asked is None and voted is None) or (
            asked is not None and voted is not None and Decimal(asked) == Decimal(voted)
        )
    except ArithmeticError:
        same = False
    if not same:
        raise EpsilonMismatch(asked, voted)
    return voted


def _question(message: Message) -> str:
    """A digest of an audit query: the model's arrays and the config it came with."""
    digest = hashlib.sha256()
    for array in message.content.array_records[ARRAYS].to_numpy_ndarrays():
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    config = message.content.config_records[CONFIG]
    digest.update(repr(sorted(config.items())).encode())
    return digest.hexdigest()
