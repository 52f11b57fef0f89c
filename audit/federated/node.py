"""A provider node's side of a federated run, without Flower: its settings, the policy
check it runs before every exchange, its rows, and what it computes from them.

The node reads its file once per exchange, hashes those bytes, and parses the same bytes,
so what it trains on is exactly what it checked against the voted content hash. Its
admission carries the dataset's voted manifest, whose ``records`` the server checks its row
counts against.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from eth_account import Account
from numpy.typing import NDArray
from sklearn.model_selection import train_test_split

from audit.commitments import check_header
from audit.errors import (
    AuditError,
    DatasetFileMissing,
    DatasetHashMismatch,
    DatasetNotAllowed,
    InvalidManifest,
    MissingColumn,
    UnreadableFile,
)
from audit.federated import learning
from audit.federated.errors import InvalidNodeConfig, NodeNotProvider
from audit.federated.mitigation import ScoreHistogram, histogram, thresholded
from audit.federated.privacy import add_noise
from audit.federated.protocol import Admission, Schema
from audit.manifest import DatasetManifest
from audit.training import binary_labels, group_keys, sensitive_groups
from audit.training import predict as predict_model
from bias_checks import GroupCounts, group_counts
from core.canonical import sha256_hex
from core.errors import ErrorCategory
from governance.chain.node import connect
from governance.policy.models import DatasetEntry, PolicySnapshot, allowed_dataset
from governance.policy.snapshot import read_snapshot


@dataclass(frozen=True)
class NodeConfig:
    """What a provider starts its node with (Flower's ``--node-config``)."""

    data: Path
    dataset_id: str
    key_file: Path
    rpc_url: str
    policy: str
    attack: learning.Attack = learning.Attack.NONE
    """A poisoning node, for tests and benchmarks only (node config ``attack``)."""
    manifest: Path | None = None
    """The dataset's voted manifest (node config ``manifest-file``), sent with the admission."""

    KEYS = ("data-file", "dataset-id", "key-file", "rpc-url", "policy")

    @classmethod
    def from_node_config(cls, values: Mapping[str, Any]) -> NodeConfig:
        missing = [k for k in cls.KEYS if not str(values.get(k, "")).strip()]
        if missing:
            raise InvalidNodeConfig(f"no {', '.join(missing)} in the node config")
        try:
            attack = learning.Attack(str(values.get("attack", learning.Attack.NONE)))
        except ValueError:
            raise InvalidNodeConfig(f"unknown attack {values['attack']!r}") from None
        manifest = str(values.get("manifest-file", "")).strip()
        return cls(
            attack=attack,
            manifest=Path(manifest) if manifest else None,
            data=Path(str(values["data-file"])),
            dataset_id=str(values["dataset-id"]).lower(),
            key_file=Path(str(values["key-file"])),
            rpc_url=str(values["rpc-url"]),
            policy=str(values["policy"]),
        )

    def to_node_config_values(self) -> tuple[str, ...]:
        """The values of :attr:`KEYS`, in order."""
        return (str(self.data), self.dataset_id, str(self.key_file), self.rpc_url, self.policy)

    def to_node_config(self) -> str:
        """The ``--node-config`` string of ``flower-supernode`` (TOML values)."""
        pairs = list(zip(self.KEYS, self.to_node_config_values(), strict=True))
        if self.attack is not learning.Attack.NONE:
            pairs.append(("attack", self.attack.value))
        if self.manifest is not None:
            pairs.append(("manifest-file", str(self.manifest)))
        return " ".join(f"{k}={json.dumps(v)}" for k, v in pairs)

    def private_key(self) -> str:
        try:
            key = self.key_file.read_text().strip().removeprefix("0x")
        except OSError as exc:
            raise InvalidNodeConfig(f"cannot read the key file {self.key_file}") from exc
        if len(key) != 64 or any(c not in "0123456789abcdefABCDEF" for c in key):
            raise InvalidNodeConfig(f"{self.key_file} does not hold a 32-byte hex private key")
        return "0x" + key

    def provider(self) -> str:
        return str(Account.from_key(self.private_key()).address)


def voted_manifest(path: Path | None, entry: DatasetEntry) -> str:
    """The canonical JSON of the manifest at ``path``, which must be the dataset's voted
    one (its hash the entry's ``manifest_hash``); ``""`` without a path.

    Raises
    ------
    InvalidNodeConfig
        The file cannot be read, is not a manifest, or is another manifest.
    """
    if path is None:
        return ""
    try:
        manifest = DatasetManifest.from_json(path.read_bytes())
    except OSError as exc:
        raise InvalidNodeConfig(f"cannot read the manifest file {path}") from exc
    except InvalidManifest as exc:
        raise InvalidNodeConfig(f"{path} is not a dataset manifest ({exc.message})") from None
    if manifest.hash != entry.manifest_hash.lower():
        raise InvalidNodeConfig(
            f"the manifest {path} hashes to {manifest.hash}, but dataset {entry.dataset_id} "
            f"was allowed with manifest {entry.manifest_hash}: give the manifest you offered"
        )
    return manifest.canonical_json().decode()


def check_dataset(
    snapshot: PolicySnapshot, dataset_id: str, content: bytes, provider: str
) -> DatasetEntry:
    """The central pipeline's checks, for a node's file: allowed (not revoked, not
    withdrawn), offered by this node's provider, and byte for byte the voted content.

    Raises
    ------
    DatasetNotAllowed, NodeNotProvider, DatasetHashMismatch
    """
    entry = allowed_dataset(snapshot, dataset_id)
    if entry is None:
        known = (d for d in snapshot.datasets if d.dataset_id == dataset_id.lower())
        withdrawn = any(d.withdrawn for d in known)
        raise DatasetNotAllowed(
            dataset_id, dataset_id, snapshot.policy_version, withdrawn=withdrawn
        )
    if entry.provider.lower() != provider.lower():
        raise NodeNotProvider(dataset_id, entry.provider, provider)
    actual = sha256_hex(content)
    if actual != entry.content_hash:
        raise DatasetHashMismatch(dataset_id, entry.content_hash, actual)
    return entry


@dataclass(frozen=True)
class NodeData:
    """A node's rows split into training and held-out rows (never sent anywhere)."""

    entry: DatasetEntry
    x_train: pd.DataFrame
    y_train: NDArray[Any]
    a_train: pd.DataFrame
    x_test: pd.DataFrame
    y_test: NDArray[Any]
    a_test: pd.DataFrame


#: A stratified split puts at least one row of each label on each side.
MIN_ROWS_PER_CLASS = 2


class TooFewRowsPerClass(AuditError):
    """A label has fewer rows than a stratified train/held-out split needs."""

    code: ClassVar[str] = "too_few_rows_per_class"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, column: str, label: int, rows: int) -> None:
        super().__init__(
            f"only {rows} row(s) have label {label} in column {column!r}, and a stratified "
            f"split needs at least {MIN_ROWS_PER_CLASS} of each label: add rows of that label, "
            "or leave this dataset out of the run",
            column=column,
            label=label,
            rows=rows,
        )


