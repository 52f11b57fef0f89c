"""The messages fairgov's ServerApp and ClientApp exchange, and what each may carry.

Three exchanges, in order (four when the voted mitigation is ThresholdOptimizer):

1. ``query.admission``: the server sends the model schema and a fresh nonce; the node checks
   its dataset against the policy on chain and replies with an :class:`Admission` (dataset
   id, content hash, row counts, a column summary, the voted manifest), signed EIP-191 by
   the provider's key.
2. ``train`` (Flower's default train action), once per round: global parameters in, the
   node's parameters and its training row count out.
3. ``query.histogram``, only when the voted mitigation is ``threshold_optimizer``: the final
   parameters in, the node's per-group score histogram of its training rows out
   (:class:`~audit.federated.mitigation.ScoreHistogram`).
4. ``query.audit``: the final parameters (and the fitted thresholds, if any) in, the node's
   per-group confusion counts out.

A node refuses by replying with a Flower :class:`~flwr.app.Error` whose reason is
``"<code>: <one-line message>"`` (see :func:`refusal_error`); nothing else leaves it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from flwr.app import ConfigRecord, Error, Message, RecordDict
from flwr.common.constant import ErrorCode
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects

from audit.federated.errors import InvalidNodeReply, NodeDroppedOut
from core.canonical import canonical_json
from core.errors import FairgovError
from governance.policy.models import FederationPolicy


class Action(StrEnum):
    """The Flower message types fairgov sends."""

    ADMISSION = "query.admission"
    TRAIN = "train"
    HISTOGRAM = "query.histogram"
    AUDIT = "query.audit"


#: Flower error code of a fairgov refusal (Flower's own codes are below 100).
REFUSAL = 4001
#: The reason of a node error that is not a fairgov refusal (a crash in the ClientApp).
NODE_ERROR = "node_error"
#: What the provider signs, before the canonical JSON of the admission.
ADMISSION_PREAMBLE = "fairgov federated admission\n"

# Record keys.
SCHEMA, ADMISSION, ARRAYS, METRICS, CONFIG, COUNTS, HISTOGRAM = (
    "schema",
    "admission",
    "arrays",
    "metrics",
    "config",
    "counts",
    "histogram",
)
#: The voted mitigation a federated run applies from score histograms.
THRESHOLD_OPTIMIZER = "threshold_optimizer"
#: Grid steps of the score histograms: ``2 * (bins + 1)`` counts per group.
DEFAULT_BINS = 1000
#: The MetricRecord key Flower's strategies weight updates by.
NUM_EXAMPLES = "num-examples"


def refusal_error(exc: FairgovError, dataset_id: str | None) -> Error:
    """The Flower error a node replies with when it refuses: the dataset it holds (if its
    settings name one), the error's code and its one-line message; nothing else."""
    reason = {"code": exc.code, "message": exc.message, "dataset_id": dataset_id}
    return Error(code=REFUSAL, reason=canonical_json(reason).decode())


@dataclass(frozen=True)
class Refusal:
    """A node's refusal as the server reads it."""

    code: str
    message: str
    dataset_id: str | None


def parse_refusal(message: Message) -> Refusal:
    """The refusal in an error reply. Flower's own errors become ``node_dropped_out`` (the
    SuperLink answers for a node that went away) or ``node_error`` (a crash in the
    ClientApp), with the first line of Flower's reason."""
    reason = (message.error.reason or "").strip()
    if message.error.code == REFUSAL:
        try:
            data = json.loads(reason)
            dataset_id = data["dataset_id"]
            return Refusal(
                str(data["code"]),
                str(data["message"]),
                None if dataset_id is None else str(dataset_id),
            )
        except (ValueError, KeyError, TypeError):
            pass
    first = reason.splitlines()[0] if reason else f"Flower error {message.error.code}"
    gone = message.error.code in (ErrorCode.NODE_UNAVAILABLE, ErrorCode.REPLY_MESSAGE_UNAVAILABLE)
    return Refusal(NodeDroppedOut.code if gone else NODE_ERROR, first[:300], None)


