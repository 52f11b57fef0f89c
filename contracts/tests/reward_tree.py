"""OpenZeppelin StandardMerkleTree of ["address", "uint256"] leaves, as ProviderRewards checks them.

murky-tree is not in the brownie environment, so the tests build trees with this small copy of
OpenZeppelin's algorithm; tests/unit/contracts/test_reward_tree.py checks it against murky-tree.
"""

from eth_abi import encode
from eth_utils import keccak, to_checksum_address


def leaf_hash(account, amount):
    """keccak256(bytes.concat(keccak256(abi.encode(account, amount))))."""
    return keccak(
        keccak(encode(["address", "uint256"], [to_checksum_address(str(account)), amount]))
    )


def _pair(a, b):
    return keccak(b"".join(sorted((a, b))))


class RewardTree:
    """The tree of (account, amount) pairs: its root and each pair's proof, as 0x hex."""

    def __init__(self, entries):
        self.entries = [(to_checksum_address(str(account)), amount) for account, amount in entries]
        leaves = sorted(leaf_hash(account, amount) for account, amount in self.entries)
        count = len(leaves)
        # OpenZeppelin's layout: a complete binary tree in an array, leaves last, in reverse.
        self._nodes = [b""] * (count - 1) + leaves[::-1]
        for i in range(count - 2, -1, -1):
            self._nodes[i] = _pair(self._nodes[2 * i + 1], self._nodes[2 * i + 2])

    @property
    def root(self):
        return "0x" + self._nodes[0].hex()

    @property
    def total(self):
        return sum(amount for _, amount in self.entries)

    def proof(self, account, amount):
        i = self._nodes.index(leaf_hash(account, amount))
        proof = []
        while i > 0:
            proof.append("0x" + self._nodes[i + 1 if i % 2 else i - 1].hex())
            i = (i - 1) // 2
        return proof
