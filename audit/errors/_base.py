"""The audit errors: the root, and those of reports, data, runs and the gate.

Server-side files that are gone or altered (a dataset or model file) are INTERNAL: the
operator must restore them, the caller can do nothing.
"""

from __future__ import annotations

from typing import ClassVar

from bias_checks import UnknownMetricMistake
from core.errors import ErrorCategory, FairgovError


class AuditError(FairgovError):
    """Root of the audit errors."""

    code: ClassVar[str] = "audit_error"


class InvalidReport(AuditError):
    """Bytes or data that are not a fairgov audit report."""

    code: ClassVar[str] = "invalid_report"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"not a fairgov audit report: {problem}", problem=problem)


class ReportNotCanonical(AuditError):
    """A report file whose bytes are not the canonical JSON of its content."""

    code: ClassVar[str] = "report_not_canonical"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self) -> None:
        super().__init__(
            "the report bytes are not canonical JSON (sorted keys, no whitespace, shortest "
            "floats), so its hash cannot be checked: use the report.json exactly as written"
        )


class InputFileNotFound(AuditError):
    """The predictions file does not exist."""

    code: ClassVar[str] = "input_file_not_found"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, path: str) -> None:
        super().__init__(f"no such file: {path}: check the path", path=path)


class InvalidOutputFolder(AuditError):
    """A folder named for the report files that cannot hold them: a file, a path that cannot
    be looked at, or one whose report files would overwrite an input or be read as data."""

    code: ClassVar[str] = "invalid_output_folder"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, folder: str, problem: str, fix: str, *, option: str = "--out") -> None:
        super().__init__(
            f"{option} {folder} {problem}: {fix}",
            folder=folder,
            problem=problem,
            option=option,
        )


class InvalidInclusionProof(AuditError):
    """A file that is not a record's inclusion proof as ``fairgov provider prove`` prints it
    (not JSON, a field missing or of the wrong form): nothing can be checked."""

    code: ClassVar[str] = "invalid_inclusion_proof"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            f"{path} is not a proof from `fairgov provider prove` ({problem}): check the "
            "file the dataset's provider printed with `fairgov provider prove`, unchanged",
            path=path,
            problem=problem,
        )


class UnreadableFolder(AuditError):
    """A folder below a data folder cannot be listed, or is a link fairgov does not follow:
    reading on would audit part of the data without a word."""

    code: ClassVar[str] = "unreadable_folder"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot read the folder {path}: {reason}", path=path, reason=reason)


class UnsupportedFileFormat(AuditError):
    """The predictions file is neither CSV nor parquet, or parquet support is missing."""

    code: ClassVar[str] = "unsupported_file_format"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, path: str, hint: str) -> None:
        super().__init__(f"cannot read {path}: {hint}", path=path, hint=hint)


class UnreadableFile(AuditError):
    """The predictions file exists but cannot be parsed."""

    code: ClassVar[str] = "unreadable_file"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(
        self, path: str, reason: str, *, kind: str | None = None, advice: str | None = None
    ) -> None:
        """``kind`` names the format the file's suffix promised (the message then says so);
        ``advice``, when fairgov knows what the file is instead (Parquet bytes named
        ``.csv``, UTF-16 text, a ZIP archive), replaces the question at the end."""
        if kind is None:
            message = f"cannot parse {path} ({reason}): {advice or 'is it a CSV file?'}"
        else:
            message = (
                f"cannot read {path} as {kind} ({reason}): {advice or f'is it a {kind} file?'}"
            )
        super().__init__(message, path=path, kind=kind, reason=reason, advice=advice)

    def named(self, name: str) -> UnreadableFile:
        """The same error with the file called ``name`` (an upload's name, not the path it
        was saved under on the server)."""
        path = str(self.details["path"])
        reason = str(self.details["reason"]).replace(path, name)
        kind, advice = self.details["kind"], self.details["advice"]
        return UnreadableFile(name, reason, kind=kind, advice=advice)


class MissingColumn(AuditError):
    """A column named on the command line is not in the file."""

    code: ClassVar[str] = "missing_column"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, column: str, option: str, available: list[str]) -> None:
        shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "")
        super().__init__(
            f"column {column!r} (from {option}) is not in the file; columns are: {shown}",
            column=column,
            option=option,
        )


class InvalidThresholdSpec(AuditError):
    """A ``--threshold`` that is not ``METRIC<=VALUE`` or ``METRIC>=VALUE``."""

    code: ClassVar[str] = "invalid_threshold_spec"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, spec: str, problem: str | None = None) -> None:
        advice = problem or (
            "write METRIC<=VALUE (upper bound) or METRIC>=VALUE (lower bound), e.g. "
            "'demographic_parity_difference<=0.1'"
        )
        super().__init__(f"bad threshold {spec!r}: {advice}", spec=spec, problem=advice)


