"""fairgov's Flower ServerApp: admit nodes, train with the voted strategy, collect counts.

1. Ask nodes for their admission as they connect, until every dataset of the spec is held
   or refused. An admission is accepted when its provider signature, dataset, content hash
   and nonce agree with the policy on chain (read here too, so a node cannot speak for a
   provider it is not) and its dataset is one the spec names.
2. Stop with ``too_few_nodes`` unless at least the voted ``min_nodes`` were accepted.
3. Train with Flower's strategy for the voted aggregation, over the admitted nodes only
   (:class:`~audit.federated.strategy.AdmittedGrid`).
4. When the voted mitigation is ThresholdOptimizer, ask the remaining nodes for the score
   histograms of their training rows under the final model, sum them and fit Fairlearn's
   ThresholdOptimizer on the sum (:mod:`audit.federated.mitigation`).
5. Ask the remaining nodes for their per-group counts on held-out rows (predicted with the
   fitted thresholds, if any); a malformed reply, or counts that do not fit the run and the
   node's admission, are refused with their code; a node that does not answer is left out.
6. Write the :class:`~audit.federated.outcome.FederatedOutcome` JSON where the run config
   says (``outcome``), or an error document with the code that stopped the run.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from audit.errors import DatasetHashMismatch, DatasetNotAllowed
from audit.federated import learning, mitigation
from audit.federated.errors import (
    DatasetNotInSpec,
    DuplicateDataset,
    InvalidNodeReply,
    NodeDroppedOut,
    NodeNotProvider,
    TooFewNodes,
)
from audit.federated.mitigation import InvalidNodeHistogram
from audit.federated.outcome import FederatedOutcome, FittedThresholds, NodeOutcome, RoundRecord
from audit.federated.protocol import (
    ARRAYS,
    CONFIG,
    SCHEMA,
    Action,
    Admission,
    RunPlan,
)
from audit.federated.replies import check_counts, read_counts, read_histogram
from audit.federated.strategy import AdmittedGrid, Ledger, build_strategy, by_sender, exchange
from bias_checks import GroupCounts, InvalidCountsError
from core.errors import FairgovError
from governance.chain.node import connect
from governance.policy.models import Aggregation, PolicySnapshot, allowed_dataset
from governance.policy.snapshot import read_snapshot

app = ServerApp()
_Reply = TypeVar("_Reply")


def _say(line: str) -> None:
    # Streamed to the driver by `flwr run --stream`; one line per step.
    print(f"fairgov: {line}", flush=True)


def verify_admission(
    admission: Admission, snapshot: PolicySnapshot, nonce: str
) -> learning.FrameSummary:
    """Check a node's admission against the policy; return its column summary.

    Raises
    ------
    InvalidNodeReply, DatasetNotAllowed, NodeNotProvider, DatasetHashMismatch
    """
    if admission.nonce != nonce:
        raise InvalidNodeReply("the admission answers another run's challenge")
    signer = admission.signer()
    entry = allowed_dataset(snapshot, admission.dataset_id)
    if entry is None:
        raise DatasetNotAllowed(admission.dataset_id, admission.dataset_id, snapshot.policy_version)
    if signer.lower() != entry.provider.lower() or signer.lower() != admission.provider.lower():
        raise NodeNotProvider(admission.dataset_id, entry.provider, signer)
    if admission.content_hash != entry.content_hash:
        raise DatasetHashMismatch(admission.dataset_id, entry.content_hash, admission.content_hash)
    try:
        return learning.FrameSummary.from_json(admission.summary)
    except ValueError as exc:
        raise InvalidNodeReply(f"the column summary is malformed ({exc})") from None


def admit(
    grid: Grid, plan: RunPlan, ledger: Ledger
) -> dict[int, tuple[Admission, learning.FrameSummary]]:
    """Ask nodes for their admission as they connect, and keep those the policy accepts
    for one of the spec's datasets; stop when every dataset of the spec is held or
    refused, or after ``plan.wait_seconds``."""
    nonce = "0x" + secrets.token_hex(32)
    accepted: dict[int, tuple[Admission, learning.FrameSummary]] = {}
    asked: set[int] = set()
    deadline = time.monotonic() + plan.wait_seconds
    while True:
        new = [n for n in sorted(grid.get_node_ids()) if n not in asked]
        asked.update(new)
        if new:
            _admit_batch(grid, plan, ledger, new, nonce=nonce, accepted=accepted)
        settled = {adm.dataset_id.lower() for adm, _ in accepted.values()}
        settled |= {r.dataset_id.lower() for r in ledger.refusals.values() if r.dataset_id}
        if set(plan.dataset_ids) <= settled or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    _say(f"{len(asked)} node(s) connected")
    for refusal in ledger.refusals.values():
        _say(f"node {refusal.node_id} ({refusal.dataset_id}) refused: {refusal.code}")
    _say(f"{len(accepted)} node(s) accepted")
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
    accepted: dict[int, tuple[Admission, learning.FrameSummary]],
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
        dataset_id: str | None = None
        try:
            admission = Admission.from_record(reply.content)
            dataset_id = admission.dataset_id
            summary = verify_admission(admission, snapshot, nonce)
            if dataset_id.lower() not in plan.dataset_ids:
                raise DatasetNotInSpec(dataset_id, plan.dataset_ids)
            if dataset_id in holders:
                raise DuplicateDataset(dataset_id, holders[dataset_id])
        except FairgovError as exc:
            ledger.refuse(node_id, dataset_id, exc)
            continue
        holders[admission.dataset_id] = node_id
        accepted[node_id] = (admission, summary)
    answered = {node_id for node_id, _ in answers}
    for node_id in nodes:
        if node_id not in answered:
            ledger.refuse(node_id, None, NodeDroppedOut("admission"))


def _final_config(plan: RunPlan, summary: str) -> ConfigRecord:
    config = plan.schema.to_config()
    config["summary"] = summary
    return config


def _collect(
    grid: AdmittedGrid,
    plan: RunPlan,
    ledger: Ledger,
    *,
    action: Action,
    content: RecordDict,
    read: Callable[[RecordDict], _Reply],
    errors: tuple[type[FairgovError], ...],
    after: str,
) -> dict[int, _Reply]:
    """Send ``content`` to the remaining nodes and read each reply; a node whose reply is
    an error, unreadable (one of ``errors``) or missing is refused, and so is one that
    disconnected during the ``after`` stage."""
    stage = action.value.removeprefix("query.")
    for node_id in grid.vanished():
        ledger.refuse(node_id, grid.dataset_of(node_id), NodeDroppedOut(after))
    nodes = grid.active()
    messages = [Message(content, dst_node_id=n, message_type=action) for n in nodes]
    replies = exchange(grid, messages, timeout=plan.reply_timeout)
    answers: dict[int, _Reply] = {}
    for node_id, reply in by_sender(messages, replies):
        ledger.count(node_id, reply)
        if reply.has_error():
            ledger.refuse_reply(node_id, grid.dataset_of(node_id), reply)
            continue
        try:
            answers[node_id] = read(reply.content)
        except errors as exc:
            ledger.refuse(node_id, grid.dataset_of(node_id), exc)
    for node_id in nodes:
        if node_id not in answers and node_id not in ledger.refusals:
            ledger.refuse(node_id, grid.dataset_of(node_id), NodeDroppedOut(stage))
    return answers


def fit_thresholds(
    grid: AdmittedGrid, plan: RunPlan, final: ArrayRecord, summary: str, ledger: Ledger
) -> FittedThresholds:
    """Ask the remaining nodes for their score histograms under the final model, sum them
    and fit the voted ThresholdOptimizer on the sum.

    Raises
    ------
    TooFewNodes
        Fewer valid histograms than the voted minimum of nodes.
    """
    config = _final_config(plan, summary)
    config["bins"] = plan.bins
    histograms = _collect(
        grid,
        plan,
        ledger,
        action=Action.HISTOGRAM,
        content=RecordDict({ARRAYS: final, CONFIG: config}),
        read=lambda content: read_histogram(content, bins=plan.bins),
        errors=(InvalidNodeReply, InvalidNodeHistogram),
        after="training",
    )
    if len(histograms) < plan.policy.min_nodes:
        raise TooFewNodes(len(histograms), plan.policy.min_nodes)
    pooled = mitigation.combine(histograms[n] for n in sorted(histograms))
    fitted = mitigation.thresholds(pooled, constraint=plan.constraint)
    _say(f"thresholds fitted from the histograms of {len(histograms)} node(s)")
    return FittedThresholds(plan.constraint, pooled, fitted)


def collect_counts(
    grid: AdmittedGrid,
    plan: RunPlan,
    final: ArrayRecord,
    summary: str,
    ledger: Ledger,
    *,
    heldout_rows: Mapping[int, int],
    fitted: FittedThresholds | None = None,
) -> dict[int, GroupCounts]:
    """Ask the remaining nodes for their held-out counts under the final model (and the
    ``fitted`` thresholds, if any); counts that do not fit the run or the node's admitted
    ``heldout_rows`` are refused (:func:`check_counts`)."""
    config = _final_config(plan, summary)
    config["epsilon"] = plan.policy.epsilon or ""
    if fitted is not None:
        config["thresholds"] = json.dumps(dict(fitted.thresholds), sort_keys=True)
        config["constraint"] = fitted.constraint
    counts = _collect(
        grid,
        plan,
        ledger,
        action=Action.AUDIT,
        content=RecordDict({ARRAYS: final, CONFIG: config}),
        read=read_counts,
        errors=(InvalidNodeReply, InvalidCountsError),
        after="training" if fitted is None else "histogram",
    )
    return _vetted(counts, plan, heldout_rows, grid, ledger)


def _vetted(
    counts: dict[int, GroupCounts],
    plan: RunPlan,
    heldout_rows: Mapping[int, int],
    grid: AdmittedGrid,
    ledger: Ledger,
) -> dict[int, GroupCounts]:
    kept: dict[int, GroupCounts] = {}
    for node_id, node_counts in counts.items():
        try:
            kept[node_id] = check_counts(node_counts, plan, heldout_rows.get(node_id, -1))
        except InvalidCountsError as exc:
            ledger.refuse(node_id, grid.dataset_of(node_id), exc)
    return kept


def coordinate(grid: Grid, plan: RunPlan, ledger: Ledger) -> FederatedOutcome:
    """Admission, training and the audit of one run; see the module docstring."""
    accepted = admit(grid, plan, ledger)
    # A robust strategy gets robust preprocessing too: one node's made-up column sums
    # must not rescale a column for everyone (FedAvg keeps the exact pooled statistics).
    pooled = learning.combine(
        (summary for _, summary in accepted.values()),
        robust=plan.policy.aggregation is not Aggregation.FEDAVG,
    )
    n_inputs = len(learning.global_preprocessor(pooled).get_feature_names_out())
    admitted = AdmittedGrid(
        grid,
        {n: adm.dataset_id for n, (adm, _) in accepted.items()},
        ledger,
        min_nodes=plan.policy.min_nodes,
        train_rows={n: adm.train_rows for n, (adm, _) in accepted.items()},
    )
    train_config = plan.schema.to_config()
    train_config["summary"] = pooled.to_json()
    train_config["epochs"] = plan.epochs
    train_config["c"] = plan.c
    result = build_strategy(plan.policy).start(
        grid=admitted,
        initial_arrays=ArrayRecord(learning.initial_params(n_inputs)),
        num_rounds=plan.rounds,
        timeout=plan.reply_timeout,
        train_config=train_config,
    )
    fitted = (
        fit_thresholds(admitted, plan, result.arrays, pooled.to_json(), ledger)
        if plan.thresholded
        else None
    )
    heldout = {n: adm.heldout_rows for n, (adm, _) in accepted.items()}
    counts = collect_counts(
        admitted,
        plan,
        result.arrays,
        pooled.to_json(),
        ledger,
        heldout_rows=heldout,
        fitted=fitted,
    )
    nodes = tuple(
        NodeOutcome(
            node_id=n,
            provider=adm.provider,
            dataset_id=adm.dataset_id,
            content_hash=adm.content_hash,
            train_rows=adm.train_rows,
            heldout_rows=adm.heldout_rows,
            bytes_sent=ledger.bytes_sent.get(n, 0),
            counts=counts[n],
        )
        for n, (adm, _) in sorted(accepted.items())
        if n in counts and n not in ledger.refusals
    )
    if len(nodes) < plan.policy.min_nodes:
        raise TooFewNodes(len(nodes), plan.policy.min_nodes)
    rounds = tuple(
        RoundRecord(r, ids, _scalars(result.train_metrics_clientapp.get(r)))
        for r, ids in sorted(ledger.rounds.items())
    )
    _say(f"audit counts from {len(nodes)} node(s)")
    return FederatedOutcome(
        params=tuple(result.arrays.to_numpy_ndarrays()),
        preprocessor=json.loads(pooled.to_json()),
        nodes=nodes,
        refusals=tuple(ledger.refusals[n] for n in sorted(ledger.refusals)),
        rounds=rounds,
        policy=plan.policy,
        superlink=plan.superlink,
        mitigation=fitted,
    )


def _scalars(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    return {str(k): float(v) for k, v in dict(metrics).items() if isinstance(v, int | float)}


def error_document(exc: FairgovError, ledger: Ledger) -> bytes:
    """What the ServerApp writes instead of an outcome when the run stops."""
    refusals = [ledger.refusals[n].to_dict() for n in sorted(ledger.refusals)]
    error = {"code": exc.code, "message": exc.message, "details": exc.details}
    return json.dumps({"error": error, "refusals": refusals}, sort_keys=True, default=str).encode()


@app.main()
def main(grid: Grid, context: Context) -> None:
    """Run one federated training and audit, and write its outcome."""
    plan = RunPlan.from_run_config(dict(context.run_config))
    ledger = Ledger()
    try:
        document = coordinate(grid, plan, ledger).to_json()
    except FairgovError as exc:
        _say(f"stopped: {exc.code}: {exc.message}")
        document = error_document(exc, ledger)
    plan.outcome.parent.mkdir(parents=True, exist_ok=True)
    plan.outcome.write_bytes(document)
