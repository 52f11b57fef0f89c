import json
from pathlib import Path

import pytest
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.chain.contracts import bind
from governance.errors import (
    ChainUnreachable,
    DeploymentConfigInvalid,
    DeploymentStale,
    PolicyLacksEvidenceRule,
)
from tests.helpers import TEST_CONFIG
from tests.integration.governance.old_policy import (
    TREASURY_CLASSIFIER_ARTIFACT,
    UNSIGNED_ARTIFACT,
    deploy_old_classifier,
    deploy_old_policy,
)


def test_deployment_wires_the_timelock_to_the_governor_only(
    w3: Web3, deployment: deploy.Deployment
):
    a = deployment.addresses
    lock = bind(w3, "TimelockController", a.timelock)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        role_id = Web3.keccak(text=role)
        assert lock.functions.hasRole(role_id, a.governor).call()
        assert not lock.functions.hasRole(role_id, deployment.deployer).call()
    admin = b"\x00" * 32
    assert not lock.functions.hasRole(admin, deployment.deployer).call()
    assert lock.functions.getMinDelay().call() == TEST_CONFIG.timelock_delay
    assert bind(w3, "TrainingPolicy", a.training_policy).functions.owner().call() == a.timelock
    registry = bind(w3, "AuditRegistry", a.audit_registry)
    assert registry.functions.hasRole(admin, a.timelock).call()
    auditor_role = registry.functions.AUDITOR_ROLE().call()
    assert registry.functions.hasRole(auditor_role, TEST_CONFIG.auditors[0]).call()


def test_deployment_applies_the_config(w3: Web3, deployment: deploy.Deployment):
    governor = bind(w3, "FairnessGovernor", deployment.addresses.governor)
    token = bind(w3, "GovernanceToken", deployment.addresses.token)
    assert governor.functions.votingDelay().call() == TEST_CONFIG.voting_delay
    assert governor.functions.votingPeriod().call() == TEST_CONFIG.voting_period
    assert governor.functions.quorumNumerator().call() == TEST_CONFIG.quorum_percent
    assert governor.functions.lateQuorumVoteExtension().call() == TEST_CONFIG.vote_extension
    assert governor.functions.name().call() == TEST_CONFIG.governor_name
    for holder in TEST_CONFIG.holders:
        assert token.functions.balanceOf(holder.address).call() == holder.tokens * 10**18
    treasury = TEST_CONFIG.treasury_tokens * 10**18
    assert token.functions.balanceOf(deployment.addresses.timelock).call() == treasury
    total = sum(h.tokens for h in TEST_CONFIG.holders) * 10**18 + treasury
    assert token.functions.totalSupply().call() == total


