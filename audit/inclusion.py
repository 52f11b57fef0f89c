"""A record owner's check: my record is in dataset D, and D trained these models (#15).

The owner holds their record's fields, the salt the provider gave them and the Merkle proof.
The root is never taken from the owner or the provider: it is the records root the provider
signed into their offer and the DAO accepted, read from the chain's policy. The models come
from fairgov's completed training runs whose report names D in its provenance
(``model.dataset.parts``: one dataset, or each of several) with the content and manifest
hashes of the version the proof verifies under. The chain holds only each dataset's current
offer, so that is the current version: a model trained on an earlier version of D is not
listed, since the record may have been added after it trained (the check cannot tell an
older version's records).

Only completed runs are listed: a failed or refused run left no audited model (no verdict,
nothing the gate serves), whatever it did before it stopped. A run that trained nothing is
not listed as training: a re-audit of a central model (its own training run is listed), and
an external (ONNX) model's audit, which only scored D's rows with a model trained elsewhere.
Those external audits are listed apart, as :class:`ScoredModel`, with how many of D's rows
they scored.

This is a commitment check, not a zero-knowledge proof: whoever verifies learns the record
and its salt. What stays hidden is every other record of the dataset (see docs/commitments.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from audit.commitments import SALT_BYTES, InclusionProof, encode_record, record_hash, verify
from audit.db_models import AuditRunRecord, ModelVersion, RunKind, RunStatus
from audit.errors import DatasetNotInPolicy, InvalidSalts, RecordNotInDataset
from audit.gate import is_external_run
from audit.report import Report
from audit.report_model import ExternalModelInfo
from audit.service.queries import stored_report
from core.types import Hash32, hash32_of, to_hash32
from governance.policy.models import DatasetEntry, PolicySnapshot


@dataclass(frozen=True)
class AuditedModel:
    """A model a completed run audited on the dataset, with that run."""

    model_name: str
    model_hash: str
    run_id: str
    report_hash: str | None
    verdict: str | None
    anchored: bool
    status: str | None = None
    """The model version's gate status now (approved, blocked, candidate): a model that
    passed may have been blocked since, by a withdrawal or a later audit."""
    reason: str = ""


@dataclass(frozen=True)
class TrainedModel(AuditedModel):
    """A model fairgov trained on the dataset and audited."""


@dataclass(frozen=True)
class ScoredModel(AuditedModel):
    """An external (ONNX) model, trained elsewhere, that a run of fairgov scored on the
    dataset to audit it: the dataset's rows were its input, never its training data."""

    scored_rows: int | None = None
    """How many of the dataset's rows the model was given (a spec's ``test_size`` gives it
    the held-out split only); None when the run's report cannot be read."""
    dataset_rows: int | None = None
    """How many rows the dataset has, as the run's report records; None without one."""


@dataclass(frozen=True)
class Inclusion:
    """A verified inclusion: the dataset as the chain records it, what it trained, and the
    external models that were only scored on it."""

    dataset: DatasetEntry
    record_hash: Hash32
    models: tuple[TrainedModel, ...]
    scored: tuple[ScoredModel, ...] = ()


def _dataset(snapshot: PolicySnapshot, dataset_id: str) -> DatasetEntry:
    wanted = dataset_id.lower()
    for entry in snapshot.datasets:
        if entry.dataset_id == wanted:
            return entry
    raise DatasetNotInPolicy(wanted)


def _part_of(run: AuditRunRecord, report: Report | None, entry: DatasetEntry) -> bool:
    """Whether the run's report names ``entry``'s dataset, in the version ``entry`` holds
    (its content and manifest hashes), among the datasets it used."""
    if report is None:  # no readable report: the run row names its one dataset
        return run.dataset_id == entry.dataset_id and run.content_hash == entry.content_hash
    return any(
        part.dataset_id == entry.dataset_id
        and part.content_hash == entry.content_hash
        and part.manifest_hash == entry.manifest_hash
        for part in report.model.dataset.parts
    )


def _external_info(report: Report | None) -> ExternalModelInfo | None:
    model = None if report is None else report.model.model
    return None if model is None else model.external


def _rows(report: Report | None, entry: DatasetEntry) -> tuple[int | None, int | None]:
    """The rows an external run scored, and the rows of ``entry``'s dataset, from its report."""
    external = _external_info(report)
    if report is None or external is None:
        return None, None
    parts = [p for p in report.model.dataset.parts if p.dataset_id == entry.dataset_id]
    return external.scored_rows, parts[0].rows if parts else None


