"""``fairgov audit``: fairness audits; ``predictions`` audits a third party's predictions file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import click
import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from bias_checks import MAX_GROUPS, Verdict
from cli._checks import CheckLine, checks_table
from cli._errors import fail, friendly_errors
from cli._text import literal
from cli.compose import load_context

if TYPE_CHECKING:
    from audit.predictions import PredictionsAudit
    from audit.publish import AuditRun
    from audit.report_model import ReportModel
    from audit.source_files import DataSource
    from bias_checks import Preset

# The audit modules load inside the commands: they pull in Fairlearn and scikit-learn,
# which every other `fairgov` command would otherwise wait for.

EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.INCONCLUSIVE: 3}

app = typer.Typer(
    help="Fairness audits and their reports.", no_args_is_help=True, add_completion=False
)
console = Console(highlight=False, soft_wrap=True)


#: How many left-out groups a check's line names in the terminal summary.
_GROUPS_NAMED = 8


def _check_out(out: Path, source: str) -> DataSource:
    """The files of ``source``; refuse an ``--out`` that is a file, cannot be looked at,
    would overwrite an input file, or lies inside a data folder (its report.csv would be
    read as data next time)."""
    from audit.errors import InvalidOutputFolder
    from audit.render import LL144_FILE, REPORT_FILES
    from audit.source_files import resolve_source

    try:
        if out.exists() and not out.is_dir():
            raise InvalidOutputFolder(
                str(out), "is a file", "name a directory for the report files"
            )
        target = out.resolve()
    except OSError as exc:
        raise InvalidOutputFolder(
            str(out), f"cannot be used ({exc.strerror or exc})", "name a directory you can write"
        ) from None
    data = resolve_source(source)
    written = {target / name for name in (*REPORT_FILES, LL144_FILE)}
    for path in data.files:
        if path.resolve() in written:
            raise InvalidOutputFolder(
                str(out), f"would overwrite the input file {path}", "name another directory"
            )
    if not data.single and target.is_relative_to(data.root.resolve()):
        raise InvalidOutputFolder(
            str(out),
            f"is inside the data folder {data.root} (its report.csv would be read as data by "
            "the next audit)",
            "name a directory outside it",
        )
    return data


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _evidence_line(data: ReportModel) -> str:
    """The audit's evidence rule, and what INCONCLUSIVE does at the gate, as one line."""
    from audit.render import percent

    rule = data.audit.evidence_rule
    return (
        f"Evidence rule: {percent(float(rule.confidence_level))} intervals; groups of at least "
        f"{rule.min_group_size} rows and {rule.min_denominator} in a rate's denominator "
        f"are judged; INCONCLUSIVE at a gate: {rule.on_inconclusive}"
    )


def _show(outcome: PredictionsAudit, paths: dict[str, Path]) -> None:
    from audit.render import (
        REASON_WORDS,
        VERDICT_COLOURS,
        fmt,
        left_out_note,
        reference_words,
        verdict_sentence,
    )
    from bias_checks import METRICS

    report = outcome.report
    data = report.model
    verdict = data.verdict
    colour = VERDICT_COLOURS[verdict]
    console.print(
        Panel(literal(verdict_sentence(data)), title=f"[bold]{verdict}[/]", border_style=colour),
        soft_wrap=False,
    )
    if outcome.used_default_thresholds:
        defaults = ", ".join(f"{t.metric} <= {fmt(t.bound)}" for t in outcome.thresholds)
        console.print(f"No --threshold given, so the defaults were checked: {defaults}")
    console.print(_evidence_line(data))
    console.print(checks_table(CheckLine.of_view(c) for c in data.audit.checks), soft_wrap=False)
    for check in data.audit.checks:  # a PASS too: it says nothing of the groups left out
        note = left_out_note(check, limit=_GROUPS_NAMED)
        if note is not None:
            console.print(literal(note))
    if any(METRICS[c.threshold.metric].signed for c in data.audit.checks):
        console.print(f"Reference group of directional checks: {literal(reference_words(data))}")
    violations = report.worst_violations()
    if violations:
        console.print("Worst:")
    for v in violations:
        sign = "<=" if v.direction == "upper" else ">="
        groups = " vs ".join(f"{literal(g['group'])} (n={g['count']})" for g in v.groups)
        why = REASON_WORDS.get(v.reason, v.reason)
        console.print(
            f"  {v.metric} = {fmt(v.value)}, bound {sign} {fmt(v.bound)}: {why}"
            + (f"; {groups}" if groups else "")
        )
    console.print(
        f"{report.model.dataset.rows:,} rows counted with {literal(outcome.counted_with)}"
    )
    console.print(f"report hash: {report.hash}")
    console.print(f"files in {literal(paths['report.json'].parent)}:")
    for path in paths.values():
        console.print(f"  {literal(path)}")


