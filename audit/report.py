"""The audit report: canonical JSON with a schema version, and its hash.

A report is built once from an :class:`~bias_checks.AuditResult` plus provenance (run id,
model, dataset, policy snapshot, seeds, package versions). Its bytes are
:func:`core.canonical.canonical_json` of :attr:`Report.data`; its hash is
:func:`core.canonical.sha256_hex` of those bytes. Nothing time-dependent goes in, so the same
inputs give the same bytes and hash.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from typing import Any

from pydantic import ValidationError

from audit.db_models import RunKind
from audit.errors import InvalidReport, ReportNotCanonical
from audit.report_model import (
    DatasetInfo,
    FederationInfo,
    ModelInfo,
    PolicyInfo,
    ReportModel,
    RetrainingInfo,
)
from audit.violations import Violation, group_label, worst_violations
from bias_checks import AuditResult, Verdict
from core.canonical import canonical_json, sha256_hex

__all__ = [
    "REPORT_KINDS",
    "REPORT_SCHEMA_VERSION",
    "VERDICTS",
    "DatasetInfo",
    "FederationInfo",
    "ModelInfo",
    "PolicyInfo",
    "Report",
    "RetrainingInfo",
    "Violation",
    "build_report",
    "default_environment",
    "group_label",
    "worst_violations",
]

REPORT_SCHEMA_VERSION = "1"

REPORT_KINDS: tuple[str, ...] = tuple(RunKind)
VERDICTS: tuple[str, ...] = tuple(Verdict)
REPORT_KEYS = frozenset(
    {
        "schema_version",
        "kind",
        "run_id",
        "model",
        "dataset",
        "policy",
        "environment",
        "seeds",
        "audit",
        "verdict",
        "warnings",
    }
)
#: Keys only some reports have: ``retraining`` (a model retrained after a withdrawal),
#: ``federation`` (a model trained and audited where the data lives, #16) and ``ll144`` (the
#: NYC Local Law 144 impact ratio table of the ``ll144`` preset, #17).
OPTIONAL_REPORT_KEYS = frozenset({"retraining", "federation", "ll144"})
ENVIRONMENT_PACKAGES: tuple[str, ...] = (
    "fairgov",
    "numpy",
    "pandas",
    "scikit-learn",
    "fairlearn",
    "skops",
)

_RUN_ID = re.compile(r"^0x[0-9a-f]{64}$")


def default_environment() -> dict[str, str]:
    """Return the Python and package versions of this install (deterministic; no host data).

    Examples
    --------
    >>> env = default_environment()
    >>> {"python", "numpy", "fairlearn"} <= set(env)
    True
    """
    env = {"python": platform.python_version()}
    for package in ENVIRONMENT_PACKAGES:
        try:
            env[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return env


def _dedupe(messages: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(messages))


class Report:
    """An audit report: canonical bytes, their hash, and the data they encode.

    Build one with :func:`build_report` or read one with :meth:`from_bytes`. ``data`` returns
    a fresh copy, so the bytes and hash can never drift from the content.

    Examples
    --------
    >>> r = Report.from_bytes(report.canonical_bytes())  # doctest: +SKIP
    >>> r.hash == report.hash  # doctest: +SKIP
    True
    """

    __slots__ = ("_bytes", "_model")

    def __init__(self, data: Mapping[str, Any]) -> None:
        _validate(data)
        self._bytes = canonical_json(data)
        self._model: ReportModel | None = None

    @classmethod
    def from_bytes(cls, raw: bytes) -> Report:
        """Parse report bytes and check that they are canonical and well formed.

        Raises
        ------
        InvalidReport
            The bytes are not JSON, or not a report of this schema version.
        ReportNotCanonical
            Re-serialising the content does not give the same bytes.
        """
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidReport(f"not UTF-8 JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InvalidReport("the top level is not an object")
        report = cls(data)
        if report._bytes != raw:
            raise ReportNotCanonical
        return report

    @property
    def data(self) -> dict[str, Any]:
        """The report content as plain JSON data (a copy)."""
        result: dict[str, Any] = json.loads(self._bytes)
        return result

    @property
    def model(self) -> ReportModel:
        """The typed read view of the content (parsed once, on first use).

        Raises
        ------
        InvalidReport
            The content does not have the fields and types of a report of this version.
        """
        if self._model is None:
            try:
                self._model = ReportModel.from_data(self.data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InvalidReport(f"{where}: {first['msg']}") from None
        return self._model

    @property
    def hash(self) -> str:
        """``"0x" + sha256`` of the canonical bytes: the ``reportHash`` anchored on chain."""
        return sha256_hex(self._bytes)

    @property
    def verdict(self) -> Verdict:
        """``PASS``, ``FAIL`` or ``INCONCLUSIVE``."""
        return Verdict(self.data["verdict"])

    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def kind(self) -> RunKind:
        """``training_run``, ``reaudit`` or ``predictions``."""
        return RunKind(self.data["kind"])

    def canonical_bytes(self) -> bytes:
        """The canonical JSON bytes that :attr:`hash` is computed over."""
        return self._bytes

    def worst_violations(self, n: int = 3) -> list[Violation]:
        """Return up to ``n`` failing or inconclusive checks, the worst first.

        FAIL comes before INCONCLUSIVE; within each, checks further past their bound come
        first (``excess`` is ``value - bound`` for an upper bound, ``bound - value`` for a
        lower bound; NaN when the value is undefined, sorted last).

        Examples
        --------
        >>> [v.metric for v in report.worst_violations(1)]  # doctest: +SKIP
        ['demographic_parity_difference']
        """
        return worst_violations(self.model, n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Report) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"Report(run_id={self.run_id!r}, verdict={self.verdict!r}, hash={self.hash!r})"


def _validate(data: Mapping[str, Any]) -> None:
    missing = REPORT_KEYS - set(data)
    extra = set(data) - REPORT_KEYS - OPTIONAL_REPORT_KEYS
    if missing or extra:
        raise InvalidReport(f"missing keys {sorted(missing)}, unexpected keys {sorted(extra)}")
    if data["schema_version"] != REPORT_SCHEMA_VERSION:
        raise InvalidReport(
            f"schema version {data['schema_version']!r}; this fairgov reads "
            f"{REPORT_SCHEMA_VERSION!r}"
        )
    if data["kind"] not in REPORT_KINDS:
        raise InvalidReport(f"kind {data['kind']!r} is not one of {list(REPORT_KINDS)}")
    if not isinstance(data["run_id"], str) or not _RUN_ID.match(data["run_id"]):
        raise InvalidReport("run_id must be 0x followed by 64 lowercase hex digits")
    if data["verdict"] not in VERDICTS:
        raise InvalidReport(f"verdict {data['verdict']!r} is not one of {list(VERDICTS)}")
    audit = data["audit"]
    if not isinstance(audit, Mapping) or audit.get("verdict") != data["verdict"]:
        raise InvalidReport("the verdict differs from the audit's verdict")


def build_report(
    *,
    kind: RunKind,
    run_id: str,
    audit: AuditResult,
    model: ModelInfo | None,
    dataset: DatasetInfo,
    policy: PolicyInfo | None,
    seeds: Mapping[str, int],
    environment: Mapping[str, str] | None = None,
    warnings: Iterable[str] = (),
    retraining: RetrainingInfo | None = None,
    federation: FederationInfo | None = None,
) -> Report:
    """Build the canonical audit report of one audit.

    Parameters
    ----------
    kind : RunKind
        A governed training run, a re-audit of an existing model, or a third party's
        predictions.
    run_id : str
        ``0x`` followed by 64 lowercase hex digits.
    audit : AuditResult
        What :func:`bias_checks.audit_predictions` returned.
    model, dataset, policy : ModelInfo or None, DatasetInfo, PolicyInfo or None
        Provenance; ``model`` and ``policy`` are ``None`` for predictions audits.
    seeds : mapping of str to int
        Every seed the run used (bootstrap, training, split, ...).
    environment : mapping of str to str, optional
        Package versions; defaults to :func:`default_environment`. No timestamps or hosts.
    warnings : iterable of str, default ()
        Extra warnings, appended after the audit's own (duplicates dropped, order kept).
    retraining : RetrainingInfo, optional
        For a model retrained after a withdrawal: the withdrawals and the run it replaces
        (the ``retraining`` key is absent otherwise).
    federation : FederationInfo, optional
        For a federated run: strategy, privacy budget, nodes, refusals and rounds.

    Returns
    -------
    Report

    Examples
    --------
    >>> report = build_report(kind=RunKind.PREDICTIONS, run_id="0x" + "ab" * 32,
    ...     audit=result, model=None, dataset=dataset, policy=None,
    ...     seeds={"bootstrap": 0})  # doctest: +SKIP
    >>> report.hash.startswith("0x")  # doctest: +SKIP
    True
    """
    audit_data = audit.to_dict()
    all_warnings = _dedupe(
        [w["message"] for w in audit_data["warnings"]] + [str(w) for w in warnings]
    )
    data = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "kind": RunKind(kind),
        "run_id": run_id,
        "model": None if model is None else model.model_dump(),
        "dataset": dataset.model_dump(),
        "policy": None if policy is None else policy.model_dump(),
        "environment": dict(default_environment() if environment is None else environment),
        "seeds": {str(k): int(v) for k, v in seeds.items()},
        "audit": audit_data,
        "verdict": audit_data["verdict"],
        "warnings": all_warnings,
    }
    if retraining is not None:
        data["retraining"] = retraining.model_dump()
    if federation is not None:
        data["federation"] = federation.model_dump()
    return Report(data)