def load_checked(config: NodeConfig, schema: Schema) -> NodeData:
    """Read the policy on chain, check the node's file against it, and split its rows
    (:func:`split_rows`)."""
    try:
        content = config.data.read_bytes()
    except OSError:
        raise DatasetFileMissing(config.dataset_id, str(config.data)) from None
    snapshot = read_snapshot(connect(config.rpc_url), config.policy)
    entry = check_dataset(snapshot, config.dataset_id, content, config.provider())
    return split_rows(entry, read_rows(config.data, content, schema), schema)


@dataclass(frozen=True)
class Rows:
    """A node's file read twice: as pandas parses it (the model inputs), and with the label
    and sensitive columns as text exactly as written (pandas makes a column with an empty
    cell float, and writes its ``1`` as ``"1.0"``)."""

    parsed: pd.DataFrame
    text: pd.DataFrame


def split_rows(entry: DatasetEntry, rows: Rows, schema: Schema) -> NodeData:
    """Split ``rows`` as :func:`audit.training.split` does (stratified on the label, seeded),
    with labels and groups read as the central pipeline reads them
    (:func:`audit.training.binary_labels`, :func:`audit.training.sensitive_groups`).

    Raises
    ------
    MissingColumn
        The schema names a column the file lacks.
    MissingValues
        A label is empty.
    TooFewRowsPerClass
        A label has fewer than :data:`MIN_ROWS_PER_CLASS` rows.
    """
    for column, role in _columns(schema):
        if column not in rows.parsed.columns:
            raise MissingColumn(column, role, [str(c) for c in rows.parsed.columns])
    y = binary_labels(rows.text[schema.label], schema.positive_label)
    for label, count in enumerate(np.bincount(y, minlength=2).tolist()):
        if count < MIN_ROWS_PER_CLASS:
            raise TooFewRowsPerClass(schema.label, label, count)
    x_tr, x_te, y_tr, y_te, a_tr, a_te = train_test_split(
        rows.parsed[list(schema.inputs)],
        y,
        sensitive_groups(rows.text[list(schema.sensitive)]),
        test_size=schema.test_size,
        random_state=schema.seed,
        stratify=y,
    )
    return NodeData(entry, x_tr, np.asarray(y_tr), a_tr, x_te, np.asarray(y_te), a_te)


def _columns(schema: Schema) -> list[tuple[str, str]]:
    """Each column the schema names, with its role in the run's schema."""
    return [
        (schema.label, "the run's label"),
        *((c, "the run's sensitive features") for c in schema.sensitive),
        *((c, "the run's model inputs") for c in schema.inputs),
    ]


