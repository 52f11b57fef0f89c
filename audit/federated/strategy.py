"""The voted Flower strategy, and the grid that keeps it to the admitted nodes.

:func:`build_strategy` maps the on-chain :class:`~governance.policy.models.FederationPolicy`
to one of Flower's own strategies; fairgov aggregates nothing by hand. :class:`AdmittedGrid`
wraps the ServerApp's grid: the strategy samples only admitted nodes that have not been
refused since, every training reply is checked before the strategy sees it, and the nodes
whose updates each round aggregated are recorded.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

import numpy as np
from flwr.app import ArrayRecord, Message, MessageType, RecordDict
from flwr.serverapp import Grid
from flwr.serverapp.strategy import FedAvg, FedMedian, FedTrimmedAvg, Krum, Strategy
from flwr.supercore.run import Run

from audit.federated.errors import InvalidNodeReply, NodeDroppedOut, TooFewNodes
from audit.federated.outcome import NodeRefusal
from audit.federated.protocol import ARRAYS, METRICS, NUM_EXAMPLES, parse_refusal, wire_size
from core.errors import FairgovError
from governance.policy.models import Aggregation, FederationPolicy


class _Sampling(TypedDict):
    fraction_train: float
    fraction_evaluate: float
    min_train_nodes: int
    min_available_nodes: int


def build_strategy(policy: FederationPolicy) -> Strategy:
    """Flower's strategy for the voted aggregation: every remaining admitted node trains
    each round, and a round needs at least ``policy.min_nodes`` of them.

    Examples
    --------
    >>> build_strategy(FederationPolicy(aggregation="krum", krum_f=1)).num_malicious_nodes
    1
    """
    common = _Sampling(
        fraction_train=1.0,
        fraction_evaluate=0.0,
        min_train_nodes=policy.min_nodes,
        min_available_nodes=policy.min_nodes,
    )
    match policy.aggregation:
        case Aggregation.FEDAVG:
            return FedAvg(**common)
        case Aggregation.FEDMEDIAN:
            return FedMedian(**common)
        case Aggregation.FEDTRIMMEDAVG:
            return FedTrimmedAvg(beta=float(Decimal(policy.trim_beta)), **common)
        case Aggregation.KRUM:
            return Krum(num_malicious_nodes=policy.krum_f, **common)


def check_update(sent: ArrayRecord, reply: RecordDict, *, train_rows: int) -> None:
    """Raise :class:`InvalidNodeReply` unless ``reply`` is one update of ``sent``'s shape:
    the same arrays, finite, and the row count the node's signed admission declared
    (``train_rows``): the strategies weight updates by it."""
    if set(reply.array_records) != {ARRAYS} or set(reply.metric_records) != {METRICS}:
        raise InvalidNodeReply("an update must hold exactly the arrays and metrics records")
    if set(reply.config_records):
        raise InvalidNodeReply("an update must not hold config records")
    arrays = reply.array_records[ARRAYS]
    if list(arrays.keys()) != list(sent.keys()):
        raise InvalidNodeReply("the update's arrays are not the model's")
    for new, old in zip(arrays.to_numpy_ndarrays(), sent.to_numpy_ndarrays(), strict=True):
        if new.shape != old.shape or not np.issubdtype(new.dtype, np.floating):
            raise InvalidNodeReply(f"an array of shape {new.shape} instead of {old.shape}")
        if not np.isfinite(new).all():
            raise InvalidNodeReply("the update holds a value that is not a finite number")
    rows = reply.metric_records[METRICS].get(NUM_EXAMPLES)
    if set(reply.metric_records[METRICS]) != {NUM_EXAMPLES} or type(rows) is not int or rows < 1:
        raise InvalidNodeReply("the update's metrics must be its positive row count only")
    if rows != train_rows:
        raise InvalidNodeReply(
            f"the update claims {rows} training rows, the admission declared {train_rows}"
        )


def by_sender(sent: Sequence[Message], replies: Iterable[Message]) -> list[tuple[int, Message]]:
    """Each reply with the node it answers for. The SuperLink itself answers for a node
    that stopped sending heartbeats, so the sender is the addressee of the message the
    reply answers, not the reply's source."""
    addressee = {m.metadata.message_id: m.metadata.dst_node_id for m in sent}
    return [
        (addressee.get(r.metadata.reply_to_message_id, r.metadata.src_node_id), r) for r in replies
    ]


