"""One proposal's whole life through web3.py against anvil, changing the TrainingPolicy."""

from web3 import Web3

from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, address_of

UPPER = 0


def test_a_passed_proposal_changes_the_training_policy(
    isolated_chain: Web3, deployment: deploy.Deployment
):
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    dataset_id = Web3.keccak(text="loans-v1")
    content_hash = bytes.fromhex("aa" * 32)
    manifest_hash = bytes.fromhex("bb" * 32)
    metric = b"demographic_parity_difference".ljust(32, b"\0")
    gov.pass_and_execute(
        [
            (gov.policy, "allowDataset", [dataset_id, content_hash, manifest_hash, "file://l.csv"]),
            (gov.policy, "setThreshold", [metric, 100_000, UPPER]),
        ],
        "Allow loans-v1 and bound demographic parity at 0.1",
    )
    policy = gov.policy.functions
    assert policy.policyVersion().call() == 2
    assert policy.isAllowed(dataset_id).call()
    content, manifest, uri, allowed = policy.getDataset(dataset_id).call()
    assert (content, manifest, uri, allowed) == (content_hash, manifest_hash, "file://l.csv", True)
    assert policy.thresholds().call() == [[metric], [100_000], [UPPER]]


def test_votes_need_delegation(isolated_chain: Web3, deployment: deploy.Deployment):
    gov = Governance(isolated_chain, deployment)
    holder = address_of(HOLDER_KEYS[0])
    block = isolated_chain.eth.block_number
    assert gov.token.functions.getVotes(holder).call() == 0
    gov.send(HOLDER_KEYS[0], gov.token, "delegate", holder)
    balance = gov.token.functions.balanceOf(holder).call()
    assert gov.token.functions.getVotes(holder).call() == balance
    assert gov.token.functions.getPastVotes(holder, block).call() == 0
