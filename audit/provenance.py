"""The provenance blocks of a governed run's report: the model, the dataset and the policy."""

from __future__ import annotations

from audit.manifest import DatasetManifest
from audit.report_model import DatasetInfo, ModelInfo, PolicyInfo
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


def dataset_info(manifest: DatasetManifest, rows: int) -> DatasetInfo:
    """The dataset block: id, content and manifest hashes, rows, label and sensitive features."""
    return DatasetInfo(
        name=manifest.name,
        dataset_id=manifest.dataset_id,
        content_hash=manifest.sha256,
        manifest_hash=manifest.hash,
        rows=rows,
        label=manifest.label,
        positive_label=manifest.positive_label,
        sensitive_features=list(manifest.sensitive_features),
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
