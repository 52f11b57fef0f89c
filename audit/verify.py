"""Verification: of a dataset before any training, and of a report against the chain.

Before training, :func:`verify_dataset` checks a dataset against the frozen policy snapshot:
the DAO must allow it, the manifest must hash to the allowed ``manifestHash`` and the file
to the allowed ``contentHash``; :func:`verify_datasets` does so for each dataset of a spec,
after :func:`check_same_schema`. After an audit, anyone holding a report can call
:func:`verify_report` to check it against the ``AuditRegistry``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from web3 import Web3
from web3.exceptions import ContractLogicError

from audit.bundle import RenderingCheck, check_renderings
from audit.dataset_files import several_files
from audit.errors import (
    DatasetHashMismatch,
    DatasetNotAllowed,
    DatasetSchemaMismatch,
    InvalidReport,
    ManifestMismatch,
)
from audit.manifest import DatasetManifest
from audit.manifest_data import manifest_content_hash
from audit.report import Report
from bias_checks import Verdict
from core.canonical import sha256_hex
from core.types import hash32_of, to_address, to_hash32
from governance.chain.contracts import bind
from governance.policy import history as policy_history
from governance.policy.snapshot import DatasetEntry, PolicySnapshot, allowed_dataset, read_snapshot


def verify_dataset(snapshot: PolicySnapshot, manifest: DatasetManifest) -> DatasetEntry:
    """Check that ``snapshot`` allows ``manifest`` and its file, byte for byte.

    Parameters
    ----------
    snapshot : PolicySnapshot
        The policy the run froze when it started.
    manifest : DatasetManifest
        The stored manifest of the dataset.

    Returns
    -------
    DatasetEntry
        The on-chain entry the dataset was verified against.

    Raises
    ------
    DatasetNotAllowed
        The policy never allowed the dataset, revoked it, or its provider withdrew it (the
        message says which).
    ManifestMismatch
        The manifest does not hash to the allowed ``manifestHash``.
    DatasetFileMissing
        The data file (or every file of the folder or glob) cannot be read.
    DatasetHashMismatch
        The file, or the folder's or glob's list of files and their hashes, does not hash
        to the allowed ``contentHash``: a file changed, or was added or removed.

    Examples
    --------
    >>> entry = verify_dataset(snapshot, manifest)  # doctest: +SKIP
    >>> entry.content_hash == manifest.sha256  # doctest: +SKIP
    True
    """
    entry = allowed_dataset(snapshot, manifest.dataset_id)
    if entry is None:
        known = (d for d in snapshot.datasets if d.dataset_id == manifest.dataset_id)
        withdrawn = any(d.withdrawn for d in known)
        raise DatasetNotAllowed(
            manifest.name, manifest.dataset_id, snapshot.policy_version, withdrawn=withdrawn
        )
    if manifest.hash != entry.manifest_hash:
        raise ManifestMismatch(manifest.name, entry.manifest_hash, manifest.hash)
    actual = manifest_content_hash(manifest)
    if actual != entry.content_hash:
        several = several_files(manifest.uri) is not None
        raise DatasetHashMismatch(manifest.name, entry.content_hash, actual, several=several)
    return entry


#: What datasets trained together must agree on, in the order they are compared: their
#: audit compares every group with one reference (privileged) group.
SCHEMA_FIELDS = ("label", "positive_label", "sensitive_features", "features", "reference_group")


def check_same_schema(manifests: Sequence[DatasetManifest]) -> None:
    """Check that ``manifests`` can be concatenated: each has the first one's
    :data:`SCHEMA_FIELDS`.

    Raises
    ------
    DatasetSchemaMismatch
        Names the first dataset that differs and the first field it differs in.

    Examples
    --------
    >>> check_same_schema([loans_a, loans_b])  # doctest: +SKIP
    """
    first = manifests[0]
    for other in manifests[1:]:
        for field in SCHEMA_FIELDS:
            if getattr(other, field) != getattr(first, field):
                raise DatasetSchemaMismatch(first.name, other.name, field)


def verify_datasets(
    snapshot: PolicySnapshot, manifests: Sequence[DatasetManifest]
) -> tuple[DatasetEntry, ...]:
    """:func:`check_same_schema`, then :func:`verify_dataset` for each manifest, in order.

    Examples
    --------
    >>> [e.dataset_id for e in verify_datasets(snapshot, manifests)]  # doctest: +SKIP
    ['0x…', '0x…']
    """
    check_same_schema(manifests)
    return tuple(verify_dataset(snapshot, manifest) for manifest in manifests)


def frozen_snapshot(w3: Web3, policy_address: str) -> PolicySnapshot:
    """The current policy, stamped with the block where its version took effect.

    The contents are read now; the block comes from the policy's events, so no archive
    state is needed (the policy cannot have changed since its version's event).

    Examples
    --------
    >>> snap = frozen_snapshot(w3, deployment.addresses.training_policy)  # doctest: +SKIP
    >>> snap == frozen_snapshot(w3, deployment.addresses.training_policy)  # doctest: +SKIP
    True
    """
    latest = read_snapshot(w3, policy_address)
    block = policy_history.version_block(
        w3, policy_address, version=latest.policy_version, up_to_block=latest.block_number
    )
    if block == latest.block_number:
        return latest
    return latest.model_copy(
        update={
            "block_number": block,
            "block_hash": policy_history.block_hash(w3, latest.policy, block),
        }
    )


VerificationStatus = Literal[
    "verified",
    "run_mismatch",
    "hash_mismatch",
    "not_anchored",
    "verdict_mismatch",
    "rendering_mismatch",
]


@dataclass(frozen=True)
class Verification:
    """What the chain says about a report.

    ``status`` is ``verified`` only when the report is for the run asked about, its hash
    equals the one anchored for that run, its verdict matches the anchored ``passed`` flag,
    and every rendering given equals the rendering of that report. Otherwise it names the
    first check that failed, in that order.
    """

    status: VerificationStatus
    run_id: str
    report_hash: str
    anchored_hash: str | None = None
    verdict: Verdict | None = None
    anchored_passed: bool | None = None
    policy_version: int | None = None
    block_number: int | None = None
    auditor: str | None = None
    renderings: tuple[RenderingCheck, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the report is exactly the one anchored, with the same verdict."""
        return self.status == "verified"


def _run_id_and_verdict(report_bytes: bytes) -> tuple[str, Verdict | None]:
    """The run id (lower case) and the verdict a report names; the verdict is None when it is
    none of the three, which no anchored report has (so its hash cannot match)."""
    try:
        data = json.loads(report_bytes.decode("utf-8"))
        run_id, verdict = data["run_id"], data["verdict"]
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError):
        raise InvalidReport("it has no readable run_id and verdict") from None
    if not isinstance(run_id, str) or not isinstance(verdict, str):
        raise InvalidReport("run_id and verdict must be strings")
    try:
        named = to_hash32(run_id)
    except ValueError:
        raise InvalidReport(f"run_id {run_id!r} is not 32 bytes of hex") from None
    try:
        return named, Verdict(verdict)
    except ValueError:
        return named, None


