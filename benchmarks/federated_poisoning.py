"""Benchmark: one poisoning node in federated training, under Flower's robust strategies.

Honest nodes and one attacker train logistic regression with
:mod:`audit.federated.learning`. The attacker either flips its labels or scales its update
(params - global) by 10. Each round, every node's reply is a real ``flwr.app.Message``
answering the round's instruction, and the aggregate comes from the ``aggregate_train`` of
Flower's own strategies (``flwr.serverapp.strategy``): FedAvg, FedMedian,
FedTrimmedAvg(beta) and Krum(f). The benchmark plays the ServerApp process, so it sets
Flower's ``TaskIdentity`` as Flower's own runtime does before a ServerApp runs.

For each dataset, strategy and attack it prints the held-out accuracy and the voted
disparity (demographic parity difference, from ``bias_checks.audit_predictions``), beside
the honest-only baseline measured in the same run (FedAvg over the honest nodes alone), and
their differences in points. Target: a robust strategy keeps accuracy within 2 points of the
baseline where FedAvg does not. Nothing is asserted.

Data: the generated loans (``audit.synthetic``), and UCI Adult from ``../shared/data``
(or ``--adult``), skipped with a message when absent.
Run: ``python benchmarks/federated_poisoning.py [--nodes 5] [--rounds 20] [--split by-group]``.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from flwr.app import ArrayRecord, ConfigRecord, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum, Strategy
from flwr.supercore.task_identity import TaskIdentity

from audit.federated.learning import (
    Attack,
    Params,
    attacked_fit,
    combine,
    global_preprocessor,
    initial_params,
    predict,
    summarize,
)
from audit.synthetic import FEATURES, LABEL, make_loans
from bias_checks import Threshold, audit_predictions

ADULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "adult.data"
ADULT_COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip
VOTED = Threshold("demographic_parity_difference", 0.1)
SERVER_NODE_ID = 1  # flwr.common.constant.SUPERLINK_NODE_ID


@dataclass(frozen=True)
class Dataset:
    """A dataset cut into node shards and a pooled held-out test set."""

    name: str
    shards: list[pd.DataFrame]
    test: pd.DataFrame
    inputs: list[str]
    label: str
    positive: Any
    sensitive: str


@dataclass(frozen=True)
class Node:
    """One node's preprocessed training rows."""

    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]


def shard(
    name: str, frame: pd.DataFrame, nodes: int, *, seed: int, split: str, **columns: Any
) -> Dataset:
    """Shuffle ``frame``, keep a quarter for the test, cut the rest into ``nodes`` shards.

    ``split="by-group"`` sorts the training rows by the sensitive feature first, so that
    most nodes hold a single group (not identically distributed, as real providers are).
    """
    shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    cut = len(shuffled) // 4
    train = shuffled.iloc[cut:]
    if split == "by-group":
        train = train.sort_values(columns["sensitive"], kind="stable")
        name = f"{name}, nodes split by {columns['sensitive']}"
    shards = np.array_split(np.arange(len(train)), nodes)
    return Dataset(name, [train.iloc[rows] for rows in shards], shuffled.iloc[:cut], **columns)


def loans(nodes: int, rows: int, seed: int, split: str = "iid") -> Dataset:
    frame = make_loans(rows, seed=seed)
    columns = {"inputs": list(FEATURES), "label": LABEL, "positive": 1, "sensitive": "group"}
    return shard(f"loans ({rows:,} rows)", frame, nodes, seed=seed, split=split, **columns)


def adult(path: Path, nodes: int, seed: int, split: str = "iid") -> Dataset:
    frame = pd.read_csv(path, header=None, names=ADULT_COLUMNS, skipinitialspace=True)
    inputs = [c for c in ADULT_COLUMNS if c not in ("income", "sex", "race", "fnlwgt")]
    columns = {"inputs": inputs, "label": "income", "positive": ">50K", "sensitive": "sex"}
    name = f"UCI Adult ({len(frame):,} rows)"
    return shard(name, frame, nodes, seed=seed, split=split, **columns)


def labels(data: Dataset, frame: pd.DataFrame) -> np.ndarray[Any, Any]:
    return (frame[data.label] == data.positive).to_numpy(dtype=np.int64)


