"""``fairgov db``: the database schema."""

from __future__ import annotations

import typer
from rich.console import Console

from cli._errors import friendly_errors
from cli.compose import migrated_engine
from core.settings import Settings

app = typer.Typer(help="The database schema.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@app.command()
@friendly_errors
def upgrade() -> None:
    """Migrate the database to the latest schema (start-up does this too)."""
    settings = Settings()
    engine = migrated_engine(settings)
    console.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
