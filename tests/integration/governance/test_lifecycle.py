"""One proposal's whole life through web3.py against anvil, changing the TrainingPolicy."""

from web3 import Web3

from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, PROVIDER_KEY, Governance, address_of, allow_raw

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
    allow = allow_raw(
        isolated_chain, deployment, "loans-v1", "0x" + "aa" * 32, "0x" + "bb" * 32, "file://l.csv"
    )
    signature = bytes.fromhex(allow.provider_signature[2:])
    gov.pass_and_execute(
        [
            (gov.policy, "allowDataset", [allow.offer.abi_tuple(), signature]),
            (gov.policy, "setThreshold", [metric, 100_000, UPPER]),
        ],
        "Allow loans-v1 and bound demographic parity at 0.1",
    )
    policy = gov.policy.functions
    assert policy.policyVersion().call() == 2
    assert policy.isAllowed(dataset_id).call()
    content, manifest, root, _terms, provider, _at, allowed, uri, _licence = policy.getDataset(
        dataset_id
    ).call()
    assert (content, manifest, uri, allowed) == (content_hash, manifest_hash, "file://l.csv", True)
    assert (provider, root) == (address_of(PROVIDER_KEY), bytes.fromhex("ab" * 32))
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
