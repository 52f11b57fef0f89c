"""``fairgov provider``: a data provider's consent and a record owner's inclusion proof.

Offer a committed dataset with a signature, withdraw it without a vote, hand a record owner
the proof that their record is in it, and check such a proof against the chain.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from cli._errors import fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli.compose import load_context
from cli.rewards import claim, list_rewards
from core.db import session_scope

console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(
    help="Data providers: offer, withdraw, and prove that a record is in a dataset.",
    no_args_is_help=True,
)

_DAY = 24 * 3600
ManifestArgument = Annotated[Path, typer.Argument(help="The manifest JSON file.")]
SaltsOption = Annotated[Path, typer.Option(help="The salts file written with the manifest.")]


def _manifest(path: Path) -> Any:
    from audit.manifest import DatasetManifest

    try:
        return DatasetManifest.from_json(path.read_bytes())
    except OSError as exc:
        raise fail(f"cannot read the manifest {path}: {exc.strerror}") from exc


def _dataset_id(dataset: str) -> str:
    from governance.actions import dataset_id_of

    if dataset.startswith("0x") and len(dataset) == 66:
        return dataset.lower()
    return dataset_id_of(dataset)


@app.command("offer")
@friendly_errors
def offer_command(
    manifest_file: ManifestArgument,
    *,
    salts: SaltsOption,
    valid_days: Annotated[int, typer.Option(min=1, max=3650, help="Days the offer holds.")] = 30,
    terms_hash: Annotated[
        str | None, typer.Option(help="sha256 of the terms text, if any beyond the licence.")
    ] = None,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Sign an offer of a committed dataset; print the allow_dataset action for a proposal.

    The records are checked against the manifest's root with the salts, and the signed
    offer against the policy contract, before anything is printed: what comes out is an
    action the DAO can execute. Save it and pass it to ``fairgov propose``.
    """
    from audit.manifest import check_records_root
    from governance.consent import check_offer, sign_offer

    manifest = _manifest(manifest_file)
    with console.status("checking the records against the manifest's records root"):
        check_records_root(manifest, salts)
    ctx, key, provider = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    offer = manifest.offer(
        provider=provider, issued_at=now, deadline=now + valid_days * _DAY, terms_hash=terms_hash
    )
    action = sign_offer(offer, key, ctx.deployment, name=manifest.name)
    check_offer(ctx.w3, ctx.deployment, action)
    console.print(
        f"{provider} offers {manifest.name} ({offer.dataset_id}), records root "
        f"{offer.records_root}, until {offer.deadline} (unix time)"
    )
    typer.echo(json.dumps([action.model_dump(mode="json")], indent=2))


@app.command("withdraw")
@friendly_errors
def withdraw_command(
    dataset: Annotated[str, typer.Argument(help="The dataset's name or id.")],
    *,
    gasless: Annotated[
        bool,
        typer.Option(help="Sign only; fairgov's relayer sends it and pays (the stack relays it)."),
    ] = False,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Withdraw consent to a dataset now, without a vote.

    The provider sends and pays, or with --gasless signs and fairgov relays. Every model
    trained on it is blocked from the next block fairgov's index sees, and the scheduler
    retrains each one on its remaining datasets.
    """
    from governance.actions import DatasetWithdrawal
    from governance.chain.rpc import RpcBatch
    from governance.consent import sign_withdrawal, withdraw_directly
    from governance.intake.withdrawals import accept_withdrawal

    ctx, key, provider = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    dataset_id = _dataset_id(dataset)
    if not gasless:
        tx_hash = withdraw_directly(ctx.w3, ctx.deployment, key, dataset_id)
        console.print(f"{provider} withdrew {dataset} ({dataset_id}) in transaction {tx_hash}")
        return
    now = int(ctx.w3.eth.get_block("latest")["timestamp"])
    withdrawal = DatasetWithdrawal(dataset_id=dataset_id, provider=provider, issued_at=now)
    signature = sign_withdrawal(withdrawal, key, ctx.deployment)
    with session_scope(ctx.engine) as session:
        item = accept_withdrawal(
            session,
            ctx.w3,
            RpcBatch(ctx.rpc_url),
            ctx.deployment,
            withdrawal=withdrawal,
            signature=signature,
        )
        relay_id, status = item.id, item.status
    console.print(
        f"{provider} signed the withdrawal of {dataset} ({dataset_id}): relay #{relay_id} "
        f"{status}; `fairgov relay` or the running stack sends it"
    )


@app.command("prove")
@friendly_errors
def prove_command(
    manifest_file: ManifestArgument,
    *,
    salts: SaltsOption,
    row: Annotated[int, typer.Option(min=0, help="The record's row in the file, from 0.")],
) -> None:
    """Print one record's inclusion proof as JSON, for the record's owner.

    The proof is the record's fields, its salt and its Merkle path: it reveals that record
    and its salt, nothing else."""
    from audit.commitments import build_commitments, prove, read_records, read_salts

    manifest = _manifest(manifest_file)
    records = list(read_records(manifest.local_path(), columns=manifest.columns))
    commitments = build_commitments(records, salts=read_salts(salts, records=len(records)))
    if commitments.root != manifest.records_root:
        raise fail("the salts do not rebuild the manifest's records root: wrong salts file?")
    proof = prove(commitments, row)
    typer.echo(
        json.dumps(
            {
                "dataset_id": manifest.dataset_id,
                "records_root": proof.root,
                "record": json.loads(records[row]),
                "salt": "0x" + proof.salt.hex(),
                "proof": list(proof.path),
            },
            indent=2,
        )
    )


@app.command("check")
@friendly_errors
def check_command(
    proof_file: Annotated[Path, typer.Argument(help="A proof from `fairgov provider prove`.")],
) -> None:
    """Check an inclusion proof against the records root on chain.

    Also lists the audited models the dataset trained."""
    from audit.inclusion import check_inclusion
    from governance.policy.snapshot import read_snapshot

    try:
        claim = json.loads(proof_file.read_text("utf-8"))
        dataset_id, record, salt, path = (
            claim["dataset_id"],
            claim["record"],
            bytes.fromhex(claim["salt"].removeprefix("0x")),
            claim["proof"],
        )
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise fail(f"{proof_file} is not a proof from `fairgov provider prove` ({exc})") from exc
    ctx = load_context()
    snapshot = read_snapshot(ctx.w3, ctx.deployment.addresses.training_policy)
    with session_scope(ctx.engine) as session:
        result = check_inclusion(
            session, snapshot, dataset_id=dataset_id, record=record, salt=salt, proof=path
        )
    entry = result.dataset
    state = (
        "withdrawn by its provider"
        if entry.withdrawn
        else ("allowed" if entry.allowed else "not allowed")
    )
    console.print(
        f"the record is in dataset {entry.dataset_id} (records root {entry.records_root}, "
        f"provider {entry.provider}, {state}); a commitment check, not a zero-knowledge proof"
    )
    if not result.models:
        console.print("no audited model was trained on it here")
    for m in result.models:
        verdict = m.verdict or "no verdict"
        anchored = ", report anchored" if m.anchored else ""
        console.print(
            f"  trained {m.model_name} {m.model_hash} in run {m.run_id}: {verdict}{anchored}"
        )


# A provider's rewards are the rewards group's commands, under the provider's name too.
app.command("rewards", help="A provider's rewards: epochs, amounts, status.")(list_rewards)
app.command("claim", help="Claim an epoch's reward without gas (fairgov relays it).")(claim)
