"""The registry of external models: ONNX files stored by hash, with their signature.

:func:`register_onnx` checks a file (:func:`~audit.external._signature.inspect_onnx`), writes
it atomically to ``<data_dir>/external/<name>/<sha256>.onnx`` and records a row; the same
name and bytes again return the same registration (and rewrite the stored file if it
went missing or was altered). :func:`read_onnx_file` reads a file to register, refusing
one over the size limit by its size before reading it. :func:`registered_model` finds one
by name and hash for an audit, and :func:`read_model_bytes` reads its file back, size and
hash checked.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from audit.db_models import ExternalModelRecord
from audit.env import AuditEnv
from audit.errors import (
    InputFileNotFound,
    InvalidModelSpec,
    ModelFileMissing,
    ModelHashMismatch,
    ModelNotRegistered,
    OnnxModelTooLarge,
    UnreadableFile,
)
from audit.external._signature import (
    MAX_ONNX_BYTES,
    Signature,
    parse_onnx,
    producer_of,
    signature_of,
)
from audit.models import write_atomically
from core.canonical import file_sha256, sha256_hex
from core.db import session_scope

#: A model name is also a directory name: letters, digits, ``.``, ``_`` and ``-``.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"


@dataclass(frozen=True)
class ExternalModel:
    """A registered ONNX model: its name, ``modelHash`` (``"0x"`` + sha256 of the file),
    stored file, size, signature and the exporter the file names (not verified)."""

    name: str
    model_hash: str
    path: Path
    size: int
    signature: Signature
    producer: str

    @classmethod
    def from_record(cls, row: ExternalModelRecord) -> ExternalModel:
        return cls(
            name=row.name,
            model_hash=row.model_hash,
            path=Path(row.path),
            size=row.size,
            signature=Signature.model_validate_json(row.signature_json),
            producer=row.producer,
        )


#: Registered ONNX files live in ``<data_dir>/external/<name>/<sha256>.onnx``.
EXTERNAL_DIR = "external"


def _check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise InvalidModelSpec(
            f"model name {name!r}: use 1 to 200 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def read_onnx_file(path: Path, *, name: str, max_bytes: int = MAX_ONNX_BYTES) -> bytes:
    """The bytes of the ONNX file at ``path``, to register as ``name``.

    A file over ``max_bytes`` is refused by its size (stat) before a byte of it is read,
    hashed or parsed; no more than ``max_bytes + 1`` bytes are ever read (a file that grew
    meanwhile is refused too).

    Raises
    ------
    InputFileNotFound
        Nothing is at ``path``.
    UnreadableFile
        ``path`` is a folder or another non-file, or cannot be opened.
    OnnxModelTooLarge
        The file is larger than ``max_bytes``.

    Examples
    --------
    >>> data = read_onnx_file(Path("loans.onnx"), name="loans-xgb")  # doctest: +SKIP
    >>> store_onnx(engine, data_dir, name="loans-xgb", data=data)  # doctest: +SKIP
    """
    try:
        found = path.stat()
    except FileNotFoundError:
        raise InputFileNotFound(str(path)) from None
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    if not stat.S_ISREG(found.st_mode):
        what = "a folder" if stat.S_ISDIR(found.st_mode) else "not a regular file"
        raise _unreadable(path, f"it is {what}")
    if found.st_size > max_bytes:
        raise OnnxModelTooLarge(name, found.st_size, max_bytes)
    try:
        with path.open("rb") as file:
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    if len(data) > max_bytes:
        raise OnnxModelTooLarge(name, len(data), max_bytes)
    return data


def _unreadable(path: Path, reason: str) -> UnreadableFile:
    return UnreadableFile(
        str(path), reason, kind="ONNX", advice="name the .onnx file the model was exported to"
    )


def register_onnx(
    env: AuditEnv, *, name: str, data: bytes, max_bytes: int = MAX_ONNX_BYTES
) -> ExternalModel:
    """Check an ONNX file, store it by hash and record it under ``name``.

    Parameters
    ----------
    env : AuditEnv
        The database and data directory (the chain is not used).
    name : str
        The model's name: 1 to 200 letters, digits, ``.``, ``_`` or ``-``.
    data : bytes
        The ONNX file's bytes.
    max_bytes : int, default :data:`~audit.external._signature.MAX_ONNX_BYTES`
        The largest file accepted.

    Returns
    -------
    ExternalModel
        The registration; the same one again for the same name and bytes, whose stored
        file is written again if it is missing or no longer hashes to ``model_hash``.

    Raises
    ------
    InvalidModelSpec
        The name cannot be a model name.
    OnnxModelTooLarge, InvalidOnnxModel, CustomOperatorDomain, UnexpectedOnnxSignature
        The file is refused; nothing is stored.

    Examples
    --------
    >>> data = Path("m.onnx").read_bytes()  # doctest: +SKIP
    >>> model = register_onnx(env, name="loans-xgb", data=data)  # doctest: +SKIP
    >>> model.model_hash  # doctest: +SKIP
    '0x…'
    """
    return store_onnx(env.engine, env.data_dir, name=name, data=data, max_bytes=max_bytes)


def store_onnx(
    engine: Engine, data_dir: Path, *, name: str, data: bytes, max_bytes: int = MAX_ONNX_BYTES
) -> ExternalModel:
    """:func:`register_onnx` with only what it needs: the database and the data directory
    (registering needs no chain, like registering a dataset).

    Examples
    --------
    >>> store_onnx(engine, Path("data"), name="loans-xgb", data=data).path  # doctest: +SKIP
    PosixPath('data/external/loans-xgb/….onnx')
    """
    _check_name(name)
    proto = parse_onnx(name, data, max_bytes=max_bytes)
    signature = signature_of(name, proto)
    model_hash = sha256_hex(data)
    try:
        return _record(
            engine,
            data_dir / EXTERNAL_DIR / name,
            name=name,
            model_hash=model_hash,
            data=data,
            producer=producer_of(proto),
            signature=signature,
        )
    except IntegrityError:  # registered by a concurrent call meanwhile: the same registration
        with session_scope(engine) as session:
            row = _find(session, name, model_hash)
            if row is None:
                raise
            return ExternalModel.from_record(row)


def _record(
    engine: Engine,
    directory: Path,
    *,
    name: str,
    model_hash: str,
    data: bytes,
    producer: str,
    signature: Signature,
) -> ExternalModel:
    with session_scope(engine) as session:
        existing = _find(session, name, model_hash)
        if existing is not None and _holds(Path(existing.path), model_hash, len(data)):
            return ExternalModel.from_record(existing)
        # not stored yet, or the stored file is gone or altered: the same bytes repair it
        path = write_atomically(directory, f"{model_hash[2:]}.onnx", data)
        row = existing or ExternalModelRecord(
            name=name,
            model_hash=model_hash,
            path=str(path),
            size=len(data),
            signature_json=signature.model_dump_json(),
            producer=producer,
        )
        row.path = str(path)
        session.add(row)
        session.flush()
        return ExternalModel.from_record(row)


def _holds(path: Path, model_hash: str, size: int) -> bool:
    try:
        return path.stat().st_size == size and file_sha256(path) == model_hash
    except OSError:
        return False


def _find(session: Session, name: str, model_hash: str) -> ExternalModelRecord | None:
    return session.exec(
        select(ExternalModelRecord)
        .where(ExternalModelRecord.name == name)
        .where(ExternalModelRecord.model_hash == model_hash.lower())
    ).first()


def registered_model(session: Session, name: str, model_hash: str) -> ExternalModel:
    """The registration of ``model_hash`` under ``name``.

    Raises
    ------
    ModelNotRegistered
    """
    row = _find(session, name, model_hash)
    if row is None:
        raise ModelNotRegistered(name, model_hash)
    return ExternalModel.from_record(row)


def list_external_models(session: Session, name: str | None = None) -> list[ExternalModel]:
    """Every registration (of ``name``, if given), oldest first."""
    query = select(ExternalModelRecord)
    if name is not None:
        query = query.where(ExternalModelRecord.name == name)
    rows = session.exec(query.order_by(col(ExternalModelRecord.id))).all()
    return [ExternalModel.from_record(r) for r in rows]


def read_model_bytes(model: ExternalModel) -> bytes:
    """The stored file's bytes, after checking they still hash to ``model.model_hash``.

    A file whose size is not the registered one is refused by its size (stat) first: it is
    hashed as it streams, never read whole.

    Raises
    ------
    ModelFileMissing, ModelHashMismatch
        The message says how to repair it: register the same file again.
    """
    path, name = model.path, model.name
    try:
        if path.stat().st_size != model.size:
            raise ModelHashMismatch(
                str(path), model.model_hash, file_sha256(path), registered_as=name
            )
        data = path.read_bytes()
    except OSError:
        raise ModelFileMissing(str(path), registered_as=name) from None
    actual = sha256_hex(data)
    if actual != model.model_hash:
        raise ModelHashMismatch(str(path), model.model_hash, actual, registered_as=name)
    return data
