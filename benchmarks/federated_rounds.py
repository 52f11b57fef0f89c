"""Benchmark: rounds of federated averaging to reach the pooled model's accuracy.

The pooled model is the central pipeline (``audit.training.train``: the same preprocessor
and scikit-learn ``LogisticRegression``) fitted on every node's rows at once. The federated
model starts from zero and runs rounds of Flower's ``FedAvg.aggregate_train`` over the nodes'
replies (see ``federated_poisoning.federate``), with the global preprocessor built from the
nodes' summaries. Both are scored on the same held-out rows.

Prints, for each number of lbfgs iterations per round, the first round whose accuracy is
within 1 point of the pooled model's, the accuracy then, and after the last round.
Nothing is asserted. Run: ``python benchmarks/federated_rounds.py [--nodes 10] [--split by-group]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from flwr.serverapp.strategy import FedAvg

from audit.federated.learning import Attack, Params, predict
from audit.spec import parse_spec
from audit.training import Split, train
from audit.training import predict as predict_model
from benchmarks.federated_poisoning import (
    ADULT,
    Dataset,
    adult,
    federate,
    labels,
    loans,
    play_the_server_app,
    prepare,
)


def pooled_accuracy(data: Dataset) -> float:
    """The central pipeline's held-out accuracy, trained on every node's rows at once."""
    rows = pd.concat(data.shards)
    x_test, a_test = data.test[data.inputs], data.test[[data.sensitive]].astype(str)
    split = Split(
        rows[data.inputs],
        x_test,
        labels(data, rows),
        labels(data, data.test),
        rows[[data.sensitive]].astype(str),
        a_test,
    )
    model = train(parse_spec({"name": "pooled", "dataset": "d", "seed": 0}), split)
    y_pred = predict_model(model, x_test, a_test, random_state=0)
    return float(np.mean(y_pred == split.y_test))


def run(data: Dataset, args: argparse.Namespace) -> None:
    nodes, x_test = prepare(data)
    y_test = labels(data, data.test)
    pooled = pooled_accuracy(data)
    print(
        f"\n{data.name}: {len(nodes)} nodes, FedAvg from zero; pooled LogisticRegression "
        f"accuracy {100 * pooled:.2f} %"
    )
    print(f"{'lbfgs its/round':<17}{'rounds to ±1 pt':>16}{'accuracy then %':>17}", end="")
    print(f"{f'after {args.rounds} rounds %':>20}{'Δ vs pooled':>13}")
    for epochs in args.epochs:
        history: list[float] = []

        def score(_: int, params: Params, history: list[float] = history) -> None:
            history.append(float(np.mean(predict(params, x_test) == y_test)))

        federate(
            FedAvg(),
            nodes,
            attacker=None,
            attack=Attack.NONE,
            rounds=args.rounds,
            epochs=epochs,
            seed=args.seed,
            on_round=score,
        )
        reached = next((i for i, a in enumerate(history) if abs(a - pooled) <= 0.01), None)
        rounds = "never" if reached is None else str(reached + 1)
        then = "-" if reached is None else f"{100 * history[reached]:.2f}"
        print(f"{epochs:<17}{rounds:>16}{then:>17}{100 * history[-1]:>20.2f}", end="")
        print(f"{100 * (history[-1] - pooled):>+13.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--rows", type=int, default=20_000, help="rows of generated loans")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 5, 20])
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


if __name__ == "__main__":
    main()
