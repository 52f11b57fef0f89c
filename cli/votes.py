"""``fairgov vote``, ``fairgov delegate`` and ``fairgov relay``: signed messages, no gas."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer
from eth_account import Account
from eth_account.messages import encode_typed_data
from rich.console import Console

from cli._errors import friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli.compose import Context, load_context
from core.numbers import uint256_from_text
from core.types import Address, to_address
from governance.intake import IntakeService, governor_domain, token_domain
from governance.messages.ballots import Ballot, Delegation
from governance.messages.eip712 import ballot_typed_data, delegation_typed_data
from governance.messages.kinds import RelayKind
from governance.relay.outbox import RelayItem
from governance.relay.relayer import Relayer

console = Console(highlight=False, soft_wrap=True)


class Choice(StrEnum):
    AGAINST = "against"
    FOR = "for"
    ABSTAIN = "abstain"


SUPPORT = {Choice.AGAINST: 0, Choice.FOR: 1, Choice.ABSTAIN: 2}


def _sign(private_key: str, typed: dict[str, object]) -> str:
    signable = encode_typed_data(full_message=typed)
    return "0x" + bytes(Account.sign_message(signable, private_key).signature).hex()


def _show(item: RelayItem, created: bool) -> None:
    verb = "accepted" if created else "already accepted"
    console.print(f"{verb}: relay #{item.id}, status {item.status}")
    console.print("the relayer sends it; `fairgov relay` sends everything queued now")


def _intake(ctx: Context) -> IntakeService:
    """The same intake as the API's: the chain index stands in while the node is down."""
    return IntakeService.for_node(ctx.engine, ctx.w3, ctx.deployment, rpc_url=ctx.rpc_url)


@friendly_errors
def vote(
    proposal_id: Annotated[str, typer.Argument(help="The proposal id (decimal).")],
    choice: Annotated[Choice, typer.Argument(help="for, against or abstain.")],
    *,
    reason: Annotated[str | None, typer.Option(help="Why; stored on chain with the vote.")] = None,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Sign a ballot with your key and hand it to the relayer, which pays the gas."""
    pid = _proposal_id(proposal_id)  # before the stack is looked for: a typo is said first
    ctx, key, voter = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    intake = _intake(ctx)
    nonce, _ = intake.next_nonce(RelayKind.BALLOT, voter)
    support = SUPPORT[choice]
    typed = ballot_typed_data(
        governor_domain(ctx.deployment),
        proposal_id=pid,
        support=support,
        voter=voter,
        nonce=nonce,
        reason=reason,
    )
    ballot = Ballot(
        proposal_id=pid,
        support=support,
        voter=to_address(voter),
        nonce=nonce,
        reason=reason,
        signature=_sign(key, typed),
    )
    _show(*intake.accept_ballot(ballot))


@friendly_errors
def delegate(
    delegatee: Annotated[str, typer.Argument(help="Address that will vote with your tokens.")],
    *,
    valid_for: Annotated[
        int, typer.Option(min=60, help="Seconds the signed delegation stays valid.")
    ] = 3600,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Sign a delegation of your votes (to yourself or another holder) for the relayer to send."""
    target = _address(delegatee)  # before the stack is looked for: a typo is said first
    ctx, key, delegator = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    intake = _intake(ctx)
    nonce, _ = intake.next_nonce(RelayKind.DELEGATION, delegator)
    expiry = intake.chain_time() + valid_for
    typed = delegation_typed_data(
        token_domain(ctx.deployment), delegatee=target, nonce=nonce, expiry=expiry
    )
    delegation = Delegation(
        delegator=to_address(delegator),
        delegatee=target,
        nonce=nonce,
        expiry=expiry,
        signature=_sign(key, typed),
    )
    _show(*intake.accept_delegation(delegation))


@friendly_errors
def relay() -> None:
    """Send every queued ballot, delegation and proposal now, and wait until they are mined."""
    ctx = load_context()
    key = ctx.settings.relayer_private_key(ctx.deployment.chain_id)
    relayer = Relayer(ctx.engine, ctx.w3, ctx.deployment, key, rpc_url=ctx.rpc_url)
    started = time.monotonic()
    waiting = relayer.outstanding()
    with console.status("relaying"):
        relayer.start()
        report = relayer.run_until_idle()
    if not waiting and not (report.confirmed or report.failed):
        # "0 confirmed" read as a lost vote when `fairgov run` had already sent it.
        console.print(
            "nothing to relay: no accepted ballot, delegation or proposal is waiting (a "
            "running `fairgov run` sends them itself; see `fairgov proposals show`)"
        )
        return
    console.print(
        f"relayed in {time.monotonic() - started:.1f} s: {report.confirmed} confirmed, "
        f"{report.failed} failed"
    )


def _proposal_id(text: str) -> int:
    value = uint256_from_text(text)
    if value is None:
        raise typer.BadParameter(f"{text!r} is not a proposal id (its decimal digits)")
    return value


def _address(text: str) -> Address:
    try:
        return to_address(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an address (0x and 40 hex digits)") from None