class UnknownMetricName(UnknownMetricMistake, AuditError):
    """A ``--threshold`` names a metric that is not in the bias_checks catalogue: the
    engine's and governance's code (``unknown_metric``), with a close match named."""

    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, metric: str, suggestion: str | None) -> None:
        hint = f"did you mean {suggestion!r}?" if suggestion else "see docs/bias_checks.md"
        super().__init__(
            f"unknown fairness metric {metric!r}: {hint}", metric=metric, suggestion=suggestion
        )


class InvalidPredictions(AuditError):
    """The prediction column cannot be turned into labels (for example scores without cutoff)."""

    code: ClassVar[str] = "invalid_predictions"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, column: str, problem: str) -> None:
        super().__init__(f"prediction column {column!r}: {problem}", column=column)


class InvalidManifest(AuditError):
    """A dataset manifest that is malformed or names columns the file does not have."""

    code: ClassVar[str] = "invalid_manifest"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid dataset manifest: {problem}", problem=problem)


class DatasetNotRegistered(AuditError):
    """No manifest is stored for a dataset name: register it first."""

    code: ClassVar[str] = "dataset_not_registered"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, name: str) -> None:
        super().__init__(
            f"dataset {name!r} is not registered here: run `fairgov datasets register` first",
            name=name,
        )


class ManifestNotRegistered(AuditError):
    """A manifest whose hash no registration stored (edited after it was printed)."""

    code: ClassVar[str] = "manifest_not_registered"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, name: str, manifest_hash: str) -> None:
        super().__init__(
            f"the manifest of {name!r} ({manifest_hash}) is not registered here (was it edited "
            "after `fairgov datasets register` printed it?): offer a registered manifest",
            name=name,
            manifest_hash=manifest_hash,
        )


class DatasetFileMissing(AuditError):
    """The data file a manifest points to cannot be read."""

    code: ClassVar[str] = "dataset_file_missing"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

    def __init__(self, name: str, path: str) -> None:
        super().__init__(f"dataset {name!r}: cannot read its file {path}", name=name, path=path)


class DatasetNotAllowed(AuditError):
    """The policy does not allow the dataset (never allowed, revoked, or withdrawn by its
    provider)."""

    code: ClassVar[str] = "dataset_not_allowed"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(
        self, name: str, dataset_id: str, policy_version: int, *, withdrawn: bool = False
    ) -> None:
        hint = (
            "its provider withdrew it; train on other datasets or ask the provider for a new offer"
            if withdrawn
            else "propose an allow_dataset action first"
        )
        super().__init__(
            f"dataset {name!r} ({dataset_id}) is not allowed by policy version "
            f"{policy_version}: {hint}",
            name=name,
            dataset_id=dataset_id,
            policy_version=policy_version,
            withdrawn=withdrawn,
        )


class DatasetHashMismatch(AuditError):
    """The data's content hash differs from the content hash the DAO allowed (or that was
    registered): a data file's sha256, or for a folder or glob the hash of its file list and
    each file's sha256 (docs/hashes.md).

    ``several`` says which: True for a folder or glob, False for one file, None (the
    default) when the caller does not say, and the message covers both."""

    code: ClassVar[str] = "dataset_hash_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(
        self,
        name: str,
        expected: str,
        actual: str,
        *,
        registered: bool = False,
        several: bool | None = None,
    ) -> None:
        against, since = ("registered", "registration") if registered else ("allowed", "the vote")
        fix = (
            "register the data again (fairgov datasets register) and offer the new manifest"
            if registered
            else "restore the data as voted, or register the new data and offer it for a vote"
        )
        if several is None:
            found = (
                f"its content hash {actual} (a file's sha256; for a folder or glob, the hash of "
                "its file list and each file's sha256)"
            )
            changed = "the data changed"
        elif several:
            found = f"the content hash {actual} of its files (their list and each one's sha256)"
            changed = "a file was added, removed, renamed or changed"
        else:
            found, changed = f"the file's sha256 {actual}", "the file changed"
        super().__init__(
            f"dataset {name!r}: {found} differs from the {against} content hash {expected}; "
            f"{changed} since {since}: {fix}",
            name=name,
            expected=expected,
            actual=actual,
        )


class ManifestMismatch(AuditError):
    """The stored manifest's hash differs from the manifest hash the DAO allowed."""

    code: ClassVar[str] = "manifest_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, name: str, expected: str, actual: str) -> None:
        super().__init__(
            f"dataset {name!r}: the manifest hash {actual} differs from the allowed manifest "
            f"hash {expected}; propose the new manifest or register the allowed one",
            name=name,
            expected=expected,
            actual=actual,
        )


class DatasetSchemaMismatch(AuditError):
    """A spec's datasets do not share a schema (label, positive label, features) or
    reference (privileged) group."""

    code: ClassVar[str] = "dataset_schema_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, first: str, other: str, field: str) -> None:
        super().__init__(
            f"datasets {first!r} and {other!r} differ in {field}: a spec may only combine "
            "datasets with the same label, positive label, sensitive features, features and "
            "reference group",
            first=first,
            other=other,
            field=field,
        )


