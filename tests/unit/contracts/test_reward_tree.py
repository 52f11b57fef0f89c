"""The brownie tests' StandardMerkleTree copy agrees with murky-tree (OpenZeppelin-compatible)."""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from murky_tree import StandardMerkleTree

_PATH = Path(__file__).parents[3] / "contracts" / "tests" / "reward_tree.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reward_tree", _PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reward_tree = _load()


def _entries(count: int) -> list[tuple[str, int]]:
    return [("0x" + f"{i + 1:040x}", (i + 1) * 10**18 + i) for i in range(count)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 13])
def test_root_leaves_and_proofs_equal_murky_trees(count: int) -> None:
    entries = _entries(count)
    ours = reward_tree.RewardTree(entries)
    reference = StandardMerkleTree.of([list(e) for e in entries], ["address", "uint256"])
    assert ours.root == reference.root
    for i, (account, amount) in enumerate(entries):
        assert "0x" + reward_tree.leaf_hash(account, amount).hex() == reference.leaf_hash(
            [account, amount]
        )
        assert ours.proof(account, amount) == reference.get_proof(i)


def test_a_changed_amount_changes_the_root() -> None:
    entries = _entries(3)
    changed = [*entries[:2], (entries[2][0], entries[2][1] + 1)]
    assert reward_tree.RewardTree(entries).root != reward_tree.RewardTree(changed).root