#: Seconds between two requests for replies while a stage waits. Flower's own
#: ``send_and_receive`` waits 3 s between them, which made up much of a short stage.
PULL_INTERVAL = 0.2
#: Seconds between two "waiting" lines while a stage waits for replies: a hung node must
#: not leave the operator looking at a silent run for the whole reply timeout.
WAIT_NOTICE = 15.0


def say(line: str) -> None:
    """Stream one line to the driver (``flwr run --stream`` relays the ServerApp's output)."""
    print(f"fairgov: {line}", flush=True)


def exchange(grid: Grid, messages: Sequence[Message], *, timeout: float | None) -> list[Message]:
    """Push ``messages`` through ``grid`` and collect their replies, asking the SuperLink
    every :data:`PULL_INTERVAL` seconds, until each has one or ``timeout`` seconds have
    passed (``None``: no limit, as in Flower). The SuperLink itself answers with an error
    for a node it counts as offline. Every :data:`WAIT_NOTICE` seconds of waiting, one line
    says which nodes have not answered yet."""
    pending = {message_id for message_id in grid.push_messages(messages) if message_id}
    addressee = {m.metadata.message_id: m.metadata.dst_node_id for m in messages}
    stage = messages[0].metadata.message_type.removeprefix("query.") if messages else ""
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    notice = start + WAIT_NOTICE
    replies: list[Message] = []
    while pending:
        pulled = list(grid.pull_messages(pending))
        replies.extend(pulled)
        pending -= {reply.metadata.reply_to_message_id for reply in pulled}
        now = time.monotonic()
        if not pending or (deadline is not None and now >= deadline):
            break
        if now >= notice:
            notice = now + WAIT_NOTICE
            waiting = sorted(addressee.get(m, 0) for m in pending)
            limit = "" if timeout is None else f" of {timeout:.0f} s"
            say(
                f"waiting for the {stage} replies of node(s) {', '.join(map(str, waiting))} "
                f"({now - start:.0f} s{limit})"
            )
        time.sleep(PULL_INTERVAL)
    return replies


@dataclass
class Ledger:
    """What the server learned about nodes while the run went on.

    ``stage`` names the exchange under way; each new refusal is streamed as one line with
    its node, dataset, stage and code.
    """

    refusals: dict[int, NodeRefusal] = field(default_factory=dict)
    bytes_sent: dict[int, int] = field(default_factory=dict)
    rounds: dict[int, tuple[int, ...]] = field(default_factory=dict)
    stage: str = "admission"

    def refuse(
        self, node_id: int, dataset_id: str | None, exc: FairgovError, *, claimed: str | None = None
    ) -> None:
        """Leave ``node_id`` out; ``dataset_id`` is the dataset its provider's signature
        verified (None if none did), ``claimed`` one it named without proof, which goes
        into the message only."""
        self._add(
            NodeRefusal(node_id, dataset_id, exc.code, _claim(claimed, dataset_id) + exc.message)
        )

    def refuse_reply(self, node_id: int, dataset_id: str | None, reply: Message) -> None:
        """Leave out a node that replied with an error. The dataset id inside an error reply
        is the node's own unsigned word: it names the refusal only as a claim."""
        refusal = parse_refusal(reply)
        message = _claim(refusal.dataset_id, dataset_id) + refusal.message
        self._add(NodeRefusal(node_id, dataset_id, refusal.code, message))

    def _add(self, refusal: NodeRefusal) -> None:
        if refusal.node_id in self.refusals:
            return
        self.refusals[refusal.node_id] = refusal
        named = refusal.dataset_id or "no verified dataset"
        say(f"node {refusal.node_id} ({named}) refused at the {self.stage}: {refusal.code}")

    def count(self, node_id: int, reply: Message) -> None:
        size = 0 if reply.has_error() else wire_size(reply.content)
        self.bytes_sent[node_id] = self.bytes_sent.get(node_id, 0) + size


