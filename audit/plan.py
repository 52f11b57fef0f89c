"""What fixes an audit run before it starts: the frozen policy, the datasets and the run id.

The run id is :func:`core.canonical.canonical_hash` of the spec, the datasets' content
hashes, the frozen policy snapshot's hash and the seed (and, for a re-audit, the model's
hash; for a retraining after a withdrawal, the run it replaces). Nothing time-dependent
enters it, so the same inputs always give the same run id, and the API can answer with it
before the run starts. A single-dataset run's inputs are exactly what they were before specs
could name several datasets, so its run id is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from audit.env import AuditEnv
from audit.errors import DatasetFileMissing
from audit.manifest import DatasetManifest, latest_manifest
from audit.manifest_data import manifest_content_hash
from audit.spec import ModelSpec
from audit.verify import check_same_schema, frozen_snapshot
from core.canonical import canonical_hash
from core.db import session_scope
from core.types import Hash32
from governance.policy.snapshot import PolicySnapshot

#: How the names of several datasets are joined where one name is shown.
NAME_JOINER = " + "


def combined(values: tuple[str, ...]) -> str:
    """One value for one dataset; the canonical hash of the list, in order, for several.

    Examples
    --------
    >>> combined(("0x" + "ab" * 32,)) == "0x" + "ab" * 32
    True
    """
    return values[0] if len(values) == 1 else canonical_hash(list(values))


def compute_run_id(
    spec: ModelSpec,
    content_hashes: str | tuple[str, ...],
    snapshot_hash: str,
    *,
    model_hash: str | None = None,
    replaces: str | None = None,
) -> Hash32:
    """The canonical hash of the run's inputs (and of the model, for a re-audit, and of the
    run it replaces, for a retraining).

    Examples
    --------
    >>> compute_run_id(spec, content_hash, snapshot.hash)  # doctest: +SKIP
    '0x…'
    """
    hashes = (content_hashes,) if isinstance(content_hashes, str) else content_hashes
    inputs: dict[str, Any] = {
        "policy_snapshot_hash": snapshot_hash,
        "seed": spec.seed,
        "spec": spec.model_dump(mode="json"),
    }
    if len(hashes) == 1:
        inputs["dataset_content_hash"] = hashes[0]
    else:
        inputs["dataset_content_hashes"] = list(hashes)
    if model_hash is not None:
        inputs["reaudit_model_hash"] = model_hash
    if replaces is not None:
        inputs["retrains_run_id"] = replaces
    return canonical_hash(inputs)


def spec_manifests(session: Session, spec: ModelSpec) -> tuple[DatasetManifest, ...]:
    """The latest registered manifest of each dataset of ``spec``, in the spec's order.

    Raises
    ------
    DatasetNotRegistered
    """
    return tuple(latest_manifest(session, name) for name in spec.dataset_names)


def current_content_hash(manifest: DatasetManifest) -> str:
    """:func:`audit.manifest_data.manifest_content_hash`, or the manifest's own ``sha256`` when its
    data cannot be read (the run's verification then refuses it: ``dataset_file_missing``).

    Examples
    --------
    >>> current_content_hash(manifest) == manifest.sha256  # doctest: +SKIP
    True
    """
    try:
        return manifest_content_hash(manifest)
    except DatasetFileMissing:
        return manifest.sha256


@dataclass(frozen=True)
class RunPlan:
    """What a run is fixed by before it starts: the frozen policy, the datasets and its id."""

    snapshot: PolicySnapshot
    manifests: tuple[DatasetManifest, ...]
    content_hashes: tuple[str, ...]
    run_id: Hash32

    @property
    def manifest(self) -> DatasetManifest:
        """The first dataset's manifest (they share a schema)."""
        return self.manifests[0]

    @property
    def content_hash(self) -> str:
        """The file's sha256, or :func:`combined` of each file's, in order."""
        return combined(self.content_hashes)

    @property
    def dataset_id(self) -> str:
        """The dataset id, or :func:`combined` of each one's: what the anchor names."""
        return combined(tuple(m.dataset_id for m in self.manifests))

    @property
    def dataset_name(self) -> str:
        return NAME_JOINER.join(m.name for m in self.manifests)


def plan_run(
    env: AuditEnv,
    spec: ModelSpec,
    *,
    model_hash: str | None = None,
    replaces: str | None = None,
) -> RunPlan:
    """Freeze the policy and fix the run id of ``spec`` (and of ``model_hash``, for a
    re-audit, or of the run it ``replaces``), as :func:`audit.runs.run_audit` will.

    Raises
    ------
    DatasetNotRegistered
        A dataset of the spec has no manifest here.
    DatasetSchemaMismatch
        The spec's datasets do not share a schema (nothing is recorded or trained).

    Examples
    --------
    >>> plan_run(env, spec).run_id  # doctest: +SKIP
    '0x…'
    """
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    with session_scope(env.engine) as session:
        manifests = spec_manifests(session, spec)
    check_same_schema(manifests)
    hashes = tuple(current_content_hash(m) for m in manifests)
    run_id = compute_run_id(spec, hashes, snapshot.hash, model_hash=model_hash, replaces=replaces)
    return RunPlan(snapshot, manifests, hashes, run_id)