def test_ensure_deployed_reuses_a_deployment_on_chain(isolated_chain: Web3, tmp_path: Path):
    path = tmp_path / "deployment.json"
    first, created = deploy.ensure_deployed(isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert created
    assert json.loads(path.read_text())["addresses"]["governor"] == first.addresses.governor
    again, created_again = deploy.ensure_deployed(
        isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path
    )
    assert not created_again
    assert again == first


def test_a_deployment_whose_code_is_gone_is_refused(
    anvil_path: Path, tmp_path: Path, deployment: deploy.Deployment
):
    path = tmp_path / "deployment.json"
    deploy.save(deployment, path)
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path / "fresh") as node:
        fresh = chain_client.connect(node.rpc_url)
        with pytest.raises(DeploymentStale, match="there is no code at that address") as info:
            deploy.ensure_deployed(fresh, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert f"delete {path}" in str(info.value)


def test_a_deployment_whose_policy_predates_evidence_rules_is_refused(
    isolated_chain: Web3, tmp_path: Path, deployment: deploy.Deployment
):
    old_policy = deploy_old_policy(isolated_chain, deployment.addresses.timelock)
    addresses = deployment.addresses.model_copy(update={"training_policy": old_policy})
    path = tmp_path / "deployment.json"
    deploy.save(deployment.model_copy(update={"addresses": addresses}), path)

    with pytest.raises(PolicyLacksEvidenceRule, match="predates evidence rules") as info:
        deploy.ensure_deployed(isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert f"move {path} aside" in str(info.value)
    assert info.value.code == "policy_lacks_evidence_rule"
    deploy.check_policy_current(isolated_chain, deployment.addresses.training_policy)


def test_a_deployment_whose_policy_predates_signed_thresholds_is_refused(
    isolated_chain: Web3, tmp_path: Path, deployment: deploy.Deployment
):
    old_policy = deploy_old_policy(
        isolated_chain, deployment.addresses.timelock, artifact=UNSIGNED_ARTIFACT
    )
    addresses = deployment.addresses.model_copy(update={"training_policy": old_policy})
    path = tmp_path / "deployment.json"
    deploy.save(deployment.model_copy(update={"addresses": addresses}), path)

    with pytest.raises(DeploymentStale, match="predates signed thresholds") as info:
        deploy.ensure_deployed(isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert f"delete {path} to deploy anew" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.code == "deployment_stale"


def test_a_deployment_whose_classifier_predates_manifest_swaps_is_refused(
    isolated_chain: Web3, tmp_path: Path, deployment: deploy.Deployment
):
    a = deployment.addresses
    old = deploy_old_classifier(isolated_chain, a.training_policy, a.audit_registry, a.timelock)
    addresses = a.model_copy(update={"classifier": old})
    path = tmp_path / "deployment.json"
    deploy.save(deployment.model_copy(update={"addresses": addresses}), path)

    with pytest.raises(DeploymentStale, match="predates manifest swaps being loosening") as info:
        deploy.ensure_deployed(isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert f"delete {path} to deploy anew" in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.code == "deployment_stale"


def test_a_deployment_whose_classifier_does_not_guard_the_treasury_is_refused(
    isolated_chain: Web3, tmp_path: Path, deployment: deploy.Deployment
):
    a = deployment.addresses
    old = deploy_old_classifier(
        isolated_chain,
        a.training_policy,
        a.audit_registry,
        a.timelock,
        TREASURY_CLASSIFIER_ARTIFACT,
    )
    addresses = a.model_copy(update={"classifier": old})
    path = tmp_path / "deployment.json"
    deploy.save(deployment.model_copy(update={"addresses": addresses}), path)

    with pytest.raises(DeploymentStale, match="predates guarding the treasury") as info:
        deploy.ensure_deployed(isolated_chain, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)
    assert f"delete {path} to deploy anew" in str(info.value)
    assert info.value.code == "deployment_stale"


def test_a_deployment_from_another_chain_is_refused(w3: Web3, tmp_path: Path):
    path = tmp_path / "deployment.json"
    other = deploy.Deployment(
        chain_id=5,
        deployer=Web3.to_checksum_address("0x" + "11" * 20),
        deploy_block=1,
        deploy_block_hash="0x" + "00" * 32,
        addresses=deploy.Addresses(**{k: "0x" + "22" * 20 for k in deploy.Addresses.model_fields}),
        config=TEST_CONFIG,
        compiler_version="0.8.37",
    )
    deploy.save(other, path)
    with pytest.raises(DeploymentStale, match="made on chain 5, not 31337"):
        deploy.ensure_deployed(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG, path)


def test_unreachable_rpc_is_one_actionable_line():
    with pytest.raises(ChainUnreachable, match="does not answer") as info:
        chain_client.connect(f"http://127.0.0.1:{localchain.free_port()}", timeout=1)
    assert "\n" not in str(info.value)


def test_config_file_is_validated(tmp_path: Path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"quorum_percent": 150}))
    with pytest.raises(DeploymentConfigInvalid, match="quorum_percent"):
        deploy.DeploymentConfig.load(path)
    with pytest.raises(DeploymentConfigInvalid, match="No such file"):
        deploy.DeploymentConfig.load(tmp_path / "missing.json")


def test_config_file_sets_holders(tmp_path: Path):
    path = tmp_path / "config.json"
    holder = "0x" + "ab" * 20
    path.write_text(
        json.dumps({"holders": [{"address": holder, "tokens": 7}], "voting_period": 99})
    )
    config = deploy.DeploymentConfig.load(path)
    assert config.holders[0].address == holder
    assert config.voting_period == 99


@pytest.mark.parametrize("content", [b"", b'{"chain_id": 31337, "addr'])
def test_an_unreadable_deployment_file_says_to_restore_it(tmp_path: Path, content: bytes):
    """Chaos review (session 24): an empty or truncated deployment.json read "points at the
    deployment -, but the file is not valid: delete it", which throws the stack's state away."""
    path = tmp_path / "deployment.json"
    path.write_bytes(content)

    with pytest.raises(DeploymentStale, match="is not a readable deployment record") as info:
        deploy.load(path)
    assert "restore it from a backup" in str(info.value)
    assert " - " not in str(info.value)
    assert info.value.code == "deployment_file_unreadable"
