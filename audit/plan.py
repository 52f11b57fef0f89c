"""What fixes an audit run before it starts: the frozen policy, the dataset and the run id.

The run id is :func:`core.canonical.canonical_hash` of the spec, the dataset's content hash,
the frozen policy snapshot's hash and the seed (and, for a re-audit, the model's hash).
Nothing time-dependent enters it, so the same inputs always give the same run id, and the
API can answer with it before the run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.env import AuditEnv
from audit.manifest import DatasetManifest, latest_manifest
from audit.spec import ModelSpec
from audit.verify import frozen_snapshot
from core.canonical import canonical_hash, file_sha256
from core.db import session_scope
from core.types import Hash32
from governance.policy.snapshot import PolicySnapshot


def compute_run_id(
    spec: ModelSpec, content_hash: str, snapshot_hash: str, *, model_hash: str | None = None
) -> Hash32:
    """The canonical hash of the run's inputs (and of the model, for a re-audit).

    Examples
    --------
    >>> compute_run_id(spec, content_hash, snapshot.hash)  # doctest: +SKIP
    '0x…'
    """
    inputs: dict[str, Any] = {
        "dataset_content_hash": content_hash,
        "policy_snapshot_hash": snapshot_hash,
        "seed": spec.seed,
        "spec": spec.model_dump(mode="json"),
    }
    if model_hash is not None:
        inputs["reaudit_model_hash"] = model_hash
    return canonical_hash(inputs)


@dataclass(frozen=True)
class RunPlan:
    """What a run is fixed by before it starts: the frozen policy, the dataset and its id."""

    snapshot: PolicySnapshot
    manifest: DatasetManifest
    content_hash: str
    run_id: Hash32


def plan_run(env: AuditEnv, spec: ModelSpec, *, model_hash: str | None = None) -> RunPlan:
    """Freeze the policy and fix the run id of ``spec`` (and of ``model_hash``, for a
    re-audit), as :func:`audit.runs.run_audit` will.

    Examples
    --------
    >>> plan_run(env, spec).run_id  # doctest: +SKIP
    '0x…'
    """
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    with session_scope(env.engine) as session:
        manifest = latest_manifest(session, spec.dataset)
    content_hash: str
    try:
        content_hash = file_sha256(manifest.local_path())
    except OSError:
        content_hash = manifest.sha256
    run_id = compute_run_id(spec, content_hash, snapshot.hash, model_hash=model_hash)
    return RunPlan(snapshot, manifest, content_hash, run_id)
