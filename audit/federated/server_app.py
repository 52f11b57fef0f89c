"""fairgov's Flower ServerApp: admit nodes, train with the voted strategy, collect counts.

1. Ask nodes for their admission as they connect, until every dataset of the spec is held
   or refused by its verified provider (:mod:`audit.federated.admission`). An admission is
   accepted when its provider signature, dataset, content hash and nonce agree with the
   policy on chain (read here too, so a node cannot speak for a provider it is not), its
   dataset is one the spec names, and its row counts follow the spec's split and, when its
   voted manifest counts its records, add up to them.
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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.serverapp import Grid, ServerApp

from audit.federated import learning, mitigation
from audit.federated.admission import admit, counted_records
from audit.federated.errors import InvalidNodeReply, NodeDroppedOut, TooFewNodes
from audit.federated.mitigation import InvalidNodeHistogram, ScoreHistogram
from audit.federated.outcome import FederatedOutcome, FittedThresholds, NodeOutcome, RoundRecord
from audit.federated.protocol import ARRAYS, CONFIG, Action, RunPlan
from audit.federated.replies import check_counts, check_histogram, read_counts, read_histogram
from audit.federated.strategy import (
    AdmittedGrid,
    Ledger,
    build_strategy,
    by_sender,
    exchange,
    say,
)
from bias_checks import GroupCounts, InvalidCountsError
from core.errors import FairgovError
from governance.policy.models import Aggregation

app = ServerApp()
_Reply = TypeVar("_Reply")


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
    ledger.stage = after
    for node_id in grid.vanished():
        ledger.refuse(node_id, grid.dataset_of(node_id), NodeDroppedOut(after))
    nodes = grid.active()
    ledger.stage = stage
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
    histograms = _whole_histograms(histograms, grid, ledger)
    if len(histograms) < plan.policy.min_nodes:
        raise TooFewNodes(
            len(histograms), plan.policy.min_nodes, admitted=grid.admitted, stage="histogram"
        )
    pooled = mitigation.combine(histograms[n] for n in sorted(histograms))
    fitted = mitigation.thresholds(pooled, constraint=plan.constraint)
    say(f"thresholds fitted from the histograms of {len(histograms)} node(s)")
    return FittedThresholds(plan.constraint, pooled, fitted)


def _whole_histograms(
    histograms: dict[int, ScoreHistogram], grid: AdmittedGrid, ledger: Ledger
) -> dict[int, ScoreHistogram]:
    """The histograms that count exactly their node's admitted training rows; a node whose
    histogram does not is refused (:func:`~audit.federated.replies.check_histogram`)."""
    kept: dict[int, ScoreHistogram] = {}
    for node_id, histogram in histograms.items():
        try:
            kept[node_id] = check_histogram(histogram, grid.train_rows_of(node_id))
        except InvalidNodeHistogram as exc:
            ledger.refuse(node_id, grid.dataset_of(node_id), exc)
    return kept


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
            voted_records=counted_records(adm, plan),
            manifest_sent=bool(adm.manifest),
        )
        for n, (adm, _) in sorted(accepted.items())
        if n in counts and n not in ledger.refusals
    )
    if len(nodes) < plan.policy.min_nodes:
        raise TooFewNodes(len(nodes), plan.policy.min_nodes, admitted=len(accepted), stage="audit")
    rounds = tuple(
        RoundRecord(r, ids, _scalars(result.train_metrics_clientapp.get(r)))
        for r, ids in sorted(ledger.rounds.items())
    )
    say(f"audit counts from {len(nodes)} node(s)")
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
        say(f"stopped: {exc.code}: {exc.message}")
        document = error_document(exc, ledger)
    plan.outcome.parent.mkdir(parents=True, exist_ok=True)
    plan.outcome.write_bytes(document)