def _claim(claimed: str | None, verified: str | None) -> str:
    if not claimed or (verified is not None and claimed.lower() == verified.lower()):
        return ""
    return f"(the node named dataset {claimed}, unverified) "


class AdmittedGrid(Grid):
    """The ServerApp's grid, narrowed to the admitted nodes not refused since."""

    def __init__(
        self,
        grid: Grid,
        admitted: dict[int, str],
        ledger: Ledger,
        *,
        min_nodes: int,
        train_rows: Mapping[int, int],
    ) -> None:
        self._grid = grid
        self._admitted = admitted
        self._train_rows = dict(train_rows)
        self._ledger = ledger
        self._min_nodes = min_nodes

    @property
    def admitted(self) -> int:
        """How many nodes were accepted at admission."""
        return len(self._admitted)

    def active(self) -> list[int]:
        """Admitted nodes that are neither refused nor disconnected."""
        online = set(self._grid.get_node_ids())
        return [n for n in self._admitted if n in online and n not in self._ledger.refusals]

    def train_rows_of(self, node_id: int) -> int:
        """The training rows ``node_id``'s signed admission declared (-1 if not admitted)."""
        return self._train_rows.get(node_id, -1)

    def dataset_of(self, node_id: int) -> str | None:
        """The dataset the node was admitted with."""
        return self._admitted.get(node_id)

    def vanished(self) -> list[int]:
        """Admitted nodes that disconnected without being refused."""
        online = set(self._grid.get_node_ids())
        return [n for n in self._admitted if n not in online and n not in self._ledger.refusals]

    def get_node_ids(self) -> Iterable[int]:
        nodes = self.active()
        if len(nodes) < self._min_nodes:
            raise TooFewNodes(
                len(nodes), self._min_nodes, admitted=len(self._admitted), stage="training"
            )
        return nodes

    def set_run(self, run: Run) -> None:
        self._grid.set_run(run)

    @property
    def run(self) -> Run:
        return self._grid.run

    def create_message(
        self,
        content: RecordDict,
        message_type: str,
        dst_node_id: int,
        group_id: str,
        ttl: float | None = None,
    ) -> Message:
        return self._grid.create_message(content, message_type, dst_node_id, group_id, ttl)

    def push_messages(self, messages: Iterable[Message]) -> Iterable[str]:
        return self._grid.push_messages(messages)

    def pull_messages(self, message_ids: Iterable[str]) -> Iterable[Message]:
        return self._grid.pull_messages(message_ids)

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> Iterable[Message]:
        sent = list(messages)
        replies = exchange(self._grid, sent, timeout=timeout)
        if not sent or sent[0].metadata.message_type != MessageType.TRAIN:
            return replies
        return self._checked_train(sent, replies)

    def _checked_train(self, sent: list[Message], replies: list[Message]) -> list[Message]:
        arrays = sent[0].content.array_records[ARRAYS]
        server_round = int(sent[0].content.config_records["config"]["server-round"])  # type: ignore[arg-type]
        self._ledger.stage = f"training round {server_round}"
        kept: list[tuple[int, Message]] = []
        answers = by_sender(sent, replies)
        for node_id, reply in answers:
            dataset_id = self._admitted.get(node_id)
            self._ledger.count(node_id, reply)
            if reply.has_error():
                self._ledger.refuse_reply(node_id, dataset_id, reply)
                continue
            try:
                check_update(arrays, reply.content, train_rows=self.train_rows_of(node_id))
            except InvalidNodeReply as exc:
                self._ledger.refuse(node_id, dataset_id, exc)
                continue
            kept.append((node_id, reply))
        answered = {node_id for node_id, _ in answers}
        for message in sent:
            node_id = message.metadata.dst_node_id
            if node_id not in answered:
                dropped = NodeDroppedOut(f"training round {server_round}")
                self._ledger.refuse(node_id, self._admitted.get(node_id), dropped)
        self._ledger.rounds[server_round] = tuple(node_id for node_id, _ in kept)
        print(
            f"fairgov: round {server_round}: {len(kept)} node(s) aggregated, "
            f"{len(self._ledger.refusals)} refused so far",
            flush=True,
        )
        return [reply for _, reply in kept]
