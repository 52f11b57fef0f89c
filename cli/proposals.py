"""``fairgov propose``: draft a policy change, sign it with the proposer's key, relay it;
``fairgov proposals``: list, show and preview the impact of proposals and drafts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from eth_account import Account
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TextColumn
from rich.progress import Progress as RichProgress
from rich.table import Table
from sqlmodel import Session

if TYPE_CHECKING:
    from audit.impact import FullPreview, ImpactPreview

from cli._errors import coded, fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli._text import literal, tokens
from cli.compose import Context, load_context
from core.errors import FairgovError
from governance.actions import (
    Action,
    SetGuardian,
    SetLooseningVotingPeriod,
    SetSupermajority,
    describe,
)
from governance.chain.view import PROPOSAL_STATES
from governance.errors import EmptyProposal
from governance.index.apply import recorded_supermajority
from governance.index.indexer import Indexer, get_proposal, list_proposals
from governance.index.models import Proposal
from governance.intake.service import next_transaction_nonce, submit_raw_proposal
from governance.messages.proposals import prepare_proposal
from governance.protection import majority_needed

console = Console(highlight=False, soft_wrap=True)
_ACTIONS = TypeAdapter(list[Action])
_ACTION: TypeAdapter[Action] = TypeAdapter(Action)


def _read_actions(path: Path) -> list[Action]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    try:
        return _ACTIONS.validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            problem = _json_problem(raw)
            raise fail(f"{path} is not valid JSON ({problem}): {_ACTIONS_HINT}") from None
        if not first["loc"]:  # the file's top level: not a list
            problem = first["msg"]
            raise fail(f"{path} holds no list of actions ({problem}): {_ACTIONS_HINT}") from None
        where = ".".join(str(p) for p in first["loc"])
        raise fail(f"{path}: action {where}: {first['msg']}") from None
    except FairgovError as exc:  # a domain check inside a validator: name the action
        raise fail(f"{path}: action {_failing(raw)}: {coded(exc)}") from None


_ACTIONS_HINT = (
    'write the actions as a JSON list, e.g. [{"kind": "set_threshold", "metric": '
    '"demographic_parity_difference", "value": "0.1", "direction": "upper"}], or save the '
    "output of `fairgov provider offer` in it"
)


def _json_problem(raw: bytes) -> str:
    """Where and why ``raw`` is not JSON, as people count lines and columns (review, session
    26: an empty file read ``action : Invalid JSON: EOF while parsing a value``)."""
    if not raw.strip():
        return "empty file"
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"line {exc.lineno} column {exc.colno}: {exc.msg}"
    except UnicodeDecodeError:
        return "not UTF-8 text"
    return "its numbers or strings are not ones JSON allows"  # Python's parser is laxer


def _failing(raw: bytes) -> str:
    """The index of the first action of ``raw`` (a JSON list) that does not validate."""
    for index, item in enumerate(json.loads(raw)):
        try:
            _ACTION.validate_json(json.dumps(item))
        except (ValidationError, FairgovError):
            return str(index)
    return "?"


ACTION_SYNTAX = "supermajority=N/D, loosening-period=BLOCKS or guardian=ADDRESS|none"


def parse_action(text: str) -> Action:
    """One ``--action``: a protection setting in ``key=value`` form."""
    key, _, value = text.partition("=")
    key, value = key.strip().lower(), value.strip()
    try:
        if key == "supermajority":
            numerator, _, denominator = value.partition("/")
            fraction = {"numerator": numerator.strip(), "denominator": denominator.strip()}
            return SetSupermajority.model_validate(fraction)
        if key == "loosening-period":
            return SetLooseningVotingPeriod.model_validate({"blocks": value})
        if key == "guardian":
            return SetGuardian(guardian=None if value.lower() == "none" else value)
    except ValidationError as exc:
        raise fail(f"--action {text}: {exc.errors()[0]['msg']}") from None
    raise fail(f"unknown --action {text!r}: use {ACTION_SYNTAX}, or an actions file")


@friendly_errors
def propose(
    actions_file: Annotated[
        Path | None,
        typer.Argument(help='JSON list of actions, e.g. [{"kind": "set_threshold", …}].'),
    ] = None,
    *,
    description: Annotated[str, typer.Option(help="What the proposal does and why.")],
    shorthand: Annotated[
        list[str] | None,
        typer.Option(
            "--action", help=f"A protection setting, after the file's actions: {ACTION_SYNTAX}."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the decoded proposal; send nothing.")] = False,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Propose policy actions. The proposer signs and pays for the transaction."""
    from audit.manifest import check_offers_registered

    if actions_file is None and not shorthand:
        raise fail(f"give an actions file, or --action {ACTION_SYNTAX}")
    actions = [] if actions_file is None else _read_actions(actions_file)
    actions += [parse_action(text) for text in shorthand or ()]
    if not actions:  # before the stack is looked for: no node is needed to see this
        raise EmptyProposal
    ctx, key, proposer = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    with Session(ctx.engine) as session:
        check_offers_registered(session, actions)
        # As the API does: after the proposer's transactions that fairgov holds.
        nonce = next_transaction_nonce(session, ctx.w3, ctx.deployment, proposer)
    prepared = prepare_proposal(
        ctx.w3,
        ctx.deployment,
        proposer=proposer,
        actions=actions,
        description=description,
        nonce=nonce,
    )
    console.print(f"proposal {prepared.proposal_id}")
    for action in prepared.actions:
        console.print(f"  - {describe(action)}")
    if dry_run:
        console.print("dry run: nothing was signed or sent")
        return
    raw = bytes(Account.sign_transaction(prepared.transaction, key).raw_transaction)
    with Session(ctx.engine) as session:
        item, _ = submit_raw_proposal(session, raw, w3=ctx.w3, deployment=ctx.deployment)
    console.print(f"accepted: relay #{item.id}, transaction {item.tx_hash}")


