"""TrainingPolicy contracts as deployed by older fairgov, for tests of old data directories.

``data/TrainingPolicy-before-evidence.json`` is the committed artifact of the contract
before evidence rules (fairgov 6a9b94c): real bytecode, no ``evidenceRules()``.
``data/TrainingPolicy-before-signed-thresholds.json`` is the one before signed thresholds
(fairgov 788a81d): uint256 threshold values, no ``SIGNED_THRESHOLDS``.
``data/PolicyChangeClassifier-before-manifest-replaced.json`` is the classifier before
``ManifestReplaced`` (fairgov 8d5a85c): every ``allowDataset`` is ``none``, no
``JUDGES_MANIFESTS``. ``data/PolicyChangeClassifier-before-treasury.json`` is the one before
``TreasuryMoved`` and ``RewardsLoosened`` (fairgov 9eb227f): calls to the token and the rewards
are ``none``, no ``GUARDS_TREASURY``.
"""

from __future__ import annotations

import json
from pathlib import Path

from web3 import Web3

ARTIFACT = Path(__file__).parent / "data" / "TrainingPolicy-before-evidence.json"
UNSIGNED_ARTIFACT = Path(__file__).parent / "data" / "TrainingPolicy-before-signed-thresholds.json"
CLASSIFIER_ARTIFACT = (
    Path(__file__).parent / "data" / "PolicyChangeClassifier-before-manifest-replaced.json"
)
TREASURY_CLASSIFIER_ARTIFACT = (
    Path(__file__).parent / "data" / "PolicyChangeClassifier-before-treasury.json"
)


def deploy_old_policy(w3: Web3, owner: str, artifact: Path = ARTIFACT) -> str:
    """Deploy the old TrainingPolicy of ``artifact`` (pre-evidence by default) owned by
    ``owner``; its address."""
    old = json.loads(artifact.read_text("utf-8"))
    contract = w3.eth.contract(abi=old["abi"], bytecode=old["bytecode"])
    tx = contract.constructor(owner).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def deploy_old_classifier(
    w3: Web3, policy: str, registry: str, timelock: str, artifact: Path = CLASSIFIER_ARTIFACT
) -> str:
    """Deploy the classifier of ``artifact`` (from before ``ManifestReplaced`` by default)
    guarding these contracts; its address."""
    old = json.loads(artifact.read_text("utf-8"))
    contract = w3.eth.contract(abi=old["abi"], bytecode=old["bytecode"])
    tx = contract.constructor(policy, registry, timelock).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])
