"""What a federated run returns to the audit: who took part, what they sent, and the model.

The ServerApp writes a :class:`FederatedOutcome` as JSON where the driver asked; the driver
reads it back with :meth:`FederatedOutcome.from_json` and the lead's report is built from
it. Nothing here holds a record of any node's data: only ids, hashes, row counts (and the
voted record counts they were checked against), bytes sent, per-group confusion counts,
the final model and, when the voted mitigation is ThresholdOptimizer, the pooled score
histogram and the thresholds fitted from it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from audit.federated.mitigation import ScoreHistogram
from bias_checks import GroupCounts
from governance.policy.models import FederationPolicy

#: A report's warning about a node whose row count no voted manifest checked.
UNVERIFIED_ROWS = "node {node} (dataset {dataset}): its {rows} rows are unverified: {why}"
NO_MANIFEST = (
    "the node sent no manifest; run it with its dataset's voted manifest "
    "(fairgov provider serve --manifest)"
)
NO_RECORDS = (
    "its voted manifest records no row count (built before manifests carried `records`); "
    "register the file again with --salts and offer the new manifest for a vote"
)


@dataclass(frozen=True)
class NodeOutcome:
    """One accepted node: its identity, its dataset and what it contributed to the audit.

    ``voted_records`` is the record count of the dataset's voted manifest, which its
    ``train_rows + heldout_rows`` were checked against; None when no manifest the node sent
    (``manifest_sent``) recorded one: the rows are then the node's word.
    """

    node_id: int
    provider: str
    dataset_id: str
    content_hash: str
    train_rows: int
    heldout_rows: int
    bytes_sent: int
    counts: GroupCounts
    voted_records: int | None = None
    manifest_sent: bool = False

    @property
    def unverified_rows(self) -> str | None:
        """The report's warning when no voted manifest checked this node's rows, else None."""
        if self.voted_records is not None:
            return None
        return UNVERIFIED_ROWS.format(
            node=self.node_id,
            dataset=self.dataset_id,
            rows=self.train_rows + self.heldout_rows,
            why=NO_RECORDS if self.manifest_sent else NO_MANIFEST,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "provider": self.provider,
            "dataset_id": self.dataset_id,
            "content_hash": self.content_hash,
            "train_rows": self.train_rows,
            "heldout_rows": self.heldout_rows,
            "bytes_sent": self.bytes_sent,
            "counts": self.counts.to_dict(),
            "voted_records": self.voted_records,
            "manifest_sent": self.manifest_sent,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeOutcome:
        records = data.get("voted_records")
        return cls(
            node_id=int(data["node_id"]),
            provider=str(data["provider"]),
            dataset_id=str(data["dataset_id"]),
            content_hash=str(data["content_hash"]),
            train_rows=int(data["train_rows"]),
            heldout_rows=int(data["heldout_rows"]),
            bytes_sent=int(data["bytes_sent"]),
            counts=GroupCounts.from_dict(data["counts"]),
            voted_records=None if records is None else int(records),
            manifest_sent=bool(data.get("manifest_sent", False)),
        )


@dataclass(frozen=True)
class NodeRefusal:
    """A node left out of the run, with the stable error code and a one-line reason.

    ``dataset_id`` is None when the node never said which dataset it holds (it dropped
    out, or its reply was malformed).
    """

    node_id: int
    dataset_id: str | None
    code: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "dataset_id": self.dataset_id,
            "code": self.code,
            "message": self.message,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeRefusal:
        dataset_id = data["dataset_id"]
        return cls(
            node_id=int(data["node_id"]),
            dataset_id=None if dataset_id is None else str(dataset_id),
            code=str(data["code"]),
            message=str(data["message"]),
        )


@dataclass(frozen=True)
class RoundRecord:
    """One training round: the nodes whose updates were aggregated, and its metrics."""

    round: int
    node_ids: tuple[int, ...]
    metrics: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "round": self.round,
            "node_ids": list(self.node_ids),
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoundRecord:
        return cls(
            round=int(data["round"]),
            node_ids=tuple(int(n) for n in data["node_ids"]),
            metrics={str(k): float(v) for k, v in data["metrics"].items()},
        )


@dataclass(frozen=True)
class FittedThresholds:
    """The voted ThresholdOptimizer as the run fitted it: its ``constraint``, the ``pooled``
    score histogram of the nodes' training rows, and the per-group ``thresholds`` fitted
    from it (:func:`audit.federated.mitigation.thresholds`), which the nodes applied in
    the audit."""

    constraint: str
    pooled: ScoreHistogram
    thresholds: Mapping[str, list[Any]]

    @property
    def bins(self) -> int:
        return self.pooled.bins

    def to_dict(self) -> dict[str, Any]:
        return {
            "constraint": self.constraint,
            "pooled": self.pooled.model_dump(mode="json"),
            "thresholds": {g: list(t) for g, t in self.thresholds.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedThresholds:
        return cls(
            constraint=str(data["constraint"]),
            pooled=ScoreHistogram.model_validate(data["pooled"]),
            thresholds={str(g): list(t) for g, t in data["thresholds"].items()},
        )


def _array_to_dict(array: NDArray[Any]) -> dict[str, Any]:
    # Python's float repr round-trips exactly, so the JSON keeps every bit of float64.
    return {
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "data": array.ravel().tolist(),
    }


def _array_from_dict(data: Mapping[str, Any]) -> NDArray[Any]:
    return np.asarray(data["data"], dtype=np.dtype(data["dtype"])).reshape(data["shape"])


@dataclass(frozen=True)
class FederatedOutcome:
    """The result of one federated run.

    ``params`` are the final global model's parameters (as the learning module's
    ``predict`` takes them); ``preprocessor`` is the JSON state of the global preprocessor
    built from the nodes' column summaries; ``nodes`` are the accepted nodes whose counts
    the audit sums (exactly these, no other); ``refusals`` the nodes left out and why;
    ``rounds`` the training history; ``policy`` the FederationPolicy the run obeyed;
    ``superlink`` the address of the SuperLink that ran it; ``mitigation`` the fitted
    ThresholdOptimizer, when the policy voted it (None otherwise).
    """

    params: tuple[NDArray[Any], ...]
    preprocessor: Mapping[str, Any]
    nodes: tuple[NodeOutcome, ...]
    refusals: tuple[NodeRefusal, ...]
    rounds: tuple[RoundRecord, ...]
    policy: FederationPolicy
    superlink: str
    mitigation: FittedThresholds | None = None

    def total_counts(self) -> GroupCounts:
        """The sum of the accepted nodes' counts: what the federated audit is computed from."""
        return GroupCounts.combine([n.counts for n in self.nodes])

    def to_json(self) -> bytes:
        """The outcome as JSON (sorted keys); :meth:`from_json` reads it back exactly."""
        data = {
            "params": [_array_to_dict(p) for p in self.params],
            "preprocessor": dict(self.preprocessor),
            "nodes": [n.to_dict() for n in self.nodes],
            "refusals": [r.to_dict() for r in self.refusals],
            "rounds": [r.to_dict() for r in self.rounds],
            "policy": self.policy.model_dump(mode="json"),
            "superlink": self.superlink,
            "mitigation": None if self.mitigation is None else self.mitigation.to_dict(),
        }
        return json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> FederatedOutcome:
        """Read an outcome written by :meth:`to_json`."""
        data = json.loads(raw)
        mitigation = data.get("mitigation")
        return cls(
            params=tuple(_array_from_dict(p) for p in data["params"]),
            preprocessor=data["preprocessor"],
            nodes=tuple(NodeOutcome.from_dict(n) for n in data["nodes"]),
            refusals=tuple(NodeRefusal.from_dict(r) for r in data["refusals"]),
            rounds=tuple(RoundRecord.from_dict(r) for r in data["rounds"]),
            policy=FederationPolicy.model_validate(data["policy"]),
            superlink=str(data["superlink"]),
            mitigation=None if mitigation is None else FittedThresholds.from_dict(mitigation),
        )


def node_ids(items: Sequence[NodeOutcome | NodeRefusal]) -> tuple[int, ...]:
    """The node ids of ``items``, in order."""
    return tuple(i.node_id for i in items)