def wire_size(content: RecordDict) -> int:
    """Bytes of ``content`` as Flower serialises it for the wire (all nested objects)."""
    return sum(len(obj.deflate()) for obj in get_all_nested_objects(content).values())


@dataclass(frozen=True)
class Schema:
    """Which columns the model reads: 0/1 label, model inputs, and the sensitive columns
    that define the audit's groups; and how each node splits off its held-out rows."""

    label: str
    positive_label: str
    inputs: tuple[str, ...]
    sensitive: tuple[str, ...]
    test_size: float = 0.25
    seed: int = 0

    def to_config(self) -> ConfigRecord:
        return ConfigRecord(
            {
                "label": self.label,
                "positive-label": self.positive_label,
                "inputs": list(self.inputs),
                "sensitive": list(self.sensitive),
                "test-size": self.test_size,
                "seed": self.seed,
            }
        )

    @classmethod
    def from_config(cls, config: ConfigRecord) -> Schema:
        return cls(
            label=str(config["label"]),
            positive_label=str(config["positive-label"]),
            inputs=tuple(str(c) for c in _as_list(config["inputs"])),
            sensitive=tuple(str(c) for c in _as_list(config["sensitive"])),
            test_size=float(_number(config["test-size"])),
            seed=int(_number(config["seed"])),
        )


def _as_list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else [value]


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidNodeReply(f"{value!r} is not a number")
    return float(value)


@dataclass(frozen=True)
class Admission:
    """A node's answer to the admission query, signed by its provider key.

    ``summary`` is the JSON column summary of its training rows (what the global
    preprocessor is built from); ``nonce`` is the server's challenge, so an old signed
    admission cannot be replayed. ``manifest`` is the canonical JSON of the dataset's voted
    manifest, whose ``records`` bounds the row counts; ``""`` when the node holds none
    (then it is left out of what is signed, as by nodes from before it existed).
    """

    provider: str
    dataset_id: str
    content_hash: str
    train_rows: int
    heldout_rows: int
    summary: str
    nonce: str
    signature: str = ""
    manifest: str = ""

    def signed_text(self) -> str:
        """What the provider signs: the preamble, then the canonical JSON of every field
        but the signature (``manifest`` only when there is one)."""
        fields: dict[str, str | int] = {
            "provider": self.provider,
            "dataset_id": self.dataset_id,
            "content_hash": self.content_hash,
            "train_rows": self.train_rows,
            "heldout_rows": self.heldout_rows,
            "summary": self.summary,
            "nonce": self.nonce,
        }
        if self.manifest:
            fields["manifest"] = self.manifest
        return ADMISSION_PREAMBLE + canonical_json(fields).decode()

    def sign(self, private_key: str) -> Admission:
        signed = Account.sign_message(encode_defunct(text=self.signed_text()), private_key)
        return Admission(**{**self.__dict__, "signature": "0x" + bytes(signed.signature).hex()})

    def signer(self) -> str:
        """The address that signed this admission; :class:`InvalidNodeReply` if none did."""
        try:
            return str(
                Account.recover_message(
                    encode_defunct(text=self.signed_text()), signature=self.signature
                )
            )
        except (ValueError, TypeError) as exc:
            raise InvalidNodeReply(f"the admission's signature is unreadable ({exc})") from None

    def to_record(self) -> RecordDict:
        return RecordDict({ADMISSION: ConfigRecord(dict(self.__dict__))})

    @classmethod
    def from_record(cls, content: RecordDict) -> Admission:
        """Read a node's admission reply; :class:`InvalidNodeReply` if it is malformed."""
        try:
            record = content.config_records[ADMISSION]
            fields: dict[str, Any] = {
                k: record[k] if k != "manifest" else record.get(k, "")
                for k in cls.__dataclass_fields__
            }
        except KeyError as exc:
            raise InvalidNodeReply(f"the admission lacks {exc}") from None
        ints = ("train_rows", "heldout_rows")
        if any(type(fields[k]) is not int or fields[k] < 0 for k in ints):
            raise InvalidNodeReply("the admission's row counts are not counts")
        if any(not isinstance(v, str) for k, v in fields.items() if k not in ints):
            raise InvalidNodeReply("the admission's text fields are not text")
        return cls(**fields)


