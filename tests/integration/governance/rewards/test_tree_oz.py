"""Our reward tree equals OpenZeppelin's StandardMerkleTree (@openzeppelin/merkle-tree)."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from core.types import to_address
from governance.rewards import reward_proof, reward_root, verify_reward_proof
from tests.integration.audit.test_commitments_oz import _in_node, oz_merkle  # noqa: F401


@pytest.mark.parametrize("count", [1, 2, 3, 257])
def test_root_and_proofs_equal_openzeppelins_and_oz_verifies_ours(oz_merkle: Path, count: int):  # noqa: F811
    pairs = [
        (to_address("0x" + secrets.token_hex(20)), secrets.randbelow(2**256)) for _ in range(count)
    ]
    ours = reward_root(pairs)
    proofs = [reward_proof(pairs, provider) for provider, _ in pairs]
    values = [[provider, str(amount)] for provider, amount in pairs]
    checks = [{"value": v, "proof": list(p or ())} for v, p in zip(values, proofs, strict=True)]
    # Another amount must fail in OZ too, so the checks above are not vacuous.
    wrong = {"value": [values[0][0], str(pairs[0][1] ^ 1)], "proof": checks[0]["proof"]}
    theirs = _in_node(
        oz_merkle.with_name("reward_merkle.mjs"), {"values": values, "check": [*checks, wrong]}
    )
    assert theirs["root"] == ours
    assert theirs["proofs"] == [list(p or ()) for p in proofs]
    assert theirs["verified"] == [True] * count + [False]
    assert all(
        verify_reward_proof(ours, provider, amount, p or ())
        for (provider, amount), p in zip(pairs, proofs, strict=True)
    )