def read_rows(path: Path, content: bytes, schema: Schema) -> Rows:
    """The file's rows (:class:`Rows`)."""
    as_text = {schema.label, *schema.sensitive}
    sep = "\t" if path.suffix == ".tsv" else ","
    # pandas renames a repeated column ("x.1"): refused as the central pipeline refuses it.
    head = content[:65_536].decode("utf-8", errors="replace")
    check_header(path, next(csv.reader(io.StringIO(head), delimiter=sep), []))
    try:
        parsed = pd.read_csv(io.BytesIO(content), sep=sep, skipinitialspace=True)
        text = pd.read_csv(
            io.BytesIO(content),
            sep=sep,
            skipinitialspace=True,
            dtype=str,
            usecols=lambda column: column in as_text,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UnreadableFile(str(path), str(exc).splitlines()[0]) from None
    return Rows(parsed, text)


def admission(config: NodeConfig, data: NodeData, nonce: str) -> Admission:
    """The node's signed answer to the admission query: counts, a column summary and the
    voted manifest (:func:`voted_manifest`)."""
    unsigned = Admission(
        provider=config.provider(),
        dataset_id=data.entry.dataset_id,
        content_hash=data.entry.content_hash,
        train_rows=len(data.x_train),
        heldout_rows=len(data.x_test),
        summary=learning.summarize(data.x_train).to_json(),
        nonce=nonce,
        manifest=voted_manifest(config.manifest, data.entry),
    )
    return unsigned.sign(config.private_key())


def train(
    data: NodeData,
    summary: str,
    params: list[NDArray[Any]],
    *,
    epochs: int,
    c: float,
    seed: int,
    attack: learning.Attack = learning.Attack.NONE,
) -> list[NDArray[Any]]:
    """One round of local training from the global ``params``.

    ``c`` is scaled by pooled rows over this node's rows, so every node regularises as the
    pooled model does per row.
    """
    pooled = learning.FrameSummary.from_json(summary)
    x = learning.global_preprocessor(pooled).transform(data.x_train)
    local_c = c * pooled.rows / max(len(data.x_train), 1)
    return learning.attacked_fit(
        attack, params, x, data.y_train, epochs=epochs, seed=seed, c=local_c
    )


def score_histogram(
    data: NodeData, summary: str, params: list[NDArray[Any]], *, bins: int
) -> ScoreHistogram:
    """Per group and label, how many training rows the final model scores at each point of
    the grid: what the server fits the voted ThresholdOptimizer from (the central pipeline
    fits it on the training rows too)."""
    pooled = learning.FrameSummary.from_json(summary)
    x = learning.global_preprocessor(pooled).transform(data.x_train)
    scores = learning.predict_proba(params, x)[:, 1]
    return histogram(scores, data.y_train, group_keys(data.a_train), bins=bins)


def audit_predictions(
    data: NodeData,
    summary: str,
    params: list[NDArray[Any]],
    *,
    thresholds: Mapping[str, list[Any]] | None = None,
    constraint: str = "",
    seed: int = 0,
) -> NDArray[Any]:
    """The final model's 0/1 predictions of the held-out rows. With ``thresholds`` (the
    fitted ThresholdOptimizer) they are :func:`audit.training.predict` of the model the
    report stores, its randomised mixing drawn from ``seed`` over this node's rows."""
    pooled = learning.FrameSummary.from_json(summary)
    preprocessor = learning.global_preprocessor(pooled)
    if thresholds is None:
        return learning.predict(params, preprocessor.transform(data.x_test))
    model = learning.to_model_artifact(
        params,
        preprocessor,
        inputs=list(data.x_test.columns),
        sensitive=list(data.a_test.columns),
        seed=seed,
    )
    mitigated = thresholded(model, dict(thresholds), constraint=constraint)
    return predict_model(mitigated, data.x_test, data.a_test, random_state=seed)


def audit_counts(
    data: NodeData,
    summary: str,
    params: list[NDArray[Any]],
    *,
    epsilon: str | None,
    thresholds: Mapping[str, list[Any]] | None = None,
    constraint: str = "",
    seed: int = 0,
) -> GroupCounts:
    """Per-group confusion counts of the final model (thresholded, if ``thresholds``; see
    :func:`audit_predictions`) on the held-out rows, noised with budget ``epsilon`` (a
    decimal string) when the policy sets one."""
    y_pred = audit_predictions(
        data, summary, params, thresholds=thresholds, constraint=constraint, seed=seed
    )
    counts = group_counts(
        data.y_test, y_pred, sensitive_features=data.a_test, classes=(0, 1), pos_label=1
    )
    if epsilon is None:
        return counts
    return add_noise(counts, Decimal(epsilon))