proposals_app = typer.Typer(help="Proposals as the chain index sees them.", no_args_is_help=True)


def _synced_session_context() -> tuple[Context, Session]:
    ctx = load_context()
    with console.status("syncing the chain index"):
        Indexer(ctx.engine, ctx.w3, ctx.deployment, confirmations=ctx.settings.confirmations).sync()
    return ctx, Session(ctx.engine)


@proposals_app.command("list")
@friendly_errors
def list_command(
    state: Annotated[
        str | None, typer.Option(help="Only proposals in this state, e.g. Active.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """List proposals, newest first, with their state and tallies."""
    if state is not None and state.capitalize() not in PROPOSAL_STATES:
        raise fail(f"unknown state {state!r}: use one of {', '.join(PROPOSAL_STATES)}")
    _, session = _synced_session_context()
    with session:
        rows = list_proposals(
            session,
            state=state.capitalize() if state else None,
            limit=limit,
        )
    if not rows:
        console.print("no proposals" + (f" in state {state}" if state else ""))
        return
    table = Table("id", "state", "for", "against", "abstain", "needs", "description", box=None)
    for row in rows:
        table.add_row(
            row.proposal_id,
            row.state,
            tokens(row.for_votes),
            tokens(row.against_votes),
            tokens(row.abstain_votes),
            _needs(row),
            literal(_description(row)[:60]),
        )
    console.print(table)


@proposals_app.command("show")
@friendly_errors
def show_command(proposal_id: Annotated[str, typer.Argument(help="The proposal id.")]) -> None:
    """Show one proposal: decoded actions, state, tallies, quorum and deadlines."""
    _, session = _synced_session_context()
    with session:
        row = get_proposal(session, proposal_id)
    if row is None:
        raise fail(f"there is no proposal {proposal_id} in the index: check the id")
    console.print(f"[bold]proposal {row.proposal_id}[/]")
    console.print(f"state      {row.state}")
    console.print(f"proposer   {row.proposer}")
    console.print(
        f"votes      for {tokens(row.for_votes)}, against {tokens(row.against_votes)}, "
        f"abstain {tokens(row.abstain_votes)}; quorum "
        f"{tokens(row.quorum) if row.quorum is not None else 'not yet known'}"
    )
    console.print(
        f"voting     blocks {row.snapshot + 1} to {row.deadline}"
        + (f" (extended from {row.vote_end})" if row.deadline != row.vote_end else "")
    )
    console.print(f"protection {_protection(row)}")
    if row.eta:
        console.print(f"executable from unix time {row.eta}")
    console.print("actions:")
    for action in _ACTIONS.validate_python(row.actions_list()):
        console.print(f"  - {describe(action)}")
    console.print(f"description: {literal(_description(row))}")


def _needs(row: Proposal) -> str:
    """The majority a proposal needs: ``>1/2``, or ``>=2/3 loosening``."""
    if row.loosening is None:
        return "?"
    needed = majority_needed(row.loosening, recorded_supermajority(row))
    if not row.loosening:
        return f">{needed.numerator}/{needed.denominator}"
    return f">={needed.numerator}/{needed.denominator} loosening"


def _protection(row: Proposal) -> str:
    if row.loosening is None:
        return "not classified yet"
    needed = majority_needed(row.loosening, recorded_supermajority(row))
    fraction = f"{needed.numerator}/{needed.denominator} of FOR + AGAINST"
    if not row.loosening:
        return f"not loosening: needs more than {fraction}"
    return (
        f"loosening ({', '.join(row.changes_list())}): needs at least {fraction}; "
        "the fairness guardian may cancel it until it executes"
    )


#: The suffix OpenZeppelin's Governor reads to restrict who may submit a description.
_PROPOSER_SUFFIX = re.compile(r"\s*#proposer=0x[0-9a-fA-F]{40}\s*$")


def _description(row: Proposal) -> str:
    """The description as its author wrote it: without the ``#proposer=0x…`` suffix, which
    ``proposals show`` gives as the proposer (review, session 26)."""
    return _PROPOSER_SUFFIX.sub("", row.description)


def _arrow(before: str | None, after: str | None) -> str:
    before, after = before or "-", after or "?"
    return before if before == after else f"{before} -> {after}"


def _show_quick(preview: ImpactPreview) -> None:
    from audit.impact import describe_rules, describe_veto_deadline

    console.print(describe_rules(preview.rules))
    console.print(describe_veto_deadline(preview.rules.veto))
    for note in preview.proposed.unmodelled:
        console.print(f"  not modelled: {note}")
    if not preview.models:
        console.print("no audited models to preview")
        return
    table = Table("model", "verdict", "gate", "change", "reason", box=None)
    for m in preview.models:
        table.add_row(
            m.model_name,
            _arrow(m.current_verdict, m.previewed_verdict),
            _arrow(m.current_status, m.previewed_status),
            m.change + (" (full preview needed)" if m.needs_full_preview else ""),
            "; ".join((f"judged from {m.judged_from.replace('_', ' ')}", *m.reasons)),
        )
    console.print(table)


def _show_full(full: FullPreview) -> None:
    quick = {m.model_hash: m for m in full.quick.models}
    table = Table("model", "quick", "full audit", "gate", "agrees", "reason", box=None)
    for m in full.models:
        before = quick.get(m.model_hash)
        table.add_row(
            m.model_name + (" (retrained)" if m.retrained else ""),
            "?" if before is None else str(before.previewed_verdict or "?"),
            str(m.verdict or "refused"),
            _arrow(None if before is None else before.current_status, m.status),
            {True: "yes", False: "NO", None: "-"}[m.agrees_with_quick],
            m.reason,
        )
    console.print(table)


@proposals_app.command("preview")
@friendly_errors
def preview_command(
    proposal_id: Annotated[
        str | None, typer.Argument(help="An indexed proposal's id (or give --actions).")
    ] = None,
    *,
    actions_file: Annotated[
        Path | None,
        typer.Option(
            "--actions", help="A draft: JSON list of actions, as `fairgov propose` takes."
        ),
    ] = None,
    full: Annotated[
        bool, typer.Option(help="Also audit every model again under the proposed policy.")
    ] = False,
) -> None:
    """What a proposal or a draft would do to every audited model, before the vote."""
    from audit.impact import full_preview, preview_draft, preview_proposal

    if (proposal_id is None) == (actions_file is None):
        raise fail("give a proposal id or --actions FILE (a draft), not both and not neither")
    if proposal_id is None:
        assert actions_file is not None
        actions = _read_actions(actions_file)
        ctx = load_context()
        preview = preview_draft(ctx.audit_env, actions)
        console.print("[bold]draft[/]")
    else:
        ctx, session = _synced_session_context()
        with session:
            row = get_proposal(session, proposal_id)
        if row is None:
            raise fail(f"there is no proposal {proposal_id} in the index: check the id")
        preview = preview_proposal(ctx.audit_env, row)
        console.print(f"[bold]proposal {row.proposal_id}[/] ({row.state})")
    for summary in preview.summaries:
        console.print(f"  - {summary}")
    _show_quick(preview)
    if not full or not preview.models:
        return
    with RichProgress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), console=console
    ) as progress:
        task = progress.add_task("full preview", total=None)

        def advance(stage: str, step: int, total: int) -> None:
            progress.update(task, description=stage, completed=step, total=total)

        outcome = full_preview(ctx.audit_env, preview, progress=advance)
        progress.update(task, description="done", completed=progress.tasks[0].total or 0)
    _show_full(outcome)
