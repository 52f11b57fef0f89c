"""``fairgov jobs``: what the scheduler ran, and how it went."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from cli import compose
from cli._errors import friendly_errors
from core.settings import Settings

console = Console(highlight=False, soft_wrap=True)


@friendly_errors
def jobs(
    job: Annotated[str | None, typer.Option(help="Only this job, e.g. sync_chain.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Show the scheduler's newest job runs (sync, relay, keeper, audits, retention)."""
    engine = compose.migrated_engine(Settings())
    with Session(engine) as session:
        runs = compose.recent_jobs(session, job=job, limit=limit)
        beat = compose.last_heartbeat(session)
    if not runs:
        console.print("no job has run yet" + (f" as {job}" if job else ""))
        return
    table = Table("started (UTC)", "job", "status", "seconds", "detail", box=None)
    for run in runs:
        took = (
            f"{(run.finished_at - run.started_at).total_seconds():.1f}" if run.finished_at else "…"
        )
        table.add_row(
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            run.job,
            run.status,
            took,
            run.error or run.detail or "",
        )
    console.print(table)
    if beat is not None:
        console.print(f"last heartbeat: {beat:%Y-%m-%d %H:%M:%S} UTC")
