"""Entry point of the ``fairgov`` command."""

from __future__ import annotations

import typer

from cli import (
    audit,
    database,
    datasets,
    demo,
    federated,
    guardian,
    jobs,
    models,
    proposals,
    provider,
    rewards,
    votes,
)
from cli._errors import OneLineUsage
from cli.run import run

app = typer.Typer(
    cls=OneLineUsage,
    rich_markup_mode="markdown",
    name="fairgov",
    help="DAO governance and fairness audits for machine learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(name="run")(run)
app.command(name="vote")(votes.vote)
app.command(name="delegate")(votes.delegate)
app.command(name="relay")(votes.relay)
app.command(name="propose")(proposals.propose)
app.add_typer(proposals.proposals_app, name="proposals")
app.add_typer(guardian.app, name="guardian")
app.add_typer(database.app, name="db")
app.command(name="jobs")(jobs.jobs)
app.add_typer(audit.app, name="audit")
app.add_typer(datasets.app, name="datasets")
app.add_typer(models.app, name="models")
app.add_typer(provider.app, name="provider")
app.add_typer(federated.app, name="federated")
app.add_typer(rewards.app, name="rewards")
app.command(name="demo")(demo.demo)


@app.callback()
def _root() -> None:
    """DAO governance and fairness audits for machine learning."""
