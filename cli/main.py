"""Entry point of the ``fairgov`` command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import typer

from cli._lazy import LazyCommand
from cli._usage import OneLineUsage


class Fairgov(OneLineUsage):
    """The subcommands, in the order ``fairgov --help`` lists them. Each module is imported
    only when its subcommand runs; tests/unit/cli/test_lazy_loading.py checks that every line
    of help here is still the first paragraph of the command's own."""

    subcommands: ClassVar[Mapping[str, LazyCommand]] = {
        "run": LazyCommand(
            "cli.run:run",
            "Start the local chain (unless FAIRGOV_RPC_URL is set), deploy the contracts once, "
            "migrate the database, then serve the API and run the scheduler until Ctrl-C.",
        ),
        "vote": LazyCommand(
            "cli.votes:vote",
            "Sign a ballot with your key and hand it to the relayer, which pays the gas.",
        ),
        "delegate": LazyCommand(
            "cli.votes:delegate",
            "Sign a delegation of your votes (to yourself or another holder) for the relayer "
            "to send.",
        ),
        "relay": LazyCommand(
            "cli.votes:relay",
            "Send every queued ballot, delegation and proposal now, and wait until they are mined.",
        ),
        "propose": LazyCommand(
            "cli.proposals:propose",
            "Propose policy actions. The proposer signs and pays for the transaction.",
        ),
        "jobs": LazyCommand(
            "cli.jobs:jobs",
            "Show the scheduler's newest job runs (sync, relay, keeper, audits, retention).",
        ),
        "demo": LazyCommand(
            "cli.demo:demo",
            "Run the whole loop against a running local stack over its HTTP API: register a "
            "biased dataset, vote to allow it, see the audit FAIL, vote a mitigation, see it "
            "PASS, and verify the report against the chain; then watch a 60% majority fail to "
            "loosen the bound (after previewing which models it would let through) and the "
            "guardian cancel a second try. Finally a model trained on two providers' datasets "
            "passes, both providers claim its reward gaslessly, and one withdraws their "
            "dataset: the model is blocked, then retrained on the other.",
        ),
        "proposals": LazyCommand(
            "cli.proposals:proposals_app", "Proposals as the chain index sees them."
        ),
        "guardian": LazyCommand(
            "cli.guardian:app",
            "The fairness guardian: who may cancel loosening proposals, and cancelling them.",
        ),
        "db": LazyCommand("cli.database:app", "The database schema."),
        "audit": LazyCommand("cli.audit:app", "Fairness audits and their reports."),
        "datasets": LazyCommand("cli.datasets:app", "Datasets and their manifests."),
        "models": LazyCommand("cli.models:app", "External models (ONNX) and their registrations."),
        "provider": LazyCommand(
            "cli.provider:app",
            "Data providers: offer, withdraw, and prove that a record is in a dataset.",
        ),
        "federated": LazyCommand(
            "cli.federated:app", "Federated training: host the Flower SuperLink."
        ),
        "rewards": LazyCommand(
            "cli.rewards:app", "Data providers' rewards: roots, statements and claims."
        ),
    }


app = typer.Typer(
    cls=Fairgov,
    rich_markup_mode="markdown",
    name="fairgov",
    help="DAO governance and fairness audits for machine learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """DAO governance and fairness audits for machine learning."""
