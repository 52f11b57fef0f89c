"""``fairgov models``: register external models (ONNX) so they can be audited and gated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli._errors import friendly_errors
from cli.compose import migrated_engine
from core.db import session_scope
from core.settings import Settings

app = typer.Typer(help="External models (ONNX) and their registrations.", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)


@app.command()
@friendly_errors
def register(
    file: Annotated[Path, typer.Argument(help="The model exported to ONNX (.onnx).")],
    *,
    name: Annotated[str | None, typer.Option(help="Model name (default: the file's stem).")] = None,
) -> None:
    """Check FILE (a valid ONNX model with standard operators and a readable signature),
    store it by hash and print its hash and signature.

    Audit it with ``fairgov audit external SPEC.yaml`` naming this name and hash.
    """
    from audit.external import read_onnx_file, store_onnx

    name = name or file.stem
    data = read_onnx_file(file, name=name)  # a file over the limit is refused unread
    settings = Settings()
    model = store_onnx(migrated_engine(settings), Path(settings.data_dir), name=name, data=data)
    signature = model.signature
    console.print(f"registered {model.name}")
    console.print(f"model hash {model.model_hash}")
    console.print(f"exporter   {model.producer or 'not stated'} (as the file says; not verified)")
    console.print(
        f"inputs     {signature.layout}: " + "; ".join(v.describe() for v in signature.inputs)
    )
    console.print("outputs    " + "; ".join(v.describe() for v in signature.outputs))
    if signature.label_output is None:
        console.print(
            "           one float output and no label: say 'output: probability' or "
            "'output: logit' in the audit spec"
        )
    console.print(f"stored at  {model.path}")


@app.command("list")
@friendly_errors
def list_models(
    name: Annotated[str | None, typer.Option(help="Only this model's registrations.")] = None,
) -> None:
    """List registered external models, oldest first."""
    from audit.external import list_external_models

    settings = Settings()
    with session_scope(migrated_engine(settings)) as session:
        models = list_external_models(session, name)
    table = Table(title="External models")
    for header in ("name", "model hash", "inputs", "bytes", "exporter"):
        table.add_column(header, overflow="fold")
    for m in models:
        table.add_row(m.name, m.model_hash, m.signature.layout, f"{m.size:,}", m.producer)
    console.print(table, soft_wrap=False)