def federate(
    strategy: Strategy,
    nodes: list[Node],
    *,
    attacker: int | None,
    attack: Attack,
    rounds: int,
    epochs: int,
    seed: int,
    on_round: Callable[[int, Params], None] | None = None,
) -> Params:
    """FedAvg-style rounds: every node fits locally, ``strategy.aggregate_train`` merges.

    Each node's inverse L2 strength is ``rows_pooled / rows_node`` (the pooled model's C=1
    per row), so honest nodes optimise the pooled objective restricted to their rows.
    """
    pooled_rows = sum(len(node.y) for node in nodes)
    params = initial_params(nodes[0].x.shape[1])
    for server_round in range(1, rounds + 1):
        content = RecordDict(
            {"arrays": ArrayRecord(params), "config": ConfigRecord({"server-round": server_round})}
        )
        replies = []
        for index, node in enumerate(nodes):
            instruction = Message(
                content, dst_node_id=SERVER_NODE_ID + 1 + index, message_type=MessageType.TRAIN
            )
            received = instruction.content.array_records["arrays"].to_numpy_ndarrays()
            fitted = attacked_fit(
                attack if index == attacker else Attack.NONE,
                received,
                node.x,
                node.y,
                epochs=epochs,
                seed=seed,
                c=pooled_rows / len(node.y),
            )
            reply = RecordDict(
                {
                    "arrays": ArrayRecord(fitted),
                    "metrics": MetricRecord({"num-examples": len(node.y)}),
                }
            )
            replies.append(Message(reply, reply_to=instruction))
        arrays, _ = strategy.aggregate_train(server_round, replies)
        if arrays is None:
            raise RuntimeError(f"{type(strategy).__name__} aggregated nothing")
        params = arrays.to_numpy_ndarrays()
        if on_round is not None:
            on_round(server_round, params)
    return params


@dataclass(frozen=True)
class Outcome:
    accuracy: float
    disparity: float


def evaluate(data: Dataset, x_test: np.ndarray[Any, Any], params: Params) -> Outcome:
    y_true = labels(data, data.test)
    y_pred = predict(params, x_test)
    audit = audit_predictions(
        y_true,
        y_pred,
        sensitive_features={data.sensitive: data.test[data.sensitive].astype(str).to_numpy()},
        thresholds=[VOTED],
        n_boot=0,
    )
    return Outcome(float(np.mean(y_pred == y_true)), float(audit.checks[0].value))


def strategies(beta: float) -> dict[str, Callable[[], Strategy]]:
    return {
        "FedAvg": FedAvg,
        "FedMedian": FedMedian,
        f"FedTrimmedAvg({beta})": lambda: FedTrimmedAvg(beta=beta),
        "Krum(1)": lambda: Krum(num_malicious_nodes=1),
    }


def prepare(data: Dataset) -> tuple[list[Node], np.ndarray[Any, Any]]:
    """The nodes' summaries make the global preprocessor; nodes transform their own rows."""
    pre = global_preprocessor(combine(summarize(s[data.inputs]) for s in data.shards))
    nodes = [Node(pre.transform(s[data.inputs]), labels(data, s)) for s in data.shards]
    return nodes, pre.transform(data.test[data.inputs])


def run(data: Dataset, args: argparse.Namespace) -> None:
    nodes, x_test = prepare(data)
    options = {"rounds": args.rounds, "epochs": args.epochs, "seed": args.seed}
    honest = federate(FedAvg(), nodes[1:], attacker=None, attack=Attack.NONE, **options)
    base = evaluate(data, x_test, honest)
    print(
        f"\n{data.name}: {len(nodes)} nodes (node 0 attacks), {args.rounds} rounds x "
        f"{args.epochs} lbfgs iterations; baseline = FedAvg over the {len(nodes) - 1} honest "
        f"nodes: accuracy {100 * base.accuracy:.2f} %, DPD {base.disparity:.4f}"
    )
    print(
        f"{'strategy':<20}{'attack':<12}{'accuracy %':>11}{'baseline':>10}{'Δ points':>10}"
        f"{'DPD':>9}{'baseline':>10}{'Δ points':>10}"
    )
    for name, make in strategies(args.beta).items():
        for attack in Attack:
            params = federate(make(), nodes, attacker=0, attack=attack, **options)
            got = evaluate(data, x_test, params)
            print(
                f"{name:<20}{attack.value:<12}{100 * got.accuracy:>11.2f}"
                f"{100 * base.accuracy:>10.2f}{100 * (got.accuracy - base.accuracy):>+10.2f}"
                f"{got.disparity:>9.4f}{base.disparity:>10.4f}"
                f"{100 * (got.disparity - base.disparity):>+10.2f}"
            )


def play_the_server_app() -> None:
    """Flower's runtime sets this identity before a ServerApp builds its messages."""
    TaskIdentity.task_id = 1
    TaskIdentity.run_id = 1
    TaskIdentity.node_id = SERVER_NODE_ID
    logging.getLogger("flwr").setLevel(logging.WARNING)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5, help="nodes, the attacker included")
    parser.add_argument("--rows", type=int, default=20_000, help="rows of generated loans")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5, help="lbfgs iterations per round")
    parser.add_argument("--beta", type=float, default=0.2, help="FedTrimmedAvg's cut")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--adult", type=Path, default=ADULT)
    parser.add_argument("--split", choices=["iid", "by-group"], default="iid")
    args = parser.parse_args()
    play_the_server_app()
    run(loans(args.nodes, args.rows, args.seed, args.split), args)
    if args.adult.exists():
        run(adult(args.adult, args.nodes, args.seed, args.split), args)
    else:
        print(f"\nUCI Adult skipped: {args.adult} is absent (it is never committed)")
    print("\ntarget: a robust strategy within 2 points of the baseline where FedAvg is not")


if __name__ == "__main__":
    main()
