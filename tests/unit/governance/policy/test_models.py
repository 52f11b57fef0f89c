"""The policy snapshot's canonical bytes and hash: pinned, so a refactor cannot move them."""

import hashlib

import pytest
from pydantic import ValidationError

from governance.policy.models import (
    Aggregation,
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
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
            records_root="0x" + "04" * 32,
            licence="CC0-1.0",
            terms_hash="0x" + "05" * 32,
            provider="0x" + "06" * 20,
            consented_at=1_700_000_000,
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
    federation=FederationPolicy(
        aggregation=Aggregation.FEDTRIMMEDAVG, trim_beta="0.100000", epsilon="1.000000", min_nodes=3
    ),
)


def test_the_snapshot_hash_is_the_one_frozen_audits_name():
    """Reports name snapshots by this hash, so it must not move by accident. Schema 3 (#15:
    each dataset carries its provider's consent) changed it deliberately from
    0x7d7d31ff66120481359f13874c4d4c4636170547654bf9d78fa6b0ef4c49b428, schema 4 (#16: the
    federation policy) from 0xbbc104953211ee956015ce0759df8ae8b04d5d3278bb8e8ac72d0ff743028ae2."""
    assert SNAPSHOT.hash == "0x18fcdc653a864c832ece221af9c13ce61d6c1816c6185f59a7f976e774d205ac"


def test_the_snapshot_is_utf8_json_without_whitespace_and_its_hash_is_the_bytes_sha256():
    data = SNAPSHOT.canonical_json()
    assert data.startswith(b'{"block_hash":"0xabab')
    assert "données/ü.csv".encode() in data
    assert b" " not in data
    assert SNAPSHOT.hash == "0x" + hashlib.sha256(data).hexdigest()


def test_the_federation_policy_defaults_are_the_contracts():
    default = FederationPolicy()
    assert (default.aggregation, default.trim_beta, default.krum_f) == ("fedavg", "0.200000", 0)
    assert (default.epsilon, default.min_nodes) == (None, 2)
    assert FederationPolicy.from_chain(0, 200_000, 0, 0, 2) == default
    assert FederationPolicy.from_chain(3, 200_000, 1, 2_500_000, 5).epsilon == "2.500000"
    assert list(Aggregation) == ["fedavg", "fedmedian", "fedtrimmedavg", "krum"]  # Solidity order


@pytest.mark.parametrize(
    "fields",
    [
        {"trim_beta": "0"},
        {"trim_beta": "0.5"},
        {"epsilon": "0"},
        {"epsilon": "-1"},
        {"min_nodes": 0},
        {"krum_f": -1},
        {"aggregation": "bulyan"},
    ],
)
def test_a_federation_policy_the_contract_cannot_hold_is_refused(fields):
    with pytest.raises(ValidationError):
        FederationPolicy(**fields)
