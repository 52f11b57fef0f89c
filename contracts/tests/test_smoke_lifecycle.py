from brownie import web3


def b32(text):
    return text.encode().ljust(32, b"\0")


def test_full_lifecycle_changes_training_policy(lifecycle, policy):
    dataset_id = web3.keccak(text="loans")
    content = web3.keccak(text="content")
    manifest = web3.keccak(text="manifest")
    calldata = policy.allowDataset.encode_input(dataset_id, content, manifest, "file://loans.csv")
    lifecycle.pass_and_execute([policy], [calldata], "Allow loans")
    assert policy.isAllowed(dataset_id)
    assert policy.policyVersion() == 1
