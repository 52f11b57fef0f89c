"""The Merkle tree of an epoch's (provider, amount) pairs, in OpenZeppelin's encoding.

Leaves are StandardMerkleTree leaves of ``["address", "uint256"]``:
``keccak256(bytes.concat(keccak256(abi.encode(provider, amount))))``, the leaf
``ProviderRewards`` rebuilds from a claim. murky-tree builds the tree exactly as
OpenZeppelin's npm ``@openzeppelin/merkle-tree`` does (``audit/commitments.py`` uses it for
record commitments too).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from murky_tree.standard import StandardMerkleTree

from core.types import Hash32, to_address, to_hash32

LEAF_ENCODING: Final = ["address", "uint256"]

Pair = tuple[str, int]


def build_tree(pairs: Sequence[Pair]) -> StandardMerkleTree[Pair]:
    """The tree of ``(provider, amount)`` pairs (addresses checksummed, any order)."""
    leaves = [(to_address(provider), amount) for provider, amount in pairs]
    return StandardMerkleTree.of(leaves, LEAF_ENCODING)


def reward_root(pairs: Sequence[Pair]) -> Hash32:
    """The root of :func:`build_tree`.

    Examples
    --------
    >>> reward_root([("0x1111111111111111111111111111111111111111", 5)])[:10]
    '0xdc984b70'
    """
    return to_hash32(build_tree(pairs).root)


def reward_proof(pairs: Sequence[Pair], provider: str) -> tuple[Hash32, ...] | None:
    """The proof of ``provider``'s leaf, the sibling hashes from the leaf up; None when the
    provider has no pair."""
    tree = build_tree(pairs)
    wanted = provider.lower()
    for index, (address, _) in enumerate(pairs):
        if address.lower() == wanted:
            return tuple(to_hash32(step) for step in tree.get_proof(index))
    return None


def verify_reward_proof(root: str, provider: str, amount: int, proof: Sequence[str]) -> bool:
    """Whether ``(provider, amount)`` is a leaf under ``root`` along ``proof`` (what the
    contract's ``MerkleProof.verify`` will decide)."""
    leaf = (to_address(provider), amount)
    return bool(StandardMerkleTree.verify(root, LEAF_ENCODING, leaf, list(proof)))
