"""Dataset manifests: what a data file is, canonical and hashed, so the DAO can allow it.

A manifest names the file (``uri``), pins its bytes (``sha256``) and says how to read it:
the label column and its positive value, the sensitive features and the model's features.
``records_root`` commits to every record with a salt the provider keeps
(:mod:`audit.commitments`), and ``records`` counts them. Its canonical JSON (sorted keys,
UTF-8, no whitespace) hashes to the ``manifestHash`` that the provider's signed offer,
carried by an ``allow_dataset`` proposal, puts on chain next to the file's hash
(``contentHash``) and the records root.
``reference_group`` names the privileged group (one value per sensitive feature, as AIF360
declares it on the dataset): governed runs compare every group with it in the directional
metrics (``disparate_impact``, ...), so the DAO votes which group that is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlmodel import Session, col, select

from audit.commitments import Progress, build_commitments, read_records, write_salts
from audit.dataset_files import (
    check_file,
    describe_files,
    file_columns,
    files_records,
    open_files,
    several_files,
)
from audit.db_models import DatasetManifestRecord
from audit.errors import (
    DatasetFileMissing,
    DatasetNotRegistered,
    InvalidManifest,
    ManifestLacksRecordsRoot,
    ManifestNotRegistered,
    ProviderMismatch,
)
from audit.parquet_records import parquet_records
from core.canonical import canonical_json, file_sha256, sha256_hex
from core.types import to_address
from governance.actions import Action, AllowDataset, DatasetOffer, dataset_id_of

MANIFEST_SCHEMA_VERSION = 1

DatasetFormat = Literal["csv", "parquet"]


class DatasetManifest(BaseModel):
    """A dataset's manifest. ``columns`` names the columns of a CSV file without a header."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(default="1", min_length=1, max_length=100)
    uri: str = Field(min_length=1)
    format: DatasetFormat = "csv"
    sha256: str = Field(pattern=r"^0x[0-9a-f]{64}$")
    label: str = Field(min_length=1)
    positive_label: str
    sensitive_features: tuple[str, ...] = Field(min_length=1)
    features: tuple[str, ...] = Field(min_length=1)
    columns: tuple[str, ...] | None = None
    provider: str | None = Field(default=None, pattern=r"^0x[0-9a-fA-F]{40}$")
    licence: str = ""
    description: str = ""
    records_root: str | None = Field(
        default=None,
        pattern=r"^0x[0-9a-f]{64}$",
        description="StandardMerkleTree root of the salted record commitments",
    )
    records: int | None = Field(default=None, ge=1, strict=True, description="Records committed")
    reference_group: dict[str, str] | None = Field(
        default=None,
        description="The privileged group: one value (as text) per sensitive feature",
    )

    @field_validator("name")
    @classmethod
    def _name_is_one_path_segment(cls, name: str) -> str:
        # The manifest is stored under datasets/<name>/: "../../etc/x" or "/tmp/x" wrote it
        # outside the data directory (review, session 22).
        if name in (".", "..") or any(c in name for c in "/\\") or not name.isprintable():
            raise ValueError(
                f"{name!r} is not a dataset name: no '/', '\\', control characters, '.' or '..'"
            )
        return name

    @model_validator(mode="after")
    def _consistent(self) -> DatasetManifest:
        if self.label in self.sensitive_features or self.label in self.features:
            raise ValueError("the label column cannot also be a feature or sensitive feature")
        if self.columns is not None:
            repeated = [c for i, c in enumerate(self.columns) if c in self.columns[:i]]
            if repeated:
                raise ValueError(f"columns names {repeated[0]!r} twice")
            wanted = {self.label, *self.sensitive_features, *self.features}
            missing = sorted(wanted - set(self.columns))
            if missing:
                raise ValueError(f"columns {missing} are not among the declared columns")
        if self.records is not None and self.records_root is None:
            raise ValueError("records counts the committed records: give the records root too")
        return self

    @field_validator("reference_group")
    @classmethod
    def _names_each_sensitive_feature(
        cls, group: dict[str, str] | None, info: ValidationInfo
    ) -> dict[str, str] | None:
        sensitive = info.data.get("sensitive_features")
        if group is not None and sensitive is not None:
            _check_reference_group(group, sensitive)
        return group

    def canonical_json(self) -> bytes:
        """Sorted keys, UTF-8, no insignificant whitespace: the bytes that are hashed.

        A manifest without a records root, a record count or a reference group leaves the
        key out, so manifests written before these existed keep their hashes."""
        data = self.model_dump(mode="json")
        for optional in ("records_root", "records", "reference_group"):
            if data[optional] is None:
                del data[optional]
        return canonical_json(data)

    @property
    def hash(self) -> str:
        """The ``manifestHash``: ``"0x" + sha256`` of :meth:`canonical_json`."""
        return sha256_hex(self.canonical_json())

    @property
    def dataset_id(self) -> str:
        """The TrainingPolicy id: keccak256 of the name."""
        return dataset_id_of(self.name)

    def local_path(self) -> Path:
        """The data file, for ``file://`` URIs and plain paths."""
        parsed = urlparse(self.uri)
        if parsed.scheme == "file":
            return Path(unquote(parsed.path))
        if parsed.scheme == "":
            return Path(self.uri)
        raise InvalidManifest(f"uri {self.uri!r}: only local files (file://) can be read")

    def offer(
        self, *, provider: str, issued_at: int, deadline: int, terms_hash: str | None = None
    ) -> DatasetOffer:
        """The offer of exactly this manifest that ``provider`` signs for the DAO to allow.

        Raises
        ------
        ManifestLacksRecordsRoot, ProviderMismatch
        """
        if self.records_root is None:
            raise ManifestLacksRecordsRoot(self.name)
        provider = to_address(provider)
        if self.provider is not None and to_address(self.provider) != provider:
            raise ProviderMismatch(self.name, to_address(self.provider), provider)
        return DatasetOffer(
            dataset_id=self.dataset_id,
            content_hash=self.sha256,
            manifest_hash=self.hash,
            records_root=self.records_root,
            uri=self.uri,
            licence=self.licence,
            terms_hash=terms_hash or "0x" + "0" * 64,
            provider=provider,
            issued_at=issued_at,
            deadline=deadline,
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> DatasetManifest:
        """Parse a manifest; :class:`InvalidManifest` with the first problem if it is bad."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "manifest"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise InvalidManifest(f"{where}: {message}") from None


REFERENCE_GROUP_FEATURES = (
    "the reference group must name one value for each sensitive feature ({features}); {problem}"
)


def _check_reference_group(group: dict[str, str], sensitive: tuple[str, ...]) -> None:
    unknown = [f for f in group if f not in sensitive]
    missing = [f for f in sensitive if f not in group]
    empty = [f for f in sensitive if f in group and not group[f].strip()]
    if unknown or missing or empty:
        problem = (
            f"{unknown[0]} is not one"
            if unknown
            else f"{missing[0]} has none"
            if missing
            else f"{empty[0]} is empty"
        )
        raise ValueError(
            REFERENCE_GROUP_FEATURES.format(features=", ".join(sensitive), problem=problem)
        )


def build_manifest(
    path: Path | str,
    *,
    name: str,
    label: str,
    positive_label: str,
    sensitive_features: tuple[str, ...] | list[str],
    features: tuple[str, ...] | list[str] | None = None,
    version: str = "1",
    licence: str = "",
    description: str = "",
    provider: str | None = None,
    columns: tuple[str, ...] | list[str] | None = None,
    salts_path: Path | None = None,
    reference_group: Mapping[str, str] | None = None,
) -> DatasetManifest:
    """The manifest of the data file at ``path``, with its sha256 computed.

    The file is referenced by its absolute ``file://`` URI. ``path`` may also be a folder or
    a glob of Parquet (or CSV) files (:mod:`audit.dataset_files`): the URI then names it and
    ``sha256`` is the hash of its sorted ``[path, file sha256]`` list. ``features`` defaults
    to every column that is neither the label nor a sensitive feature. ``columns`` names the
    columns of a CSV file that has no header row. With ``salts_path``, every record
    (:func:`manifest_records`: a CSV or Parquet file's rows, or those of every file of a
    folder or glob in its sorted order) is committed with a fresh salt
    (:mod:`audit.commitments`), the salts are written there for the provider to keep, and
    the manifest carries the records root and the number of records (``records``).
    ``reference_group`` names the privileged group, one value (as text) per sensitive
    feature (see :func:`audit.reference.parse_reference`); governed runs compare every group
    with it.

    Raises
    ------
    DatasetFileMissing, InvalidManifest
    UncommittableColumn
        With ``salts_path``: a Parquet column of a type with no stable text form.
    NoDataFiles, UnsupportedFileFormat, UnreadableFile
        A folder or glob holds no data file; a suffix other than ``.csv``, ``.parquet`` or
        ``.pq`` (a ``.tsv`` file is InvalidManifest), or files of two formats; a file not of
        its suffix's format or that cannot be parsed, a header naming a column twice, or
        Parquet files that give a column two types.

    Examples
    --------
    >>> m = build_manifest(Path("loans.csv"), name="loans", label="approved",
    ...                    positive_label="1", sensitive_features=["group"])  # doctest: +SKIP
    >>> m.dataset_id  # doctest: +SKIP
    '0x…'
    """
    path = Path(path).resolve()
    several = describe_files(path, columns=columns)
    fmt: DatasetFormat
    if several is not None:
        uri, fmt, sha, available = several.uri, several.format, several.sha256, several.columns
    else:
        uri = path.as_uri()
        try:
            sha = file_sha256(path)
            fmt = check_file(path, headerless=bool(columns))
            available = list(columns) if columns else file_columns(path, fmt)
        except OSError:
            raise DatasetFileMissing(name, str(path)) from None
    named = [label, *sensitive_features, *(features or ())]
    missing = [c for c in named if c not in available]
    if missing:
        raise InvalidManifest(f"columns {missing} are not in {path.name} (it has {available})")
    if features is None:
        features = [c for c in available if c != label and c not in sensitive_features]
    data: dict[str, Any] = {
        "name": name,
        "version": version,
        "uri": uri,
        "format": fmt,
        "sha256": sha,
        "label": label,
        "positive_label": positive_label,
        "sensitive_features": list(sensitive_features),
        "features": list(features),
        "columns": list(columns) if columns else None,
        "provider": provider,
        "licence": licence,
        "description": description,
        "records_root": None,
        "records": None,
        "reference_group": None if reference_group is None else dict(reference_group),
    }
    manifest = DatasetManifest.from_json(json.dumps(data))
    return manifest if salts_path is None else commit_records(manifest, salts_path)


def commit_records(
    manifest: DatasetManifest, salts_path: Path, *, on_progress: Progress | None = None
) -> DatasetManifest:
    """``manifest`` with the records root of its records committed with fresh salts, and
    their number (``records``); the salts are written to ``salts_path`` (atomically: a
    failure leaves an existing file whole). Check the manifest first: the salts of a
    manifest already offered would be replaced. ``on_progress`` gets the number of records
    read (:func:`manifest_records`).

    Examples
    --------
    >>> commit_records(manifest, Path("loans.salts")).records_root  # doctest: +SKIP
    '0x…'
    """
    commitments = build_commitments(manifest_records(manifest, on_progress=on_progress))
    write_salts(salts_path, commitments.salts)
    return DatasetManifest.model_validate({
        **manifest.model_dump(), "records_root": commitments.root, "records": commitments.count
    })  # fmt: skip


def manifest_records(
    manifest: DatasetManifest, *, on_progress: Progress | None = None
) -> Iterator[bytes]:
    """The record bytes the manifest's records root commits to, in record order, streamed:
    each row of its CSV file (:func:`audit.commitments.read_records`) or Parquet file
    (:func:`audit.parquet_records.parquet_records`), or of every file of its folder or glob
    in their sorted order, the indexes running on across files
    (:func:`audit.dataset_files.files_records`).

    Raises
    ------
    DatasetFileMissing, InputFileNotFound, UnreadableFile, UncommittableColumn

    Examples
    --------
    >>> next(manifest_records(manifest))  # doctest: +SKIP
    b'{"age":"41","approved":"1","group":"A"}'
    """
    spec = several_files(manifest.uri)
    if spec is not None:
        source = open_files(spec, name=manifest.name)
        return files_records(source, columns=manifest.columns, on_progress=on_progress)
    path = manifest.local_path()
    if manifest.format == "parquet":
        return parquet_records(path, on_progress=on_progress)
    return read_records(path, columns=manifest.columns, on_progress=on_progress)


def store_manifest(session: Session, manifest: DatasetManifest) -> DatasetManifestRecord:
    """Store ``manifest`` (idempotent: the same manifest is stored once) and return its row.

    Examples
    --------
    >>> with session_scope(engine) as session:  # doctest: +SKIP
    ...     store_manifest(session, manifest).manifest_hash == manifest.hash
    True
    """
    existing = session.exec(
        select(DatasetManifestRecord).where(DatasetManifestRecord.manifest_hash == manifest.hash)
    ).first()
    if existing is not None:
        return existing
    record = DatasetManifestRecord(
        name=manifest.name,
        version=manifest.version,
        dataset_id=manifest.dataset_id,
        manifest_hash=manifest.hash,
        content_hash=manifest.sha256,
        manifest_json=manifest.canonical_json().decode("utf-8"),
    )
    session.add(record)
    session.flush()
    return record


def latest_manifest(session: Session, name: str) -> DatasetManifest:
    """The manifest registered last for the dataset called ``name``.

    Raises
    ------
    DatasetNotRegistered
    """
    record = session.exec(
        select(DatasetManifestRecord)
        .where(DatasetManifestRecord.name == name)
        .order_by(col(DatasetManifestRecord.id).desc())
    ).first()
    if record is None:
        raise DatasetNotRegistered(name)
    return DatasetManifest.from_json(record.manifest_json)


def manifest_by_hash(session: Session, manifest_hash: str) -> DatasetManifest | None:
    """The stored manifest whose hash is ``manifest_hash``, if any."""
    record = session.exec(
        select(DatasetManifestRecord).where(
            DatasetManifestRecord.manifest_hash == manifest_hash.lower()
        )
    ).first()
    return None if record is None else DatasetManifest.from_json(record.manifest_json)


def check_offers_registered(session: Session, actions: Sequence[Action]) -> None:
    """Refuse a proposal that allows a dataset whose offered manifest this fairgov never
    registered: a governed run reads the voted manifest from here, so every run of it would
    fail after the vote (a manifest edited after registration, say).

    Raises
    ------
    ManifestNotRegistered
    """
    for action in actions:
        if isinstance(action, AllowDataset):
            offer = action.offer
            if manifest_by_hash(session, offer.manifest_hash) is None:
                raise ManifestNotRegistered(action.name or offer.dataset_id, offer.manifest_hash)
