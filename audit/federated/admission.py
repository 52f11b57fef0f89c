"""The server's side of admission: which nodes join a run, and for which dataset (#16).

The server asks nodes for their admission as they connect, until every dataset of the spec
is held or settled as refused (at most ``wait_seconds``). An admission is accepted when its
provider signature, dataset, content hash and nonce agree with the policy on chain (read
here too, so a node cannot speak for a provider it is not), its dataset is one the spec
names, and its row counts follow the spec's split and add up to the records its voted
manifest records (the manifest travels in the admission, checked against the voted
``manifestHash``). A node that sends no manifest, or whose voted manifest was built before
manifests counted their records, is admitted with its rows unverified, and the outcome
says so.

Only an admission whose signature verified as the dataset's voted provider can settle that
dataset as refused, or name it in a refusal. Any other refusal (an error reply, an
unreadable admission, another key, another dataset) is the node's own: it is listed under
the node, the dataset it named only as an unverified claim, and the server keeps waiting
for the dataset's real provider. Otherwise any node could shut a provider out of a run by
refusing in its name.
"""

from __future__ import annotations

import math
import secrets
import time

from flwr.app import Message, RecordDict
from flwr.serverapp import Grid

from audit.errors import DatasetHashMismatch, DatasetNotAllowed, InvalidManifest
from audit.federated import learning
from audit.federated.errors import (
    DatasetNotInSpec,
    DuplicateDataset,
    InvalidNodeReply,
    NodeDroppedOut,
    NodeNotProvider,
    TooFewNodes,
)
from audit.federated.protocol import SCHEMA, Action, Admission, RunPlan, Schema
from audit.federated.strategy import WAIT_NOTICE, Ledger, by_sender, exchange, say
from audit.manifest import DatasetManifest
from core.canonical import sha256_hex
from core.errors import FairgovError
from governance.chain.node import connect
from governance.policy.models import DatasetEntry, PolicySnapshot, allowed_dataset
from governance.policy.snapshot import read_snapshot

#: Accepted nodes: node id -> (its admission, its column summary).
Accepted = dict[int, tuple[Admission, learning.FrameSummary]]


def verified_entry(admission: Admission, snapshot: PolicySnapshot, nonce: str) -> DatasetEntry:
    """The policy's entry of the admission's dataset, when the admission answers this run's
    challenge and is signed by that dataset's voted provider: only then does the server
    know which dataset the node holds.

    Raises
    ------
    InvalidNodeReply, DatasetNotAllowed, NodeNotProvider
    """
    if admission.nonce != nonce:
        raise InvalidNodeReply("the admission answers another run's challenge")
    signer = admission.signer()
    entry = allowed_dataset(snapshot, admission.dataset_id)
    if entry is None:
        raise DatasetNotAllowed(admission.dataset_id, admission.dataset_id, snapshot.policy_version)
    if signer.lower() != entry.provider.lower() or signer.lower() != admission.provider.lower():
        raise NodeNotProvider(admission.dataset_id, entry.provider, signer)
    return entry


def heldout_share(rows: int, test_size: float) -> int:
    """How many of ``rows`` rows the spec's split holds out: what
    ``sklearn.model_selection.train_test_split`` (stratified or not) takes with a
    fractional ``test_size``, ``ceil(test_size * rows)``.

    Examples
    --------
    >>> heldout_share(300, 0.25), heldout_share(301, 0.25)
    (75, 76)
    """
    return math.ceil(test_size * rows)


def check_rows(admission: Admission, summary: learning.FrameSummary, schema: Schema) -> None:
    """Refuse row counts an honest node cannot send: the held-out rows must be exactly the
    spec's share (``test_size``) of the node's rows, both sides non-empty, and the column
    summary must count the training rows. A node that inflates its held-out rows to outweigh
    the others in the pooled audit is refused here.

    Raises
    ------
    InvalidNodeReply
    """
    train, heldout = admission.train_rows, admission.heldout_rows
    total = train + heldout
    expected = heldout_share(total, schema.test_size)
    if heldout != expected or train < 1 or heldout < 1:
        raise InvalidNodeReply(
            f"{train} training and {heldout} held-out rows do not follow the spec's split "
            f"(test_size {schema.test_size} holds out {expected} of {total} rows); run the "
            "node unmodified on the registered file"
        )
    if summary.rows != train:
        raise InvalidNodeReply(
            f"the column summary counts {summary.rows} rows, the admission {train} training "
            "rows; run the node unmodified on the registered file"
        )


def voted_records(admission: Admission) -> int | None:
    """The number of records the manifest in ``admission`` records: ``None`` without a
    manifest, or for one built before manifests counted their records.

    Raises
    ------
    InvalidNodeReply
        The manifest is not one.
    """
    if not admission.manifest:
        return None
    try:
        return DatasetManifest.from_json(admission.manifest).records
    except InvalidManifest as exc:
        raise InvalidNodeReply(f"the admission's manifest is unreadable ({exc.message})") from None


def counted_records(admission: Admission, plan: RunPlan) -> int | None:
    """The voted record count an accepted admission's rows were checked against
    (:func:`check_manifest`); None when none was known."""
    sent = voted_records(admission)
    return plan.records_of(admission.dataset_id) if sent is None else sent


