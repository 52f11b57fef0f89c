"""A TrainingPolicy as deployed before evidence rules, for tests of old data directories.

``data/TrainingPolicy-before-evidence.json`` is the committed artifact of that contract
(fairgov 6a9b94c): real bytecode, no ``evidenceRules()``.
"""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3

ARTIFACT = Path(__file__).parent / "data" / "TrainingPolicy-before-evidence.json"


def deploy_old_policy(w3: Web3, owner: str) -> str:
    """Deploy the pre-evidence TrainingPolicy owned by ``owner``; its address."""
    old = json.loads(ARTIFACT.read_text("utf-8"))
    contract = w3.eth.contract(abi=old["abi"], bytecode=old["bytecode"])
    tx = contract.constructor(owner).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])
