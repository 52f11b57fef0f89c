"""Policy snapshots read from a real anvil chain, pinned to one block."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import pytest
from web3 import Web3

from governance.actions import (
    Action,
    AllowDataset,
    ClearEvidenceRule,
    RevokeDataset,
    SetEvidenceRule,
    SetMitigation,
    SetThreshold,
    encode,
)
from governance.chain import deploy
from governance.consent import withdraw_directly
from governance.errors import PolicyLacksEvidenceRule, SnapshotUnavailable
from governance.policy.snapshot import (
    DatasetEntry,
    EvidenceRuleEntry,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
    allowed_dataset,
    evidence_rule_for,
    read_snapshot,
)
from tests.helpers import (
    PROVIDER_KEY,
    Governance,
    address_of,
    allow_raw,
    mine,
    pass_and_execute_encoded,
)
from tests.integration.governance.old_policy import deploy_old_policy

DEFAULT_RULE = EvidenceRuleEntry(
    confidence_level="0.950000", min_group_size=30, min_denominator=10, on_inconclusive="block"
)

H1, H2, H3 = ("0x" + c * 32 for c in ("aa", "bb", "cc"))
DP = "demographic_parity_difference"


def loans(w3: Web3, deployment: deploy.Deployment) -> AllowDataset:
    return allow_raw(w3, deployment, "loans-v1", H1, H2, "file://loans.csv")


def old(w3: Web3, deployment: deploy.Deployment) -> AllowDataset:
    return allow_raw(w3, deployment, "old-v0", H2, H3, "file://old.csv")


def execute(gov: Governance, deployment: deploy.Deployment, *actions: Action) -> None:
    calls = encode(actions, deployment.addresses)
    pass_and_execute_encoded(gov, *calls, f"change {len(actions)}")


def test_a_fresh_policy_has_no_rules_but_the_default_evidence_rule(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    policy = deployment.addresses.training_policy
    snap = read_snapshot(isolated_chain, policy)
    latest = isolated_chain.eth.get_block("latest")
    assert snap.block_number == latest["number"]
    assert snap.block_hash == latest["hash"].to_0x_hex()
    assert snap.chain_id == deployment.chain_id
    assert snap.policy == Web3.to_checksum_address(policy)
    assert (snap.policy_version, snap.datasets, snap.thresholds) == (0, (), ())
    assert snap.mitigation == Mitigation(strategy="none", constraint="")
    assert (snap.evidence, snap.evidence_overrides) == (DEFAULT_RULE, ())
    assert evidence_rule_for(snap, DP) == DEFAULT_RULE


def test_voted_evidence_rules_are_in_the_snapshot_and_its_hash(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    policy = deployment.addresses.training_policy
    before = read_snapshot(w3, policy)

    execute(
        gov,
        deployment,
        SetEvidenceRule(confidence_level=Decimal("0.9"), min_group_size=50, min_denominator=5),
        SetEvidenceRule(metric="equalized_odds_difference", on_inconclusive="approve_with_warning"),
        SetEvidenceRule(metric=DP, confidence_level=Decimal("0.99")),
    )
    during = read_snapshot(w3, policy)
    execute(gov, deployment, ClearEvidenceRule(metric="equalized_odds_difference"))
    after = read_snapshot(w3, policy)

    default = EvidenceRuleEntry(
        confidence_level="0.900000", min_group_size=50, min_denominator=5, on_inconclusive="block"
    )
    dp_rule = EvidenceRuleEntry(
        metric=DP,
        confidence_level="0.990000",
        min_group_size=30,
        min_denominator=10,
        on_inconclusive="block",
    )
    assert during.evidence == default
    assert [r.metric for r in during.evidence_overrides] == [DP, "equalized_odds_difference"]
    assert evidence_rule_for(during, "equalized_odds_difference").on_inconclusive == (
        "approve_with_warning"
    )
    assert len({before.hash, during.hash, after.hash}) == 3
    assert after.policy_version == 4
    assert after.evidence_overrides == (dp_rule,)
    assert evidence_rule_for(after, "equalized_odds_difference") == default
    assert evidence_rule_for(after, DP) == dp_rule


def test_a_policy_from_before_evidence_rules_cannot_be_snapshotted(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    address = deploy_old_policy(w3, deployment.addresses.timelock)

    with pytest.raises(PolicyLacksEvidenceRule, match="predates evidence rules") as caught:
        read_snapshot(w3, address)
    assert caught.value.code == "policy_lacks_evidence_rule"


def test_an_earlier_snapshot_does_not_change_after_a_policy_change(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    policy = deployment.addresses.training_policy
    allow_loans = loans(w3, deployment)
    execute(gov, deployment, allow_loans)
    before = read_snapshot(w3, policy)

    allow_old = old(w3, deployment)
    execute(
        gov,
        deployment,
        allow_old,
        RevokeDataset(dataset_id=allow_loans.dataset_id),
        SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper"),
        SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity"),
    )
    again = read_snapshot(w3, policy, block=before.block_number)
    after = read_snapshot(w3, policy)

    assert again.canonical_json() == before.canonical_json()
    assert again.hash == before.hash
    assert before.policy_version == 1
    assert [d.dataset_id for d in before.datasets] == [allow_loans.dataset_id]
    assert allowed_dataset(before, allow_loans.dataset_id) is not None

    assert after.hash != before.hash
    assert after.policy_version == 5
    assert [d.dataset_id for d in after.datasets] == sorted(
        [allow_loans.dataset_id, allow_old.dataset_id]
    )
    assert allowed_dataset(after, allow_loans.dataset_id) is None  # revoked, but still listed
    assert allowed_dataset(after, allow_old.dataset_id) == DatasetEntry(
        dataset_id=allow_old.dataset_id,
        content_hash=H2,
        manifest_hash=H3,
        records_root="0x" + "ab" * 32,
        uri="file://old.csv",
        licence="",
        terms_hash="0x" + "00" * 32,
        provider=address_of(PROVIDER_KEY),
        consented_at=allow_old.offer.issued_at,
        allowed=True,
    )
    assert after.thresholds == (ThresholdEntry(metric=DP, value="0.100000", direction="upper"),)
    assert after.mitigation == Mitigation(
        strategy="threshold_optimizer", constraint="demographic_parity"
    )


def test_a_withdrawal_reads_the_same_from_state_and_from_events(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    policy = deployment.addresses.training_policy
    allowed = loans(w3, deployment)
    execute(gov, deployment, allowed)
    withdraw_directly(w3, deployment, PROVIDER_KEY, allowed.dataset_id)
    mine(w3)  # the snapshot of the withdrawal's block is rebuilt from events
    withdrawn_block = w3.eth.block_number - 1

    from_state = read_snapshot(w3, policy)
    from_events = read_snapshot(w3, policy, block=withdrawn_block)
    (entry,) = from_state.datasets
    assert (entry.allowed, entry.withdrawn) == (False, True)
    assert entry.provider == address_of(PROVIDER_KEY)
    assert from_events.datasets == from_state.datasets
    assert from_state.policy_version == from_events.policy_version == 2
    assert allowed_dataset(from_state, allowed.dataset_id) is None


def test_a_snapshot_reads_the_same_twice(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    policy = deployment.addresses.training_policy
    block = isolated_chain.eth.block_number
    first = read_snapshot(isolated_chain, policy, block=block)
    second = read_snapshot(isolated_chain, policy, block=block)
    assert first.canonical_json() == second.canonical_json()
    assert first.hash == "0x" + hashlib.sha256(first.canonical_json()).hexdigest()


def test_a_snapshot_before_the_policy_existed_is_unavailable(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    policy = deployment.addresses.training_policy
    with pytest.raises(SnapshotUnavailable, match="no contract"):
        read_snapshot(isolated_chain, policy, block=deployment.deploy_block - 1)
    with pytest.raises(SnapshotUnavailable, match="does not exist"):
        read_snapshot(isolated_chain, policy, block=isolated_chain.eth.block_number + 100)


def test_canonical_json_is_byte_stable() -> None:
    snap = PolicySnapshot(
        chain_id=31337,
        policy="0x" + "44" * 20,
        block_number=12,
        block_hash=H1,
        policy_version=3,
        datasets=(
            DatasetEntry(
                dataset_id=H3,
                content_hash=H1,
                manifest_hash=H2,
                records_root=H1,
                uri="file://ü.csv",
                licence="CC0-1.0",
                terms_hash=H2,
                provider="0x" + "55" * 20,
                consented_at=7,
                allowed=True,
            ),
        ),
        thresholds=(ThresholdEntry(metric=DP, value="0.100000", direction="upper"),),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=DEFAULT_RULE,
        evidence_overrides=(DEFAULT_RULE.model_copy(update={"metric": DP}),),
    )

    def rule(metric: str) -> str:
        return (
            '{"confidence_level":"0.950000","metric":' + metric + ',"min_denominator":10,'
            '"min_group_size":30,"on_inconclusive":"block"}'
        )

    expected = (
        '{"block_hash":"' + H1 + '","block_number":12,"chain_id":31337,'
        '"datasets":[{"allowed":true,"consented_at":7,"content_hash":"' + H1 + '",'
        '"dataset_id":"' + H3 + '","licence":"CC0-1.0","manifest_hash":"' + H2 + '",'
        '"provider":"0x' + "55" * 20 + '","records_root":"' + H1 + '",'
        '"terms_hash":"' + H2 + '","uri":"file://ü.csv","withdrawn":false}],'
        '"evidence":' + rule("null") + ","
        '"evidence_overrides":[' + rule(f'"{DP}"') + "],"
        '"federation":{"aggregation":"fedavg","epsilon":null,"krum_f":0,"min_nodes":2,'
        '"trim_beta":"0.200000"},'
        '"mitigation":{"constraint":"","strategy":"none"},'
        '"policy":"0x' + "44" * 20 + '","policy_version":3,"schema_version":4,'
        '"thresholds":[{"direction":"upper","metric":"' + DP + '","value":"0.100000"}]}'
    ).encode()
    assert snap.canonical_json() == expected
    assert PolicySnapshot.model_validate(json.loads(expected)).hash == snap.hash
    changed = snap.model_copy(update={"policy_version": 4})
    assert changed.hash != snap.hash
    stricter = snap.model_copy(
        update={"evidence": DEFAULT_RULE.model_copy(update={"confidence_level": "0.990000"})}
    )
    assert stricter.hash != snap.hash


def test_a_snapshot_without_the_evidence_rule_is_invalid() -> None:
    with pytest.raises(ValueError, match="evidence"):
        PolicySnapshot(
            chain_id=31337,
            policy="0x" + "44" * 20,
            block_number=12,
            block_hash=H1,
            policy_version=3,
            mitigation=Mitigation(strategy="none", constraint=""),
        )  # type: ignore[call-arg]