def check_manifest(
    admission: Admission, entry: DatasetEntry, known: int | None = None
) -> int | None:
    """Refuse a manifest other than the dataset's voted one, and row counts that do not
    add up to the records the voted manifest records: the one the node sent, else the
    driver's copy (``known``, :meth:`RunPlan.records_of`). A node cannot scale its rows (and
    its summary) by a common factor past this: the count is voted with the manifest.
    Returns the count checked against, None when none is known.

    Raises
    ------
    InvalidNodeReply
    """
    records = known
    if admission.manifest:
        actual = sha256_hex(admission.manifest.encode())
        if actual != entry.manifest_hash.lower():
            raise InvalidNodeReply(
                f"the admission's manifest hashes to {actual}, not to the voted manifest hash "
                f"{entry.manifest_hash}; run the node with the manifest its provider offered"
            )
        sent = voted_records(admission)
        records = known if sent is None else sent
    train, heldout = admission.train_rows, admission.heldout_rows
    if records is not None and train + heldout != records:
        raise InvalidNodeReply(
            f"{train} training and {heldout} held-out rows make {train + heldout} rows, but "
            f"the voted manifest records {records} rows; run the node unmodified on the "
            "registered file"
        )
    return records


def verify_admission(
    admission: Admission,
    snapshot: PolicySnapshot,
    nonce: str,
    schema: Schema,
    known: int | None = None,
) -> learning.FrameSummary:
    """Check a node's admission against the policy, the spec's split and the voted
    manifest; return its column summary (:func:`verified_entry`, then the content hash,
    :func:`check_rows` and :func:`check_manifest`).

    Raises
    ------
    InvalidNodeReply, DatasetNotAllowed, NodeNotProvider, DatasetHashMismatch
    """
    entry = verified_entry(admission, snapshot, nonce)
    if admission.content_hash != entry.content_hash:
        raise DatasetHashMismatch(admission.dataset_id, entry.content_hash, admission.content_hash)
    try:
        summary = learning.FrameSummary.from_json(admission.summary)
    except ValueError as exc:
        raise InvalidNodeReply(f"the column summary is malformed ({exc})") from None
    check_rows(admission, summary, schema)
    check_manifest(admission, entry, known)
    return summary


def admit(grid: Grid, plan: RunPlan, ledger: Ledger) -> Accepted:
    """Ask nodes for their admission as they connect, and keep those the policy accepts
    for one of the spec's datasets; stop when every dataset of the spec is held or settled
    as refused by its verified provider, or after ``plan.wait_seconds``.

    Raises
    ------
    TooFewNodes
        Fewer nodes than the voted minimum were accepted.
    """
    ledger.stage = "admission"
    nonce = "0x" + secrets.token_hex(32)
    accepted: Accepted = {}
    settled: set[str] = set()
    asked: set[int] = set()
    start = time.monotonic()
    deadline, notice = start + plan.wait_seconds, start + WAIT_NOTICE
    while True:
        new = [n for n in sorted(grid.get_node_ids()) if n not in asked]
        asked.update(new)
        if new:
            _admit_batch(grid, plan, ledger, new, nonce=nonce, accepted=accepted, settled=settled)
        held = {adm.dataset_id.lower() for adm, _ in accepted.values()}
        missing = sorted(set(plan.dataset_ids) - held - settled)
        now = time.monotonic()
        if not missing or now > deadline:
            break
        if now >= notice:
            notice = now + WAIT_NOTICE
            say(
                f"waiting for the provider nodes of {len(missing)} dataset(s) "
                f"({now - start:.0f} s of {plan.wait_seconds:.0f} s): {', '.join(missing)}"
            )
        time.sleep(0.5)
    say(f"{len(asked)} node(s) connected")
    say(f"{len(accepted)} node(s) accepted")
    if len(accepted) < plan.policy.min_nodes:
        raise TooFewNodes(len(accepted), plan.policy.min_nodes)
    return accepted


def _admit_batch(
    grid: Grid,
    plan: RunPlan,
    ledger: Ledger,
    nodes: list[int],
    *,
    nonce: str,
    accepted: Accepted,
    settled: set[str],
) -> None:
    query = plan.schema.to_config()
    query["nonce"] = nonce
    messages = [
        Message(RecordDict({SCHEMA: query}), dst_node_id=n, message_type=Action.ADMISSION)
        for n in nodes
    ]
    replies = exchange(grid, messages, timeout=plan.reply_timeout)
    snapshot = read_snapshot(connect(plan.rpc_url), plan.policy_address)
    holders = {adm.dataset_id: n for n, (adm, _) in accepted.items()}
    answers = by_sender(messages, replies)
    for node_id, reply in answers:
        ledger.count(node_id, reply)
        if reply.has_error():
            ledger.refuse_reply(node_id, None, reply)
            continue
        claimed: str | None = None
        verified: str | None = None
        try:
            admission = Admission.from_record(reply.content)
            claimed = admission.dataset_id
            verified_entry(admission, snapshot, nonce)
            verified = admission.dataset_id
            summary = verify_admission(
                admission, snapshot, nonce, plan.schema, plan.records_of(admission.dataset_id)
            )
            if verified.lower() not in plan.dataset_ids:
                raise DatasetNotInSpec(verified, plan.dataset_ids)
            if verified in holders:
                raise DuplicateDataset(verified, holders[verified])
        except FairgovError as exc:
            ledger.refuse(node_id, verified, exc, claimed=claimed)
            if verified is not None and verified not in holders:
                settled.add(verified.lower())
            continue
        holders[admission.dataset_id] = node_id
        accepted[node_id] = (admission, summary)
    answered = {node_id for node_id, _ in answers}
    for node_id in nodes:
        if node_id not in answered:
            ledger.refuse(node_id, None, NodeDroppedOut("admission"))