class InvalidModelSpec(AuditError):
    """A model spec that cannot be parsed or names an impossible configuration."""

    code: ClassVar[str] = "invalid_model_spec"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid model spec: {problem}", problem=problem)


class UnsupportedMitigation(AuditError):
    """The policy's mitigation strategy or constraint is not one this pipeline knows."""

    code: ClassVar[str] = "unsupported_mitigation"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, strategy: str, constraint: str) -> None:
        super().__init__(
            f"mitigation {strategy!r} with constraint {constraint!r} is not supported",
            strategy=strategy,
            constraint=constraint,
        )


def _model_file_repair(registered_as: str | None) -> str:
    """How a missing or altered model file is put back: an external model's by registering
    the same ONNX file again (it is written anew), a trained model's from a backup."""
    if registered_as is not None:
        return (
            "register the original ONNX file again with `fairgov models register FILE.onnx "
            f"--name {registered_as}`, which writes it back"
        )
    return "the operator must restore the original file from a backup, or train the model again"


class ModelFileMissing(AuditError):
    """A model artifact file does not exist. ``registered_as`` names an external model's
    registration (the repair is then to register the file again)."""

    code: ClassVar[str] = "model_file_missing"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

    def __init__(self, path: str, *, registered_as: str | None = None) -> None:
        super().__init__(
            f"no model file at {path}: {_model_file_repair(registered_as)}",
            path=path,
            registered_as=registered_as,
        )


class ModelHashMismatch(AuditError):
    """A model file's sha256 differs from the hash it was recorded with: never load it.
    ``registered_as`` names an external model's registration, as for ModelFileMissing."""

    code: ClassVar[str] = "model_hash_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

    def __init__(
        self, path: str, expected: str, actual: str, *, registered_as: str | None = None
    ) -> None:
        super().__init__(
            f"model file {path} has sha256 {actual}, expected {expected}: it was modified; "
            f"{_model_file_repair(registered_as)}",
            path=path,
            expected=expected,
            actual=actual,
            registered_as=registered_as,
        )


class UntrustedModelType(AuditError):
    """A model file holds types outside the allow-list: loading it could run code."""

    code: ClassVar[str] = "untrusted_model_type"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

    def __init__(self, path: str, types: list[str]) -> None:
        super().__init__(
            f"model file {path} holds untrusted types {', '.join(types)}; refusing to load it",
            path=path,
            types=types,
        )


class AnchorRefused(AuditError):
    """Publishing to the AuditRegistry would revert (for example the key is not an auditor)."""

    code: ClassVar[str] = "anchor_refused"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(
            f"anchoring run {run_id} would revert ({reason}); nothing was sent",
            run_id=run_id,
            reason=reason,
        )


class AnchorConflict(AuditError):
    """The run id is already anchored with other values: the run is not reproducible."""

    code: ClassVar[str] = "anchor_conflict"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, field: str, anchored: str, ours: str) -> None:
        super().__init__(
            f"run {run_id} is already anchored with {field} {anchored}, this run has {ours}",
            run_id=run_id,
            field=field,
            anchored=anchored,
            ours=ours,
        )


class ModelNotApproved(AuditError):
    """Serving asked for a model that is not approved by a passing, anchored audit."""

    code: ClassVar[str] = "model_not_approved"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, model: str, status: str, reason: str) -> None:
        super().__init__(
            f"model {model} is not approved ({status}): {reason}",
            model=model,
            status=status,
            reason=reason,
        )


class MissingValues(AuditError):
    """A column the audit needs has empty cells."""

    code: ClassVar[str] = "missing_values"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, column: str, count: int, first_row: int, *, numbers: bool = False) -> None:
        what = "empty or infinite" if numbers else "empty"
        super().__init__(
            f"column {column!r} has {count} {what} value(s), the first on data row {first_row}: "
            "drop or fill those rows first",
            column=column,
            count=count,
            first_row=first_row,
        )


class AmbiguousLabels(AuditError):
    """The label column is not 0/1 (or -1/1) and no positive label was named."""

    code: ClassVar[str] = "ambiguous_labels"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, column: str, values: list[str], problem: str) -> None:
        shown = ", ".join(values[:8]) + (", ..." if len(values) > 8 else "")
        super().__init__(f"label column {column!r} has values {shown}: {problem}", column=column)


class AuditorKeyMissing(AuditError):
    """A run was started without a key holding ``AUDITOR_ROLE``: it could not be anchored."""

    code: ClassVar[str] = "auditor_key_missing"
    # Like audits_disabled: this service cannot run audits until an operator adds the key.
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self) -> None:
        super().__init__(
            "no auditor key is configured: set FAIRGOV_AUDITOR_KEY to a key holding "
            "AUDITOR_ROLE on the AuditRegistry to run audits"
        )
