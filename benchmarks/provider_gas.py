"""Gas of the data providers' calls, against a bare ERC20 transfer of the governance token.

Measured on one anvil with the whole stack deployed: allowing a dataset with its provider's
signed offer (the call the timelock makes when a proposal executes, sent here from the timelock
through anvil's impersonation, so the figure is the call's own gas), withdrawing consent
directly and by signature, posting a rewards root (for a run the AuditRegistry holds as passed,
which postRoot reads), and claiming it directly and by signature. Every call is one real
transaction with real signatures; gas is exact, so one run is enough. The reference is a
transfer of the GovernanceToken to an address that holds none, which is what a claim pays out;
the rewards tree holds 1,024 providers (proofs of 10 hashes).

Usage: .venv/bin/python benchmarks/provider_gas.py
Prints gas per call, the transfer's gas and their ratio; nothing is asserted.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from murky_tree import StandardMerkleTree  # noqa: E402
from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402

from core.settings import DEV_PRIVATE_KEYS  # noqa: E402
from governance.chain import deploy, localchain  # noqa: E402
from governance.chain import node as chain_client  # noqa: E402
from governance.chain.contracts import bind  # noqa: E402
from tests.helpers import HOLDER_KEYS, TEST_CONFIG, advance_time  # noqa: E402

UNIT = 10**18
PROVIDER_KEY = DEV_PRIVATE_KEYS[7]
RELAYER_KEY = DEV_PRIVATE_KEYS[8]
AUDITOR_KEY = DEV_PRIVATE_KEYS[9]  # TEST_CONFIG's auditor, a poster of ProviderRewards
TREE_SIZE = 1_024


def _h(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _send(w3: Web3, key: str, contract: Contract, function: str, *args: Any) -> int:
    sender = chain_client.Sender.from_key(w3, key)
    receipt = sender.transact(function, chain_client.call_data(contract, function, args))
    return int(receipt["gasUsed"])


def _send_as(w3: Web3, address: str, contract: Contract, function: str, *args: Any) -> int:
    """Gas of one call sent from ``address`` (the timelock) through anvil's impersonation."""
    w3.provider.make_request("anvil_impersonateAccount", [address])  # type: ignore[arg-type]
    w3.provider.make_request("anvil_setBalance", [address, hex(10**20)])  # type: ignore[arg-type]
    tx_hash = w3.eth.send_transaction(
        {"from": address, "to": contract.address, "data": contract.encode_abi(function, args)}
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1, f"{function} reverted"
    return int(receipt["gasUsed"])


def _sign(key: str, digest: bytes) -> bytes:
    return bytes(Account.unsafe_sign_hash(digest, key).signature)


def offer_id(name: str) -> bytes:
    return Web3.keccak(text=name)


def _offer(name: str, provider: str, now: int) -> tuple[Any, ...]:
    return (
        Web3.keccak(text=name),
        _h(f"{name} file"),
        _h(f"{name} manifest"),
        _h(f"{name} records root"),
        f"file:///data/{name}.csv",
        "CC-BY-4.0",
        _h(f"{name} terms"),
        provider,
        now,
        now + 3600,
    )


def _consent_gas(w3: Web3, ours: deploy.Deployment) -> dict[str, int]:
    a = ours.addresses
    policy = bind(w3, "TrainingPolicy", a.training_policy)
    provider = Account.from_key(PROVIDER_KEY).address
    now = int(w3.eth.get_block("latest")["timestamp"])
    gas: dict[str, int] = {}
    for name in ("loans-2024", "loans-2025"):
        offer = _offer(name, provider, now)
        signature = _sign(PROVIDER_KEY, policy.functions.hashOffer(offer).call())
        gas[name] = _send_as(w3, a.timelock, policy, "allowDataset", offer, signature)
    advance_time(w3, 1)
    gas["withdraw"] = _send(w3, PROVIDER_KEY, policy, "withdrawDataset", offer_id("loans-2024"))
    issued = int(w3.eth.get_block("latest")["timestamp"])
    digest = policy.functions.hashWithdrawal(offer_id("loans-2025"), provider, issued).call()
    gas["withdraw_by_sig"] = _send(
        w3,
        RELAYER_KEY,
        policy,
        "withdrawDatasetBySig",
        offer_id("loans-2025"),
        provider,
        issued,
        _sign(PROVIDER_KEY, digest),
    )
    return {
        "allowDataset with the provider's offer": gas["loans-2024"],
        "withdrawDataset (by the provider)": gas["withdraw"],
        "withdrawDatasetBySig (relayed)": gas["withdraw_by_sig"],
    }


def _rewards_gas(w3: Web3, ours: deploy.Deployment) -> dict[str, int]:
    a = ours.addresses
    token = bind(w3, "GovernanceToken", a.token)
    rewards = bind(w3, "ProviderRewards", a.rewards)
    _send_as(w3, a.timelock, token, "transfer", a.rewards, 10_000 * UNIT)
    claimer, signer = Account.create(), Account.create()
    others = [Account.create().address for _ in range(TREE_SIZE - 2)]
    values = [[claimer.address, 3 * UNIT], [signer.address, 2 * UNIT]]
    values += [[address, UNIT // 2] for address in others]  # within the reward per epoch
    tree = StandardMerkleTree.of(values, ["address", "uint256"])
    total = sum(v[1] for v in values)
    registry = bind(w3, "AuditRegistry", a.audit_registry)
    for n in (1, 2):  # only a run anchored as passed may be posted
        report = (_h(f"model {n}"), _h("loans"), _h(f"report {n}"), 1, True)
        _send(w3, AUDITOR_KEY, registry, "publish", _h(f"run {n}"), *report)
    # Two epochs of the same tree, so each claim below is the first of its epoch.
    posts = [
        _send(w3, AUDITOR_KEY, rewards, "postRoot", _h(f"run {n}"), tree.root, _h("s"), total)
        for n in (1, 2)
    ]
    advance_time(w3, TEST_CONFIG.rewards_challenge_window)
    w3.provider.make_request(  # type: ignore[arg-type]
        "anvil_setBalance", [claimer.address, hex(10**18)]
    )
    claim = _send(w3, claimer.key.hex(), rewards, "claim", 1, 3 * UNIT, tree.get_proof(0))
    deadline = int(w3.eth.get_block("latest")["timestamp"]) + 3600
    digest = rewards.functions.hashClaim(2, signer.address, 2 * UNIT, deadline).call()
    by_sig = _send(
        w3,
        RELAYER_KEY,
        rewards,
        "claimBySig",
        2,
        signer.address,
        2 * UNIT,
        tree.get_proof(1),
        deadline,
        _sign(signer.key.hex(), digest),
    )
    assert token.functions.balanceOf(signer.address).call() == 2 * UNIT
    return {
        f"postRoot (a tree of {TREE_SIZE:,} providers)": posts[0],
        "claim (by the provider)": claim,
        "claimBySig (relayed)": by_sig,
    }


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fairgov-provider-gas-"))
    try:
        anvil = localchain.find_anvil()
        with localchain.running(anvil=anvil, chain_dir=work, persist=False) as node:
            w3 = chain_client.connect(node.rpc_url)
            ours = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
            token = bind(w3, "GovernanceToken", ours.addresses.token)
            transfer = _send(w3, HOLDER_KEYS[0], token, "transfer", Account.create().address, UNIT)
            rows = _consent_gas(w3, ours) | _rewards_gas(w3, ours)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'call':<44} {'gas':>9} {'ERC20 transfer':>15} {'ratio':>6}")
    for call, used in rows.items():
        print(f"{call:<44} {used:>9,} {transfer:>15,} {used / transfer:>6.2f}")


if __name__ == "__main__":
    main()