def verify_report(
    w3: Web3,
    registry_address: str,
    report_bytes: bytes,
    *,
    run_id: str | None = None,
    renderings: Mapping[str, bytes | None] | None = None,
) -> Verification:
    """Recompute a report's hash and compare it with the one anchored for its run.

    A report that was changed in any way, even one that is still valid JSON, has another
    hash and fails with ``hash_mismatch``. A report of another run fails with
    ``run_mismatch``; a rendering that is not the anchored report's with
    ``rendering_mismatch``.

    Parameters
    ----------
    w3 : Web3
    registry_address : str
        The AuditRegistry's address.
    report_bytes : bytes
        The ``report.json`` file, exactly as downloaded.
    run_id : str, optional
        The run the report must be for (default: the one it names).
    renderings : mapping of str to bytes or None, optional
        The HTML, CSV, PDF and model-card files to check too, by file name
        (:data:`audit.bundle.RENDERERS`); None for a missing one.

    Returns
    -------
    Verification

    Raises
    ------
    InvalidReport
        The bytes are not a report (no run id or verdict to look up).

    Examples
    --------
    >>> result = verify_report(w3, registry, Path("report.json").read_bytes())  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'verified'
    """
    named, verdict = _run_id_and_verdict(report_bytes)
    wanted = named if run_id is None else run_id.lower()
    report_hash = sha256_hex(report_bytes)
    registry = bind(w3, "AuditRegistry", registry_address).functions
    try:
        audit = registry.getAudit(bytes.fromhex(wanted[2:])).call()
    except ContractLogicError:
        status: VerificationStatus = "run_mismatch" if named != wanted else "not_anchored"
        return Verification(status, wanted, report_hash, verdict=verdict)
    _, _, anchored, policy_version, passed, auditor, block_number, _ = audit
    anchored_hash = hash32_of(anchored)
    found = Verification(
        "verified",
        wanted,
        report_hash,
        anchored_hash=anchored_hash,
        verdict=verdict,
        anchored_passed=bool(passed),
        policy_version=int(policy_version),
        block_number=int(block_number),
        auditor=to_address(auditor),
    )
    if named != wanted:
        return _with_status(found, "run_mismatch")
    if anchored_hash != report_hash:
        return _with_status(found, "hash_mismatch")
    if (verdict == Verdict.PASS) != bool(passed):
        return _with_status(found, "verdict_mismatch")
    if renderings is None:
        return found
    checks = tuple(check_renderings(Report.from_bytes(report_bytes), renderings))
    found = replace(found, renderings=checks)
    return found if all(c.ok for c in checks) else _with_status(found, "rendering_mismatch")


def _with_status(found: Verification, status: VerificationStatus) -> Verification:
    return replace(found, status=status)
