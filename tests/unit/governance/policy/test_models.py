"""The policy snapshot's canonical bytes and hash: pinned, so a refactor cannot move them."""

import hashlib

from governance.policy.models import (
    DatasetEntry,
    EvidenceRuleEntry,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
)

SNAPSHOT = PolicySnapshot(
    chain_id=31337,
    policy="0x5FbDB2315678afecb367f032d93F642f64180aa3",
    block_number=42,
    block_hash="0x" + "ab" * 32,
    policy_version=7,
    datasets=(
        DatasetEntry(
            dataset_id="0x" + "01" * 32,
            content_hash="0x" + "02" * 32,
            manifest_hash="0x" + "03" * 32,
            uri="file://données/ü.csv",
            allowed=True,
        ),
    ),
    thresholds=(
        ThresholdEntry(metric="demographic_parity_difference", value="0.1", direction="upper"),
    ),
    mitigation=Mitigation(strategy="threshold_optimizer", constraint="demographic_parity"),
    evidence=EvidenceRuleEntry(
        confidence_level="0.95", min_group_size=30, min_denominator=10, on_inconclusive="block"
    ),
    evidence_overrides=(
        EvidenceRuleEntry(
            metric="équité",
            confidence_level="0.9",
            min_group_size=5,
            min_denominator=1,
            on_inconclusive="approve_with_warning",
        ),
    ),
)


def test_the_snapshot_hash_is_the_one_frozen_audits_name():
    """Computed with the snapshot's own json + sha256 code before it moved to
    core.canonical: reports name snapshots by this hash, so it must not change."""
    assert SNAPSHOT.hash == "0x7d7d31ff66120481359f13874c4d4c4636170547654bf9d78fa6b0ef4c49b428"


def test_the_snapshot_is_utf8_json_without_whitespace_and_its_hash_is_the_bytes_sha256():
    data = SNAPSHOT.canonical_json()
    assert data.startswith(b'{"block_hash":"0xabab')
    assert "données/ü.csv".encode() in data
    assert b" " not in data
    assert SNAPSHOT.hash == "0x" + hashlib.sha256(data).hexdigest()
