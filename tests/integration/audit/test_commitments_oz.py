"""Our record commitments equal OpenZeppelin's StandardMerkleTree (@openzeppelin/merkle-tree)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from audit.commitments import build_commitments, encode_record, prove, verify

WALLETS = Path(__file__).resolve().parents[2] / "wallets"


@pytest.fixture(scope="module")
def oz_merkle() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node is not None, "Node.js 20+ is needed (./dev.sh checks for it)"
    assert npm is not None, "npm is needed (it ships with Node.js)"
    if not (WALLETS / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WALLETS,
            check=True,
            timeout=600,
        )
    return WALLETS / "merkle.mjs"


def _in_node(script: Path, payload: dict[str, object]) -> dict[str, object]:
    done = subprocess.run(
        ["node", str(script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


@pytest.mark.parametrize("count", [1, 2, 3, 301])
def test_root_and_proofs_equal_openzeppelins_and_oz_verifies_ours(oz_merkle: Path, count: int):
    records = [encode_record({"id": str(i), "score": f"{i * 0.37:.3f}"}) for i in range(count)]
    ours = build_commitments(records)
    values = [[_hex(s), _hex(h)] for s, h in zip(ours.salts, ours.record_hashes, strict=True)]
    proofs = [prove(ours, i) for i in range(count)]
    checks = [{"value": values[p.index], "proof": list(p.path)} for p in proofs]
    # A wrong salt must fail in OZ too, so the check above is not vacuous.
    wrong = {"value": [_hex(bytes(32)), values[0][1]], "proof": list(proofs[0].path)}
    theirs = _in_node(oz_merkle, {"values": values, "check": [*checks, wrong]})
    assert theirs["root"] == ours.root
    assert theirs["proofs"] == [list(p.path) for p in proofs]
    assert theirs["verified"] == [True] * count + [False]
    root = str(theirs["root"])
    assert all(verify(p, records[p.index], ours.salts[p.index], root) for p in proofs)
