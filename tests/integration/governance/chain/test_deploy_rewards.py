import json
from pathlib import Path

import pytest
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance import actions as act
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.errors import DeploymentStale
from tests.helpers import TEST_CONFIG, Governance, pass_and_execute_encoded


def test_rewards_are_administered_by_the_timelock_and_posted_by_the_auditors(
    w3: Web3, deployment: deploy.Deployment
):
    a = deployment.addresses
    rewards = bind(w3, "ProviderRewards", a.rewards).functions
    assert rewards.hasRole(b"\x00" * 32, a.timelock).call()
    assert not rewards.hasRole(b"\x00" * 32, deployment.deployer).call()
    poster = rewards.POSTER_ROLE().call()
    assert poster == Web3.keccak(text="POSTER_ROLE")
    assert all(rewards.hasRole(poster, auditor).call() for auditor in TEST_CONFIG.auditors)
    assert rewards.token().call() == a.token
    assert rewards.registry().call() == a.audit_registry
    assert rewards.guardian().call() == TEST_CONFIG.guardian
    assert rewards.challengeWindow().call() == TEST_CONFIG.rewards_challenge_window
    assert rewards.splitRule().call() == deploy.SPLIT_RULES.index(TEST_CONFIG.rewards_split_rule)
    assert rewards.rewardPerEpoch().call() == TEST_CONFIG.reward_per_epoch * 10**18
    assert rewards.available().call() == 0


def test_the_split_rule_of_the_config_is_deployed(isolated_chain: Web3):
    config = TEST_CONFIG.model_copy(
        update={"rewards_split_rule": "leave_one_out", "treasury_tokens": 0}
    )
    deployment = deploy.deploy(isolated_chain, DEV_PRIVATE_KEYS[0], config)
    a = deployment.addresses
    assert bind(isolated_chain, "ProviderRewards", a.rewards).functions.splitRule().call() == 1
    token = bind(isolated_chain, "GovernanceToken", a.token).functions
    assert token.balanceOf(a.timelock).call() == 0


def test_the_dao_funds_the_rewards_from_its_treasury_by_proposal(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    a = deployment.addresses
    fund = act.FundRewards.of(a, 2_500)
    calls = act.encode([fund], a)
    assert act.decode(*calls, a) == [fund]
    pass_and_execute_encoded(gov, *calls, "Fund the providers' rewards")

    unit = 10**18
    rewards = bind(isolated_chain, "ProviderRewards", a.rewards).functions
    assert gov.token.functions.balanceOf(a.rewards).call() == 2_500 * unit
    assert rewards.available().call() == 2_500 * unit
    treasury = (TEST_CONFIG.treasury_tokens - 2_500) * unit
    assert gov.token.functions.balanceOf(a.timelock).call() == treasury


def test_the_dao_sets_the_rewards_settings_by_proposal(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    a = deployment.addresses
    settings = [
        act.SetSplitRule(rule="leave_one_out"),
        act.SetRewardPerEpoch(tokens=40),
        act.SetRewardsChallengeWindow(seconds=3_600),
    ]
    pass_and_execute_encoded(gov, *act.encode(settings, a), "Rewards settings")

    rewards = bind(isolated_chain, "ProviderRewards", a.rewards).functions
    assert rewards.splitRule().call() == 1
    assert rewards.rewardPerEpoch().call() == 40 * 10**18
    assert rewards.challengeWindow().call() == 3_600


def test_a_deployment_file_without_rewards_is_stale(tmp_path: Path, deployment: deploy.Deployment):
    path = tmp_path / "deployment.json"
    deploy.save(deployment, path)
    old = json.loads(path.read_text())
    del old["addresses"]["rewards"]
    path.write_text(json.dumps(old))
    with pytest.raises(DeploymentStale, match="predates the providers' rewards") as info:
        deploy.load(path)
    assert f"delete {path}" in str(info.value)
    assert info.value.code == "deployment_stale"


def test_rewards_that_do_not_check_the_registry_are_stale(
    w3: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """A ProviderRewards from before roots needed a PASS audit has no ``registry()``: posting
    through it would pay runs never audited, so the deployment is refused, not used."""
    a = deployment.addresses
    older = deployment.model_copy(
        update={
            "addresses": a.model_copy(update={"rewards": a.governor})
        }  # has token(), no registry()
    )
    with pytest.raises(DeploymentStale, match=r"no registry\(\)") as info:
        deploy.check_on_chain(w3, older, tmp_path / "deployment.json")
    assert info.value.code == "deployment_stale"
