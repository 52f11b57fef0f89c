"""The provenance blocks of a governed run's report: the model, the dataset and the policy."""

from __future__ import annotations

from collections.abc import Sequence

from audit.manifest import DatasetManifest
from audit.plan import NAME_JOINER, combined
from audit.report_model import DatasetInfo, DatasetPart, ModelInfo, PolicyInfo
from audit.spec import ModelSpec
from audit.training import ModelArtifact, describe_estimator
from governance.policy.snapshot import PolicySnapshot


def model_info(spec: ModelSpec, model: ModelArtifact, model_hash: str) -> ModelInfo:
    """The model block: name, skops file hash, estimator, mitigation and the spec."""
    mitigation = (
        model["kind"] if not model["constraint"] else (f"{model['kind']}({model['constraint']})")
    )
    return ModelInfo(
        name=spec.name,
        hash=model_hash,
        estimator=describe_estimator(model),
        mitigation=mitigation,
        spec=spec.model_dump(mode="json"),
    )


def dataset_info(manifests: Sequence[DatasetManifest], rows: Sequence[int]) -> DatasetInfo:
    """The dataset block: id, content and manifest hashes, rows, label and sensitive features;
    with several datasets, each one's too (``rows[i]`` rows of ``manifests[i]``)."""
    first = manifests[0]
    parts = [
        DatasetPart(
            name=m.name,
            dataset_id=m.dataset_id,
            content_hash=m.sha256,
            manifest_hash=m.hash,
            rows=n,
        )
        for m, n in zip(manifests, rows, strict=True)
    ]
    several = len(parts) > 1
    return DatasetInfo(
        name=NAME_JOINER.join(p.name for p in parts),
        dataset_id=combined(tuple(p.dataset_id for p in parts)),
        content_hash=combined(tuple(p.content_hash for p in parts)),
        manifest_hash=None if several else first.hash,
        rows=sum(rows),
        label=first.label,
        positive_label=first.positive_label,
        sensitive_features=list(first.sensitive_features),
        datasets=parts if several else None,
    )


def policy_info(snapshot: PolicySnapshot) -> PolicyInfo:
    """The policy block: the frozen snapshot's chain, address, version, block and hash."""
    return PolicyInfo(
        chain_id=snapshot.chain_id,
        policy_address=snapshot.policy,
        version=snapshot.policy_version,
        block_number=snapshot.block_number,
        block_hash=snapshot.block_hash,
        snapshot_hash=snapshot.hash,
        mitigation_strategy=snapshot.mitigation.strategy,
        mitigation_constraint=snapshot.mitigation.constraint,
    )
