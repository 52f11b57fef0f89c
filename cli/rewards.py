"""``fairgov rewards``: post approved runs' reward roots, list and verify rewards, claim."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account
from eth_account.messages import encode_typed_data
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlmodel import Session

from cli._errors import fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli._text import literal, moment, tokens
from cli.compose import load_context
from core.types import to_address
from governance.chain.rpc import RpcBatch
from governance.rewards import (
    CLAIM_DEADLINE_MARGIN,
    SignedClaim,
    accept_claim,
    claim_typed_data,
    parse_statement,
    read_epoch,
    rewards_domain,
    verify_statement,
)

app = typer.Typer(
    help="Data providers' rewards: roots, statements and claims.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(highlight=False, soft_wrap=True)


@app.command()
@friendly_errors
def post() -> None:
    """Build, store and post the reward root of every approved run not yet posted."""
    from audit.rewards.service import post_due_rewards

    ctx = load_context()
    with console.status("posting reward roots") as status:
        outcome = post_due_rewards(
            ctx.audit_env, progress=lambda run, what: status.update(f"{run[:10]}…: {what}")
        )
    for run_id, epoch in outcome.posted:
        console.print(f"run {run_id}: epoch {epoch}")
    for run_id, code in outcome.failed:
        console.print(f"[red]run {run_id}: {code}[/]")
    if not outcome.posted and not outcome.failed:
        console.print("nothing to post: every approved run has its root")
    if outcome.failed:
        raise typer.Exit(1)


@app.command(name="list")
@friendly_errors
def list_rewards(
    provider: Annotated[str, typer.Argument(help="The provider's address.")],
) -> None:
    """A provider's rewards: epoch, model, amount and status."""
    from audit.rewards.claims import provider_rewards

    ctx = load_context()
    with Session(ctx.engine) as session:
        found = provider_rewards(session, ctx.w3, ctx.deployment.addresses.rewards, provider)
    # The chain's clock decides the window (a local chain's may run ahead of this machine's).
    now = int(ctx.w3.eth.get_block("latest")["timestamp"]) if found else 0
    table = Table(title=f"rewards of {to_address(provider)}")
    for header in ("epoch", "model", "amount", "status", "challenge window ends (UTC)"):
        table.add_column(header)
    for reward in found:
        table.add_row(
            str(reward.epoch),
            literal(reward.model_name),
            tokens(reward.amount),
            reward.status,
            moment(reward.challenge_ends, now),
        )
    console.print(table)


@app.command()
@friendly_errors
def statement(
    epoch: Annotated[int, typer.Argument(min=1, help="The epoch.")],
    out: Annotated[Path, typer.Option(help="Where to write the canonical JSON.")] = Path(
        "statement.json"
    ),
) -> None:
    """Write an epoch's reward statement (checked against the chain first)."""
    from audit.rewards.claims import verified_statement

    ctx = load_context()
    rewards = ctx.deployment.addresses.rewards
    with Session(ctx.engine) as session:
        found = verified_statement(session, ctx.w3, rewards, epoch)
    try:
        out.write_bytes(found.canonical_json())
    except OSError as exc:
        raise fail(f"cannot write --out {out}: {exc.strerror or exc}") from None
    console.print(f"wrote {out}: sha256 {found.hash}, the hash anchored for epoch {epoch}")
    if read_epoch(ctx.w3, rewards, epoch).cancelled:
        console.print(f"[yellow]epoch {epoch}'s root was cancelled[/]: it pays nothing")


@app.command()
@friendly_errors
def verify(
    path: Annotated[Path, typer.Argument(help="A statement.json file.")],
    epoch: Annotated[int, typer.Option(min=1, help="The epoch it claims to be.")],
) -> None:
    """Check a statement file against the chain's anchor and recompute its split."""
    if not path.is_file():
        problem = "is a folder" if path.is_dir() else "does not exist"
        raise fail(f"{path} {problem}: download the statement with `fairgov rewards statement`")
    try:
        found = parse_statement(path.read_bytes())
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise fail(f"{path} is not a reward statement ({problem})") from None
    ctx = load_context()  # after the file's own checks: no node is needed for those
    rewards = ctx.deployment.addresses.rewards
    state = read_epoch(ctx.w3, rewards, epoch)
    verify_statement(found, state, chain_id=ctx.w3.eth.chain_id, rewards=rewards)
    console.print(
        f"[green]verified[/]: epoch {epoch} pays by this statement (its hash, root, run and "
        f"total are the epoch's on chain); its {len(found.allocations)} amounts and root "
        f"recompute from its inputs ({found.split_rule})"
    )
    if state.cancelled:
        console.print(f"[yellow]but epoch {epoch}'s root was cancelled[/]: it pays nothing")


@app.command()
@friendly_errors
def claim(
    epoch: Annotated[int, typer.Argument(min=1, help="The epoch to claim.")],
    *,
    valid_for: Annotated[
        int,
        typer.Option(min=CLAIM_DEADLINE_MARGIN, help="Seconds the signed claim stays valid."),
    ] = 3600,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Sign your claim of an epoch and hand it to the relayer, which pays the gas."""
    from audit.rewards.claims import claim_inputs

    ctx, key, account = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    rewards = ctx.deployment.addresses.rewards
    with Session(ctx.engine) as session:
        inputs = claim_inputs(session, ctx.w3, rewards, epoch, account)
        deadline = int(ctx.w3.eth.get_block("latest")["timestamp"]) + valid_for
        typed = claim_typed_data(
            rewards_domain(ctx.deployment.chain_id, rewards),
            epoch=epoch,
            account=account,
            amount=inputs.amount,
            deadline=deadline,
        )
        signature = Account.sign_message(encode_typed_data(full_message=typed), key).signature
        signed = SignedClaim(
            epoch=epoch,
            account=to_address(account),
            amount=inputs.amount,
            deadline=deadline,
            proof=inputs.proof,
            signature="0x" + bytes(signature).hex(),
        )
        item = accept_claim(session, ctx.w3, RpcBatch(ctx.rpc_url), signed, rewards=rewards)
    console.print(f"accepted: relay #{item.id}, claim of {tokens(inputs.amount)} tokens")
    console.print("the relayer sends it; `fairgov relay` sends everything queued now")