@dataclass(frozen=True)
class RunPlan:
    """What one federated run is asked to do; the driver submits it as the run config.

    ``rpc_url`` and ``policy_address`` locate the TrainingPolicy the server checks
    admissions against; ``dataset_ids`` are the spec's datasets: the server admits only
    nodes holding one of them, and asks nodes for admissions as they connect until each
    is held or refused (at most ``wait_seconds``); ``reply_timeout`` bounds every
    exchange. ``mitigation`` and ``constraint`` are the snapshot's voted mitigation; with
    ``threshold_optimizer`` the nodes send score histograms on a grid of ``bins`` steps
    before the audit. ``voted_records`` are the record counts of the datasets' voted
    manifests (dataset id, count) where the driver holds them: a node's rows must add up to
    its dataset's. ``outcome`` and ``superlink`` are filled in by the driver.
    """

    policy: FederationPolicy
    schema: Schema
    rpc_url: str
    policy_address: str
    dataset_ids: tuple[str, ...]
    rounds: int = 3
    epochs: int = 5
    c: float = 1.0
    wait_seconds: float = 30.0
    reply_timeout: float = 120.0
    mitigation: str = "none"
    constraint: str = ""
    bins: int = DEFAULT_BINS
    voted_records: tuple[tuple[str, int], ...] = ()
    outcome: Path = Path("outcome.json")
    superlink: str = ""

    def records_of(self, dataset_id: str) -> int | None:
        """The record count the dataset's voted manifest holds, as the driver read it from
        the manifests stored with it; None when it holds none or the driver knows none."""
        return dict(self.voted_records).get(dataset_id.lower())

    @property
    def thresholded(self) -> bool:
        """Whether the run fits the voted ThresholdOptimizer from score histograms."""
        return self.mitigation == THRESHOLD_OPTIMIZER

    def to_run_config(self) -> dict[str, str | int | float]:
        """The values for ``flwr run --run-config`` (keys of the app's pyproject)."""
        return {
            "outcome": str(self.outcome),
            "policy": self.policy.model_dump_json(),
            "schema": json.dumps(asdict(self.schema)),
            "rounds": self.rounds,
            "epochs": self.epochs,
            "c": self.c,
            "dataset-ids": json.dumps(list(self.dataset_ids)),
            "wait-seconds": self.wait_seconds,
            "reply-timeout": self.reply_timeout,
            "rpc-url": self.rpc_url,
            "policy-address": self.policy_address,
            "superlink": self.superlink,
            "mitigation": self.mitigation,
            "constraint": self.constraint,
            "bins": self.bins,
            "voted-records": json.dumps(dict(self.voted_records)),
        }

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any]) -> RunPlan:
        schema = json.loads(str(config["schema"]))
        return cls(
            outcome=Path(str(config["outcome"])),
            policy=FederationPolicy.model_validate_json(str(config["policy"])),
            schema=Schema(
                label=str(schema["label"]),
                positive_label=str(schema["positive_label"]),
                inputs=tuple(schema["inputs"]),
                sensitive=tuple(schema["sensitive"]),
                test_size=float(schema["test_size"]),
                seed=int(schema["seed"]),
            ),
            rounds=int(config["rounds"]),
            epochs=int(config["epochs"]),
            c=float(config["c"]),
            dataset_ids=tuple(str(d).lower() for d in json.loads(str(config["dataset-ids"]))),
            wait_seconds=float(config["wait-seconds"]),
            reply_timeout=float(config["reply-timeout"]),
            rpc_url=str(config["rpc-url"]),
            policy_address=str(config["policy-address"]),
            superlink=str(config["superlink"]),
            mitigation=str(config.get("mitigation", "none")),
            constraint=str(config.get("constraint", "")),
            bins=int(config.get("bins", DEFAULT_BINS)),
            voted_records=tuple(
                (str(k).lower(), int(v))
                for k, v in sorted(json.loads(str(config.get("voted-records", "{}"))).items())
            ),
        )
