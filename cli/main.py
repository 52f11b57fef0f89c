"""Entry point of the ``fairgov`` command."""

from __future__ import annotations

import typer

from cli.run import run

app = typer.Typer(
    name="fairgov",
    help="DAO governance and fairness audits for machine learning.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(name="run")(run)


@app.callback()
def _root() -> None:
    """DAO governance and fairness audits for machine learning."""
