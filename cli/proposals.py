"""``fairgov propose``: draft a policy change, sign it with the proposer's key, relay it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from eth_account import Account
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from sqlmodel import Session

from cli._context import load_context
from cli._errors import fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, load_key
from governance.actions import Action, describe
from governance.intake import submit_raw_proposal
from governance.proposals import prepare_proposal

console = Console(highlight=False, soft_wrap=True)
_ACTIONS = TypeAdapter(list[Action])


def _read_actions(path: Path) -> list[Action]:
    try:
        return _ACTIONS.validate_json(path.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise fail(f"{path}: action {where}: {first['msg']}") from None


@friendly_errors
def propose(
    actions_file: Annotated[
        Path, typer.Argument(help='JSON list of actions, e.g. [{"kind": "set_threshold", …}].')
    ],
    *,
    description: Annotated[str, typer.Option(help="What the proposal does and why.")],
    dry_run: Annotated[bool, typer.Option(help="Show the decoded proposal; send nothing.")] = False,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Propose policy actions. The proposer signs and pays for the transaction."""
    actions = _read_actions(actions_file)
    ctx = load_context()
    key = load_key(
        key_file=key_file,
        keystore=keystore,
        dev_account=dev_account,
        chain_id=ctx.deployment.chain_id,
    )
    proposer = Account.from_key(key).address
    prepared = prepare_proposal(
        ctx.w3, ctx.deployment, proposer=proposer, actions=actions, description=description
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
