"""A Parquet dataset is registered, verified by its hash, loaded and trained like a CSV one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from audit.errors import DatasetHashMismatch, InvalidManifest
from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame
from audit.spec import parse_spec
from audit.synthetic import write_loans_csv
from audit.training import predict, split, train
from audit.verify import verify_dataset
from bias_checks import EvidenceRule
from governance.policy.models import (
    DatasetEntry,
    EvidenceRuleEntry,
    Mitigation,
    PolicySnapshot,
)

SPEC = parse_spec({"name": "m", "dataset": "loans", "seed": 0})


def _manifest(path: Path) -> DatasetManifest:
    return build_manifest(
        path, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )


@pytest.fixture(scope="module")
def manifests(tmp_path_factory: pytest.TempPathFactory) -> tuple[DatasetManifest, DatasetManifest]:
    root = tmp_path_factory.mktemp("parquet")
    csv = write_loans_csv(root / "loans.csv", 1200)
    parquet = root / "loans.parquet"
    pd.read_csv(csv, skipinitialspace=True).to_parquet(parquet)
    return _manifest(csv), _manifest(parquet)


def _snapshot(manifest: DatasetManifest) -> PolicySnapshot:
    rule = EvidenceRule()
    entry = DatasetEntry(
        dataset_id=manifest.dataset_id,
        content_hash=manifest.sha256,
        manifest_hash=manifest.hash,
        records_root="0x" + "00" * 32,
        uri=manifest.uri,
        licence="",
        terms_hash="0x" + "00" * 32,
        provider="0x" + "11" * 20,
        consented_at=0,
        allowed=True,
    )
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "22" * 20,
        block_number=1,
        block_hash="0x" + "33" * 32,
        policy_version=1,
        datasets=(entry,),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=EvidenceRuleEntry(
            confidence_level="0.950000",
            min_group_size=rule.min_group_size,
            min_denominator=rule.min_denominator,
            on_inconclusive=rule.on_inconclusive,
        ),
    )


def test_a_parquet_manifest_pins_the_file_and_names_the_same_columns(
    manifests: tuple[DatasetManifest, DatasetManifest],
):
    csv, parquet = manifests
    path = parquet.local_path()
    assert parquet.format == "parquet"
    assert parquet.sha256 == "0x" + hashlib.sha256(path.read_bytes()).hexdigest()
    assert parquet.features == csv.features
    assert parquet.sensitive_features == csv.sensitive_features


def test_a_parquet_dataset_verifies_by_hash_and_loads_like_the_csv(
    manifests: tuple[DatasetManifest, DatasetManifest],
):
    csv, parquet = manifests
    entry = verify_dataset(_snapshot(parquet), parquet)
    assert entry.content_hash == parquet.sha256
    pd.testing.assert_frame_equal(load_frame(parquet), load_frame(csv))


def test_a_parquet_dataset_trains_the_same_model_as_the_csv(
    manifests: tuple[DatasetManifest, DatasetManifest],
):
    outputs = []
    for manifest in manifests:
        data = split(load_frame(manifest), manifest, SPEC)
        model = train(SPEC, data)
        outputs.append(predict(model, data.x_test, data.a_test, random_state=0))
    assert (outputs[0] == outputs[1]).all()


def test_an_altered_parquet_file_fails_verification(
    manifests: tuple[DatasetManifest, DatasetManifest], tmp_path: Path
):
    copy = tmp_path / "loans.parquet"
    frame = pd.read_parquet(manifests[1].local_path())
    frame.to_parquet(copy)
    manifest = _manifest(copy)
    snapshot = _snapshot(manifest)
    frame.iloc[:-1].to_parquet(copy)  # one record dropped after the DAO allowed the file
    with pytest.raises(DatasetHashMismatch):
        verify_dataset(snapshot, manifest)


def test_a_parquet_file_lacking_a_declared_column_is_refused(tmp_path: Path):
    path = tmp_path / "loans.parquet"
    pd.DataFrame({"approved": [1, 0], "income": [3.0, 4.0]}).to_parquet(path)
    with pytest.raises(InvalidManifest, match=r"columns \['group'\] are not in loans\.parquet"):
        _manifest(path)
