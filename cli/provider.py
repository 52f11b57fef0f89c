"""``fairgov provider``: a data provider's consent and a record owner's inclusion proof.

Offer a committed dataset with a signature, withdraw it without a vote, hand a record owner
the proof that their record is in it, check such a proof against the chain, and serve the
dataset to federated runs as a Flower SuperNode (``serve``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from eth_account import Account
from rich.console import Console

from cli._errors import fail, friendly_errors
from cli._keys import DevAccountOption, KeyFileOption, KeystoreOption, context_and_signer
from cli._text import literal
from cli.compose import load_context
from cli.rewards import claim, list_rewards
from core.db import session_scope
from core.types import is_hash32

if TYPE_CHECKING:
    from audit.inclusion import AuditedModel, ScoredModel

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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: a proof naming a field twice would show
    a reader one value and be verified with the other."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"it names {key!r} twice")
        found[key] = value
    return found


def _dataset_id(dataset: str) -> str:
    """The id of a dataset named by its name, or by its id (0x and 64 hex digits)."""
    from governance.actions import dataset_id_of

    if dataset.startswith(("0x", "0X")):
        if not is_hash32(dataset.lower()):
            raise fail(
                f"{dataset!r} is not a dataset id (0x and 64 hex digits): give the id or the name"
            )
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
    from audit.manifest_data import check_offerable
    from audit.records_check import check_records_root
    from governance.consent import check_offer, sign_offer

    if terms_hash is not None and not is_hash32(terms_hash):
        raise fail(f"--terms-hash {terms_hash!r}: give the terms' sha256 as 0x and 64 hex digits")
    manifest = _manifest(manifest_file)
    with console.status("checking the records against the manifest's records root") as status:
        check_records_root(
            manifest,
            salts,
            on_progress=lambda count: status.update(
                f"checking the records against the manifest's records root: {count:,} read"
            ),
        )
    ctx, key, provider = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    with session_scope(ctx.engine) as session:
        check_offerable(session, manifest)
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
    unlisted: Annotated[
        bool,
        typer.Option(
            help="Withdraw a dataset that is not on chain and that no open proposal offers: "
            "this voids offers you signed that nobody has proposed yet (without it, such a "
            "withdrawal is refused as a likely typo)."
        ),
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
    from governance.intake.withdrawals import accept_withdrawal, check_withdrawal_target

    dataset_id = _dataset_id(dataset)
    if unlisted and gasless:
        raise fail(
            "--unlisted with --gasless: the relayer does not pay for a withdrawal of a dataset "
            "that is not on chain; send it yourself (drop --gasless)"
        )
    ctx, key, provider = context_and_signer(
        key_file=key_file, keystore=keystore, dev_account=dev_account
    )
    if not unlisted:
        with session_scope(ctx.engine) as session:
            check_withdrawal_target(session, ctx.w3, ctx.deployment, dataset_id)
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
    row: Annotated[
        int,
        typer.Option(
            min=0,
            help="The record's row, from 0; in a folder or glob, counted on across its "
            "files in their sorted order.",
        ),
    ],
) -> None:
    """Print one record's inclusion proof as JSON, for the record's owner.

    The proof is the record's fields, its salt and its Merkle path: it reveals that record
    and its salt, nothing else."""
    from audit.commitments import build_commitments, prove, read_salts
    from audit.errors import ManifestLacksRecordsRoot, RecordsCountMismatch, RecordsRootMismatch
    from audit.manifest import manifest_records

    manifest = _manifest(manifest_file)
    if manifest.records_root is None:  # registered without --salts: nothing was committed
        raise ManifestLacksRecordsRoot(manifest.name)
    kept: list[bytes] = []
    with console.status("reading the records") as status:
        records = _keeping(
            manifest_records(
                manifest, on_progress=lambda n: status.update(f"reading the records: {n:,}")
            ),
            row,
            kept,
        )
        commitments = build_commitments(records, salts=read_salts(salts))
    if commitments.root != manifest.records_root:  # most likely another dataset's salts file
        raise RecordsRootMismatch(manifest.name, manifest.records_root, commitments.root)
    if manifest.records is not None and commitments.count != manifest.records:
        raise RecordsCountMismatch(manifest.name, manifest.records, commitments.count)
    proof = prove(commitments, row)
    typer.echo(
        json.dumps(
            {
                "dataset_id": manifest.dataset_id,
                "records_root": proof.root,
                "record": json.loads(kept[0]),
                "salt": "0x" + proof.salt.hex(),
                "proof": list(proof.path),
            },
            indent=2,
        )
    )


def _keeping(records: Iterator[bytes], row: int, kept: list[bytes]) -> Iterator[bytes]:
    """``records`` passed on as they stream, record ``row`` also appended to ``kept``."""
    for index, record in enumerate(records):
        if index == row:
            kept.append(record)
        yield record


@app.command("check")
@friendly_errors
def check_command(
    proof_file: Annotated[Path, typer.Argument(help="A proof from `fairgov provider prove`.")],
) -> None:
    """Check an inclusion proof against the records root on chain.

    Also lists the audited models the dataset trained, and apart from them the external
    models fairgov only scored on it (trained elsewhere)."""
    from audit.commitments import SALT_BYTES
    from audit.errors import InvalidInclusionProof
    from audit.inclusion import check_inclusion
    from governance.policy.snapshot import read_snapshot

    try:
        claim = json.loads(proof_file.read_text("utf-8"), object_pairs_hook=_unique_keys)
        if not isinstance(claim, dict):
            raise TypeError("it is not a JSON object")
        dataset_id, record, salt, path = (
            claim["dataset_id"],
            claim["record"],
            bytes.fromhex(claim["salt"].removeprefix("0x")),
            claim["proof"],
        )
        # Every field is checked before the stack is looked for: no node is needed for this.
        if not isinstance(dataset_id, str) or not isinstance(record, dict):
            raise TypeError("its dataset_id must be text and its record a JSON object")
        if not is_hash32(dataset_id):
            raise ValueError("its dataset_id must be 0x and 64 hex digits")
        if not all(isinstance(v, str | None) for v in record.values()):
            raise TypeError("every field of its record must be text or null")
        if not isinstance(path, list) or not all(isinstance(step, str) for step in path):
            raise TypeError("its proof must be a list of 0x hashes")
        if len(salt) != SALT_BYTES:
            raise ValueError(f"its salt must be {SALT_BYTES} bytes, not {len(salt)}")
    except (OSError, ValueError, KeyError, AttributeError, TypeError, RecursionError) as exc:
        raise InvalidInclusionProof(str(proof_file), str(exc)) from exc
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
    console.print(f"the record verified: {literal(json.dumps(record, sort_keys=True))}")
    if not result.models:
        console.print("no audited model was trained on it here")
    for m in result.models:
        console.print(f"  trained {m.model_name} {m.model_hash} in run {m.run_id}: {_outcome(m)}")
    for s in result.scored:
        console.print(
            f"  scored by external model {s.model_name} {s.model_hash} in run {s.run_id} "
            f"({_scored_rows(s)}; trained elsewhere, not by fairgov): {_outcome(s)}"
        )


def _outcome(model: AuditedModel) -> str:
    """A listed run's verdict, whether its report is anchored, and the model's status now."""
    verdict = model.verdict or "no verdict"
    anchored = ", report anchored" if model.anchored else ""
    reason = f" ({model.reason})" if model.reason else ""
    now = f"; now {model.status}{reason}" if model.status else ""
    return f"{verdict}{anchored}{literal(now)}"


def _scored_rows(model: ScoredModel) -> str:
    """Which of the dataset's rows an external model was given: a held-out split may have
    left this record out."""
    scored, rows = model.scored_rows, model.dataset_rows
    if scored is None or rows is None:
        return "rows scored not recorded"
    if scored >= rows:
        return "every row scored"
    return f"{scored:,} of its {rows:,} rows scored, perhaps not this one"


# A provider's rewards are the rewards group's commands, under the provider's name too.
app.command("rewards", help="A provider's rewards: epochs, amounts, status.")(list_rewards)
app.command("claim", help="Claim an epoch's reward without gas (fairgov relays it).")(claim)


@app.command("serve")
@friendly_errors
def serve_command(
    *,
    data: Annotated[Path, typer.Option(help="The dataset's file, as registered (its bytes).")],
    manifest: Annotated[
        Path | None,
        typer.Option(
            help="The dataset's manifest, as offered: runs check your row counts against its "
            "record count (default: the one `fairgov datasets register` stored in the data "
            "directory)."
        ),
    ] = None,
    dataset_id: Annotated[
        str, typer.Option(help="The dataset's name or its bytes32 id (0x…, 66 characters).")
    ],
    superlink: Annotated[
        str, typer.Option(help="HOST:PORT of the SuperLink fairgov's operator runs.")
    ],
    rpc_url: Annotated[
        str | None,
        typer.Option(help="The chain node to read the policy from (default: the local stack)."),
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="TrainingPolicy address (default: the local stack's deployment)."),
    ] = None,
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="This node's local Flower API port.")
    ] = 9094,
    root_certificates: Annotated[
        Path | None,
        typer.Option(help="The SuperLink's CA certificate (PEM), for TLS; omit on loopback."),
    ] = None,
    key_file: KeyFileOption = None,
    keystore: KeystoreOption = None,
    dev_account: DevAccountOption = None,
) -> None:
    """Run a Flower SuperNode with fairgov's client app over your file, until Ctrl-C.

    Before every admission, round and audit the node re-reads the policy on chain and
    checks that the dataset is allowed, that it was offered with this key, and that the
    file's sha256 is the voted content hash. Its admission carries the voted manifest, so
    the run can check its row counts. Only model updates, a column summary, the manifest
    and per-group counts leave this machine; rows, features and labels never do.
    """
    import subprocess
    from contextlib import nullcontext

    from audit.federated.keyfolder import private_key_folder, stopped_by_signals
    from audit.federated.node import NodeConfig, check_dataset, voted_manifest
    from audit.federated.processes import flower_env, supernode_command
    from cli._keys import load_key
    from governance.chain.node import connect
    from governance.policy.snapshot import read_snapshot

    rpc_url, policy = _chain_of(rpc_url, policy)
    w3 = connect(rpc_url)
    key = load_key(
        key_file=key_file, keystore=keystore, dev_account=dev_account, chain_id=w3.eth.chain_id
    )
    try:
        content = data.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read the data file {data}: {exc.strerror}") from exc
    ident = _dataset_id(dataset_id)
    provider = str(Account.from_key(key).address)
    entry = check_dataset(read_snapshot(w3, policy), ident, content, provider)
    console.print(f"dataset {ident} is allowed and its file matches {entry.content_hash}")
    manifest = manifest.resolve() if manifest else _stored_manifest(entry.manifest_hash)
    voted_manifest(manifest, entry)  # the wrong manifest is one line now, not at admission
    if manifest is None:
        console.print(
            f"no manifest given or stored for {entry.manifest_hash}: runs cannot check this "
            "node's row counts (pass --manifest with the manifest you offered)"
        )
    # SIGTERM and SIGHUP unwind like Ctrl-C, so the decrypted key's folder is removed; a
    # folder left by a SIGKILLed node is removed by the next `provider serve`.
    code = 0
    with stopped_by_signals():
        try:
            held = nullcontext(key_file.resolve()) if key_file else private_key_folder(key)
            with held as key_path:
                config = NodeConfig(
                    data.resolve(), ident, key_path, rpc_url, policy, manifest=manifest
                )
                command = supernode_command(
                    config, superlink=superlink, port=port, root_certificates=root_certificates
                )
                console.print(
                    f"serving as {provider} through the SuperLink at {superlink}; Ctrl-C stops"
                )
                node = subprocess.Popen(command, env=flower_env())
                try:
                    code = node.wait()
                finally:
                    _stop(node)
        except KeyboardInterrupt:
            return
    if code not in (0, -2, -1, -15, 129, 130, 143):
        raise fail(f"the SuperNode exited with code {code}: see its output above")


def _stop(node: Any, grace: float = 10.0) -> None:
    """Stop the SuperNode (and so its ClientApp processes) before its key file goes."""
    import subprocess

    if node.poll() is not None:
        return
    node.terminate()
    try:
        node.wait(grace)
    except subprocess.TimeoutExpired:
        node.kill()
        node.wait()


def _stored_manifest(manifest_hash: str) -> Path | None:
    """The manifest ``fairgov datasets register`` stored in the data directory under
    ``manifest_hash`` (``datasets/<name>/<hash>.json``), if any."""
    from core.settings import Settings

    folder = Settings().data_dir / "datasets"
    return next(iter(sorted(folder.glob(f"*/{manifest_hash.lower()[2:]}.json"))), None)


def _chain_of(rpc_url: str | None, policy: str | None) -> tuple[str, str]:
    if rpc_url is not None and policy is not None:
        return rpc_url, policy
    ctx = load_context()
    return rpc_url or ctx.rpc_url, policy or ctx.deployment.addresses.training_policy