@app.command("predictions")
@friendly_errors
def predictions(
    source: Annotated[
        str,
        typer.Argument(
            help="CSV, TSV or Parquet: a file, a folder of files, or a quoted glob "
            "('data/year=*/part-*.parquet'; Hive partition folders become columns).",
            metavar="PATH|DIR|GLOB",
        ),
    ],
    *,
    label: Annotated[str, typer.Option(help="Column with the true outcome.")],
    prediction: Annotated[
        str, typer.Option(help="Column with the predicted label, or a score with --cutoff.")
    ],
    sensitive: Annotated[
        list[str], typer.Option(help="Sensitive feature column(s): COL[,COL...].")
    ],
    positive: Annotated[
        str | None, typer.Option(help="The positive outcome, unless labels are 0/1.")
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            help="A bound, METRIC<=VALUE or METRIC>=VALUE, optionally with its own evidence "
            "rule: 'METRIC<=VALUE,confidence=0.99,min_group_size=50'; repeatable."
        ),
    ] = None,
    cutoff: Annotated[
        str | None,
        typer.Option(help="Scores >= this are positive predictions.", metavar="FLOAT"),
    ] = None,
    score: Annotated[
        str | None,
        typer.Option(
            help="Column of positive-class scores (often the --prediction column with "
            "--cutoff): adds roc_auc, brier_score and calibration_error by group."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Directory for the report files.")] = Path(
        "fairgov-report"
    ),
    # Read as text, as the API and --threshold read them (EvidenceRule.from_text): a bad
    # value gets the engine's code in one line, not Click's usage box.
    confidence: Annotated[
        str,
        typer.Option(
            help="Evidence rule: confidence of every interval, in (0.5, 1).", metavar="LEVEL"
        ),
    ] = "0.95",
    min_group_size: Annotated[
        str,
        typer.Option(help="Evidence rule: groups with fewer rows are not judged.", metavar="N"),
    ] = "30",
    min_denominator: Annotated[
        str,
        typer.Option(
            help="Evidence rule: fewest rows in a rate's denominator to judge it.", metavar="N"
        ),
    ] = "10",
    on_inconclusive: Annotated[
        str,
        typer.Option(
            help="Evidence rule: what INCONCLUSIVE does at a gate: block, approve_with_warning."
        ),
    ] = "block",
    n_boot: Annotated[
        int, typer.Option(help="Bootstrap replicates (balanced accuracy only).", min=0)
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    preset: Annotated[
        str | None,
        typer.Option(
            click_type=click.Choice(["four_fifths", "ll144"]),
            help="four_fifths: check disparate_impact >= 0.8 against the most selected group; "
            "ll144: that, plus the NYC Local Law 144 impact ratio table (HTML and ll144.csv).",
        ),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            help="The reference (privileged) group of directional metrics and the preset: "
            "FEATURE=VALUE[,FEATURE=VALUE...] naming one value of every sensitive column, "
            "'best' (the best group of each metric) or 'majority' (the largest group). "
            "Default: best with --preset, else majority.",
            metavar="FEATURE=VALUE,...|best|majority",
        ),
    ] = None,
    dask: Annotated[
        str | None,
        typer.Option(
            help="Count on a Dask cluster: its scheduler (tcp://HOST:8786), or 'local' to "
            "start two local workers. Default: Polars' streaming engine on this machine.",
            metavar="ADDRESS|local",
        ),
    ] = None,
    dask_timeout: Annotated[
        float, typer.Option(help="Seconds the Dask scheduler has to answer.", min=0.1)
    ] = 5.0,
    max_groups: Annotated[
        int,
        typer.Option(
            help="The most groups (intersections of the --sensitive columns) to audit; more "
            "is refused before any metric, as an id column would make a group of each row.",
            min=1,
            metavar="N",
        ),
    ] = MAX_GROUPS,
) -> None:
    """Audit a third party's predictions for fairness and write the report files.

    The rows are counted where they are (lazily, out of core; on a Dask cluster with
    --dask), so the files may be larger than memory.

    Exit status: 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 for usage or input errors.
    """
    from audit.errors import ReportWriteFailed
    from audit.prediction_options import cutoff_from_text
    from audit.predictions import audit_predictions_file
    from audit.reference import parse_reference
    from audit.render import render_all
    from bias_checks import EvidenceRule

    columns = _split(sensitive)
    if not columns:
        raise fail("--sensitive needs at least one column name")
    data = _check_out(out, source)  # the files are listed once, here
    presets: dict[str | None, Preset | None] = {
        None: None,
        "four_fifths": "four_fifths",
        "ll144": "ll144",
    }
    named = None if reference is None else parse_reference(reference)
    rule = EvidenceRule.from_text(
        {
            "confidence_level": confidence,
            "min_group_size": min_group_size,
            "min_denominator": min_denominator,
            "on_inconclusive": on_inconclusive,
        }
    )
    with console.status("Reading the schema...") as status:
        outcome = audit_predictions_file(
            data,
            label=label,
            prediction=prediction,
            sensitive=columns,
            positive=positive,
            thresholds=threshold or (),
            cutoff=None if cutoff is None else cutoff_from_text(cutoff, prediction),
            score=score,
            evidence=rule,
            n_boot=n_boot,
            random_state=seed,
            preset=presets[preset],
            reference=named,
            dask=dask,
            dask_timeout=dask_timeout,
            progress=status.update,
            max_groups=max_groups,
        )
    try:
        paths = render_all(outcome.report, out)
    except OSError as exc:
        raise ReportWriteFailed(out, exc.strerror or str(exc)) from None
    _show(outcome, paths)
    raise typer.Exit(EXIT_CODES[outcome.report.verdict])


