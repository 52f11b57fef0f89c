"""The (provider, amount) tree is OpenZeppelin's StandardMerkleTree: leaves and proofs checked
against a from-scratch implementation of OZ's leaf hash and ``MerkleProof.verify``."""

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak

from governance.rewards import reward_proof, reward_root, verify_reward_proof

PAIRS = [
    ("0x1111111111111111111111111111111111111111", 5 * 10**18),
    ("0x2222222222222222222222222222222222222222", 3 * 10**18),
    ("0x3333333333333333333333333333333333333333", 1),
    ("0x4444444444444444444444444444444444444444", 2**255),
    ("0x5555555555555555555555555555555555555555", 7),
]


def oz_leaf(provider: str, amount: int) -> bytes:
    """``keccak256(bytes.concat(keccak256(abi.encode(provider, amount))))``."""
    return keccak(keccak(abi_encode(["address", "uint256"], [provider, amount])))


def oz_process_proof(leaf: bytes, proof: tuple[str, ...]) -> bytes:
    """``MerkleProof.processProof``: hash sorted pairs from the leaf up."""
    node = leaf
    for step in proof:
        sibling = bytes.fromhex(step[2:])
        node = keccak(min(node, sibling) + max(node, sibling))
    return node


def test_every_proof_verifies_the_way_the_contract_verifies_it():
    root = reward_root(PAIRS)
    for provider, amount in PAIRS:
        proof = reward_proof(PAIRS, provider)
        assert proof is not None
        assert "0x" + oz_process_proof(oz_leaf(provider, amount), proof).hex() == root
        assert verify_reward_proof(root, provider, amount, proof)


def test_a_proof_does_not_verify_another_amount_or_account():
    root = reward_root(PAIRS)
    provider, amount = PAIRS[0]
    proof = reward_proof(PAIRS, provider)
    assert proof is not None
    assert not verify_reward_proof(root, provider, amount + 1, proof)
    assert not verify_reward_proof(root, PAIRS[1][0], amount, proof)


def test_a_single_leaf_tree_is_its_leaf_and_has_an_empty_proof():
    pair = PAIRS[:1]
    assert reward_root(pair) == "0x" + oz_leaf(*pair[0]).hex()
    assert reward_proof(pair, pair[0][0]) == ()


def test_an_unknown_provider_has_no_proof_and_the_root_ignores_input_order():
    assert reward_proof(PAIRS, "0x" + "99" * 20) is None
    assert reward_root(PAIRS) == reward_root(list(reversed(PAIRS)))