def models_trained_on(session: Session, entry: DatasetEntry) -> list[TrainedModel]:
    """Every model a completed training run trained on the version of the dataset ``entry``
    holds, newest first, from the provenance of each run's report (a model may have trained
    on several datasets). Runs on another version of the dataset are left out, and so are
    runs that trained nothing: re-audits, and external models' audits
    (:func:`models_scored_on` lists those)."""
    return [m for m in _audited_on(session, entry) if isinstance(m, TrainedModel)]


def models_scored_on(session: Session, entry: DatasetEntry) -> list[ScoredModel]:
    """Every external (ONNX) model a completed audit scored on the version of the dataset
    ``entry`` holds, newest first: fairgov did not train these on it."""
    return [m for m in _audited_on(session, entry) if isinstance(m, ScoredModel)]


def _audited_on(session: Session, entry: DatasetEntry) -> list[TrainedModel | ScoredModel]:
    runs = session.exec(
        select(AuditRunRecord)
        .where(col(AuditRunRecord.model_hash).is_not(None))
        .where(AuditRunRecord.status == RunStatus.COMPLETED)
        .order_by(col(AuditRunRecord.id).desc())
    ).all()
    seen: set[str] = set()
    models: list[TrainedModel | ScoredModel] = []
    for run in runs:
        if run.run_id in seen or run.model_hash is None:
            continue
        seen.add(run.run_id)
        report = stored_report(run)
        external = is_external_run(run) or _external_info(report) is not None
        if not external and run.kind != RunKind.TRAINING_RUN:
            continue  # a central model's re-audit trained nothing; its training run is listed
        if not _part_of(run, report, entry):
            continue
        version = session.exec(
            select(ModelVersion).where(
                ModelVersion.name == run.model_name, ModelVersion.model_hash == run.model_hash
            )
        ).first()
        trained = TrainedModel(
            model_name=run.model_name,
            model_hash=run.model_hash,
            run_id=run.run_id,
            report_hash=run.report_hash,
            verdict=None if run.verdict is None else str(run.verdict),
            anchored=run.anchor_tx is not None,
            status=None if version is None else str(version.status),
            reason="" if version is None else version.reason,
        )
        if not external:
            models.append(trained)
            continue
        scored_rows, dataset_rows = _rows(report, entry)
        models.append(
            ScoredModel(**vars(trained), scored_rows=scored_rows, dataset_rows=dataset_rows)
        )
    return models


def check_inclusion(
    session: Session,
    snapshot: PolicySnapshot,
    *,
    dataset_id: str,
    record: Mapping[str, str | None],
    salt: bytes,
    proof: Sequence[str],
) -> Inclusion:
    """Verify that ``record`` with ``salt`` is committed under the dataset's on-chain root.

    Parameters
    ----------
    session
        The service database (for the models trained, or only scored, on the dataset).
    snapshot
        The policy as the chain has it; its dataset entry holds the records root.
    dataset_id
        The dataset's id (keccak256 of its name).
    record
        The record as ``{column: field}``, the fields as written in the data file (a
        Parquet value's text, None for a null: :mod:`audit.parquet_records`).
    salt
        The record's 32-byte salt, from the provider.
    proof
        The sibling hashes from the leaf up (0x hex), from the provider.

    Raises
    ------
    DatasetNotInPolicy, InvalidSalts, RecordNotInDataset

    Examples
    --------
    >>> inclusion = check_inclusion(session, snapshot, dataset_id=d, record={"age": "41"},
    ...                             salt=salt, proof=path)  # doctest: +SKIP
    >>> [m.model_name for m in inclusion.models]  # doctest: +SKIP
    ['loans-lr']
    """
    entry = _dataset(snapshot, dataset_id)
    if len(salt) != SALT_BYTES:
        raise InvalidSalts(f"a salt must be {SALT_BYTES} bytes, got {len(salt)}")
    data = encode_record(record)
    try:
        path = tuple(to_hash32(step) for step in proof)
    except ValueError:
        raise RecordNotInDataset(None, entry.records_root) from None
    digest = record_hash(data)
    claimed = InclusionProof(
        index=-1, salt=salt, record_hash=digest, path=path, root=to_hash32(entry.records_root)
    )
    if not verify(claimed, data, salt, entry.records_root):
        raise RecordNotInDataset(None, entry.records_root)
    audited = _audited_on(session, entry)
    return Inclusion(
        dataset=entry,
        record_hash=hash32_of(digest),
        models=tuple(m for m in audited if isinstance(m, TrainedModel)),
        scored=tuple(m for m in audited if isinstance(m, ScoredModel)),
    )