def _finish_run(outcome: AuditRun) -> None:
    """Print a governed run's verdict, why, its checks, run id, report hash and directory;
    exit with its code (review, session 26: an INCONCLUSIVE run printed only its verdict)."""
    from audit.errors import AuditError
    from audit.render import VERDICT_COLOURS, verdict_sentence
    from audit.report import Report

    colour = VERDICT_COLOURS.get(outcome.verdict, "white")
    console.print(
        f"[bold {colour}]{outcome.verdict}[/]  model {literal(outcome.model_name)}: "
        f"{outcome.model_status}"
    )
    try:
        report = Report.from_bytes((outcome.report_dir / "report.json").read_bytes()).model
    except (OSError, AuditError) as exc:
        console.print(f"[yellow]the report's checks cannot be shown: {literal(exc)}[/]")
    else:
        console.print(literal(verdict_sentence(report)))
        console.print(_evidence_line(report))
        lines = (CheckLine.of_view(c) for c in report.audit.checks)
        console.print(checks_table(lines), soft_wrap=False)
    console.print(f"run {outcome.run_id}")
    console.print(
        f"report hash {outcome.report_hash} (anchored under policy v{outcome.policy_version})"
    )
    console.print(f"reports in {literal(outcome.report_dir)}")
    raise typer.Exit(EXIT_CODES.get(outcome.verdict, 2))


def _with_stages(
    stages: tuple[str, ...], start: Callable[[Callable[[str, int, int], None]], AuditRun]
) -> AuditRun:
    """Run ``start(advance)`` under a progress bar over ``stages``; return its outcome."""
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), console=console
    ) as progress:
        task = progress.add_task("starting", total=len(stages))

        def advance(stage: str, step: int, total: int) -> None:
            progress.update(task, description=stage, completed=step, total=total)

        outcome = start(advance)
        progress.update(task, description="done", completed=len(stages))
    return outcome


@app.command("run")
@friendly_errors
def run(
    spec_file: Annotated[
        Path, typer.Argument(help="Model spec (YAML or JSON): name, dataset, estimator, seed…")
    ],
) -> None:
    """Train, audit, report and anchor a model under the voted policy; the exit status is
    0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 for input errors or a refused dataset."""
    from audit.spec import load_spec

    spec = load_spec(spec_file)  # a bad spec is refused before the heavy imports below
    from audit.runs import STAGES
    from audit.service import run_audit

    ctx = load_context()
    _finish_run(
        _with_stages(STAGES, lambda advance: run_audit(ctx.audit_env, spec, progress=advance))
    )


@app.command("federated")
@friendly_errors
def federated(
    spec_file: Annotated[
        Path,
        typer.Argument(help="Federated spec (YAML or JSON) with federated: true and dataset ids"),
    ],
    superlink: Annotated[
        str, typer.Option(help="The Flower SuperLink the providers' nodes are connected to")
    ] = "127.0.0.1:9093",
    work_dir: Annotated[
        Path | None, typer.Option(help="Where Flower's run files go (default: data dir)")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds the whole run may take")] = 1800.0,
) -> None:
    """Train where the data lives, audit the nodes' summed counts under the voted policy,
    anchor the report and gate the model; exit status as for ``fairgov audit run``."""
    from audit.federated.governed import load_federated_spec, run_federated_audit

    spec = load_federated_spec(spec_file)
    ctx = load_context()
    env = ctx.audit_env
    directory = work_dir if work_dir is not None else env.data_dir / "federated" / spec.name
    outcome = run_federated_audit(
        env,
        spec,
        superlink=superlink,
        work_dir=directory,
        say=console.print,
        timeout=timeout,
    )
    _finish_run(outcome)


@app.command("external")
@friendly_errors
def external(
    spec_file: Annotated[
        Path,
        typer.Argument(help="External audit spec (YAML or JSON): name, model_hash, dataset…"),
    ],
) -> None:
    """Score a registered ONNX model on a voted dataset with onnxruntime, audit it under the
    voted policy, anchor the report and gate the model's hash; exit status as for
    ``fairgov audit run``."""
    from audit.external import STAGES, load_external_spec, run_external_audit

    spec = load_external_spec(spec_file)
    ctx = load_context()
    _finish_run(
        _with_stages(
            STAGES, lambda advance: run_external_audit(ctx.audit_env, spec, progress=advance)
        )
    )
