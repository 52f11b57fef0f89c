"""``fairgov guardian``: the protection of loosening, and the fairness guardian's cancel."""

from __future__ import annotations

from typing import Annotated

import typer
from eth_account import Account
from rich.console import Console
from sqlmodel import Session

from cli._errors import fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli.compose import load_context
from core.numbers import uint256_from_text
from governance.guardian import prepare_guardian_cancel, submit_guardian_cancel
from governance.index.indexer import Indexer
from governance.protection import read_protection

console = Console(highlight=False, soft_wrap=True)

app = typer.Typer(
    help="The fairness guardian: who may cancel loosening proposals, and cancelling them.",
    no_args_is_help=True,
)


@app.command("show")
@friendly_errors
def show_command() -> None:
    """Show the guardian, the supermajority, both voting periods and the timelock delay."""
    ctx = load_context()
    p = read_protection(ctx.w3, ctx.deployment.addresses)
    fraction = p.supermajority
    console.print(f"guardian                 {p.guardian or 'none (nobody may cancel)'}")
    console.print(
        f"supermajority            {fraction.numerator}/{fraction.denominator} of FOR + AGAINST "
        "for loosening proposals (others: more than 1/2)"
    )
    console.print(f"voting period            {p.voting_period} blocks")
    console.print(f"loosening voting period  at least {p.loosening_voting_period} blocks")
    console.print(f"timelock delay           {p.timelock_delay} s")


@app.command("cancel")
@friendly_errors
def cancel_command(
    proposal_id: Annotated[str, typer.Argument(help="The loosening proposal to cancel.")],
    *,
    dry_run: Annotated[bool, typer.Option(help="Check and show; sign and send nothing.")] = False,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Cancel a loosening proposal as the fairness guardian, who signs and pays."""
    pid = uint256_from_text(proposal_id)  # isdigit() took other scripts' digits
    if pid is None:
        raise fail(f"{proposal_id!r} is not a proposal id: use its decimal number")
    ctx, key, guardian = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    with console.status("syncing the chain index"):
        Indexer(ctx.engine, ctx.w3, ctx.deployment, confirmations=ctx.settings.confirmations).sync()
    with Session(ctx.engine) as session:
        prepared = prepare_guardian_cancel(
            session, ctx.w3, ctx.deployment, proposal_id=pid, guardian=guardian
        )
    console.print(f"cancel proposal {prepared.proposal_id} as guardian {prepared.guardian}")
    if dry_run:
        console.print("dry run: nothing was signed or sent")
        return
    raw = bytes(Account.sign_transaction(prepared.transaction, key).raw_transaction)
    with Session(ctx.engine) as session:
        item, _ = submit_guardian_cancel(
            session, raw, w3=ctx.w3, deployment=ctx.deployment, proposal_id=prepared.proposal_id
        )
    console.print(f"accepted: relay #{item.id}, transaction {item.tx_hash}")
