"""``fairgov datasets``: register data files so the DAO can vote to allow them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from cli._errors import fail, friendly_errors
from cli.compose import migrated_engine
from core.db import session_scope
from core.settings import Settings

if TYPE_CHECKING:
    from audit.manifest import DatasetManifest

app = typer.Typer(help="Datasets and their manifests.", no_args_is_help=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

#: ``--reference`` of a manifest names a group: the words of ``fairgov audit predictions``
#: choose one per audit, which a vote on the dataset cannot fix.
REFERENCE_NOT_A_GROUP = (
    "--reference {text!r}: a manifest names the privileged group itself, as "
    "FEATURE=VALUE[,FEATURE=VALUE...] with one value per sensitive feature (e.g. sex=Male)."
)


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _save_manifest_file(data_dir: Path, manifest: DatasetManifest) -> Path:
    path = data_dir / "datasets" / manifest.name / f"{manifest.hash[2:]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(manifest.canonical_json())
    shutil.move(tmp, path)
    return path


def _default_name(file: Path) -> str:
    """The file's (or folder's) stem; for a glob, the folder before its first wildcard."""
    parts = file.parts
    wild = next((i for i, part in enumerate(parts) if any(c in part for c in "*?[")), None)
    return file.stem if wild is None else Path(*parts[:wild]).resolve().name


@app.command()
@friendly_errors
def register(
    file: Annotated[
        Path,
        typer.Argument(
            help="The data file (CSV or Parquet), or a folder or quoted glob of them "
            "('data/part-*.parquet')."
        ),
    ],
    *,
    label: Annotated[str, typer.Option(help="The label column.")],
    positive: Annotated[str, typer.Option(help="The label value that counts as positive.")],
    sensitive: Annotated[
        list[str], typer.Option(help="Sensitive feature column(s); repeat or comma-separate.")
    ],
    name: Annotated[
        str | None,
        typer.Option(help="Dataset name (default: the file's stem, or the folder's name)."),
    ] = None,
    version: Annotated[str, typer.Option(help="Dataset version.")] = "1",
    licence: Annotated[str, typer.Option(help="Licence of the data.")] = "",
    description: Annotated[str, typer.Option(help="What the data is.")] = "",
    features: Annotated[
        list[str] | None,
        typer.Option(help="Model input columns (default: all but label and sensitive)."),
    ] = None,
    columns: Annotated[
        list[str] | None, typer.Option(help="Column names of a CSV file without a header.")
    ] = None,
    provider: Annotated[str | None, typer.Option(help="Provider's address (optional).")] = None,
    salts: Annotated[
        Path | None,
        typer.Option(
            help="Commit every record with a fresh salt and write the salts here (the "
            "provider keeps them). Required for the dataset to be offered."
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="The privileged group, voted with the manifest: governed audits compare "
            "every group with it in disparate_impact and the other directional metrics. "
            "FEATURE=VALUE[,FEATURE=VALUE...], one value per sensitive feature "
            "(default: none, the largest group)."
        ),
    ] = None,
) -> None:
    """Hash FILE, commit its records (with --salts) and store its manifest.

    FILE may be a folder or a glob of Parquet (or CSV) files: its content hash then covers
    the sorted list of its files and their sha256 (docs/hashes.md). With --salts the records
    of every file are committed, in that sorted order (docs/commitments.md).

    Data no governed run could audit is refused here, before anyone votes on it: a file
    with no data rows, an empty label, a --positive that no row (or every row) has.

    The manifest is printed on stdout (canonical JSON). Its provider then signs an offer
    of it: ``fairgov provider offer MANIFEST --salts SALTS``.
    """
    from audit.manifest import build_manifest, commit_records, store_manifest
    from audit.reference import parse_reference
    from audit.training import check_registration
    from bias_checks import InvalidParameterError

    named = None if reference is None else parse_reference(reference)
    if isinstance(named, str):
        raise InvalidParameterError(
            REFERENCE_NOT_A_GROUP.format(text=reference), parameter="reference"
        )
    if salts is not None and (salts.is_dir() or not salts.parent.is_dir()):
        raise fail(f"--salts {salts}: name a file in an existing folder")
    settings = Settings()
    with err_console.status(f"hashing {file} and checking its rows") as status:
        manifest = build_manifest(
            file,
            name=name or _default_name(file),
            label=label,
            positive_label=positive,
            sensitive_features=_split(sensitive),
            features=_split(features) or None,
            version=version,
            licence=licence,
            description=description,
            provider=provider,
            columns=_split(columns) or None,
            reference_group=named,
        )
        check_registration(manifest)  # before the salts: a refusal must not replace them
        if salts is not None:

            def committed(count: int) -> None:
                status.update(f"committing records: {count:,} read and hashed")

            try:
                manifest = commit_records(manifest, salts, on_progress=committed)
            except OSError as exc:
                raise fail(f"cannot write --salts {salts}: {exc.strerror or exc}") from None
    engine = migrated_engine(settings)
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    stored = _save_manifest_file(settings.data_dir, manifest)
    err_console.print(
        f"registered {manifest.name} {manifest.version}: content hash {manifest.sha256}, "
        f"manifest hash {manifest.hash} (manifest at {stored})"
    )
    if manifest.records_root is None:
        err_console.print("no record commitments (--salts): this manifest cannot be offered")
    else:
        err_console.print(
            f"records root {manifest.records_root} of {manifest.records} records; keep the "
            f"salts file {salts}"
        )
    if manifest.reference_group is not None:
        named_group = ", ".join(f"{k}={v}" for k, v in manifest.reference_group.items())
        err_console.print(f"privileged group of directional metrics: {named_group}")
    # The canonical bytes exactly, so `> loans.manifest.json` hashes to the manifest hash
    # (a newline after them did not); a terminal gets the newline its prompt needs.
    typer.echo(manifest.canonical_json().decode("utf-8"), nl=sys.stdout.isatty())
