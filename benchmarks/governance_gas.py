"""Gas of a proposal's life under the protected governor, against the stock one.

The reference is fairgov's governor as it was before loosening was protected (stock
OpenZeppelin Governor + Settings, CountingSimple, Votes, QuorumFraction, TimelockControl,
PreventLateQuorum; its build output is kept in ``benchmarks/reference/``), deployed on the
same anvil next to the current stack. Both run the same proposals: one that tightens the
policy (a new demographic-parity bound) and one that loosens it (raising that bound). Every
step is a real transaction; gas is exact, so one run is enough.

Usage: .venv/bin/python benchmarks/governance_gas.py
Prints gas per step, ours, the reference and the ratio; nothing is asserted.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from web3 import Web3  # noqa: E402
from web3.contract import Contract  # noqa: E402

from core.settings import DEV_PRIVATE_KEYS  # noqa: E402
from governance import actions  # noqa: E402
from governance.chain import deploy, localchain  # noqa: E402
from governance.chain import node as chain_client  # noqa: E402
from governance.chain.contracts import bind, factory  # noqa: E402
from tests.helpers import HOLDER_KEYS, TEST_CONFIG, advance_time, mine  # noqa: E402

REFERENCE = ROOT / "benchmarks" / "reference" / "FairnessGovernor-stock.json"
METRIC = "demographic_parity_difference"
STEPS = ("propose", "castVote (each)", "queue", "execute")


def _send(w3: Web3, key: str, contract: Contract, function: str, *args: Any) -> int:
    sender = chain_client.Sender.from_key(w3, key)
    receipt = sender.transact(function, chain_client.call_data(contract, function, args))
    return int(receipt["gasUsed"])


def _deploy_reference(w3: Web3, ours: deploy.Deployment) -> tuple[Contract, Contract]:
    """A stock governor with its own timelock and policy, on the same token."""
    key = DEV_PRIVATE_KEYS[0]
    sender = chain_client.Sender.from_key(w3, key)
    config = ours.config

    def create(abi: list[dict[str, Any]], bytecode: str, *args: Any) -> str:
        tx = (
            w3.eth.contract(abi=abi, bytecode=bytecode)
            .constructor(*args)
            .build_transaction({"from": sender.address})
        )
        receipt = sender.transact("deploy", {"data": tx["data"], "gas": tx["gas"] * 2})
        return str(receipt["contractAddress"])

    lock_art = factory(w3, "TimelockController")
    timelock = create(
        lock_art.abi, lock_art.bytecode, config.timelock_delay, [], [], sender.address
    )
    stock = json.loads(REFERENCE.read_text("utf-8"))
    governor = create(
        stock["abi"],
        stock["bytecode"],
        config.governor_name,
        ours.addresses.token,
        timelock,
        config.voting_delay,
        config.voting_period,
        0,
        config.quorum_percent,
        config.vote_extension,
    )
    policy_art = factory(w3, "TrainingPolicy")
    policy = create(policy_art.abi, policy_art.bytecode, timelock)
    lock = bind(w3, "TimelockController", timelock)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        _send(w3, key, lock, "grantRole", Web3.keccak(text=role), governor)
    return w3.eth.contract(address=governor, abi=stock["abi"]), bind(w3, "TrainingPolicy", policy)


def _life(w3: Web3, governor: Contract, policy: str, value: str, tag: str) -> dict[str, int]:
    """Gas of each step of one proposal setting the bound to ``value``, passed unanimously."""
    action = actions.SetThreshold(metric=METRIC, value=Decimal(value), direction="upper")
    calls = ([policy], [0], [action.calldata()])
    description = f"{tag}: {METRIC} <= {value}"
    gas = {"propose": _send(w3, HOLDER_KEYS[0], governor, "propose", *calls, description)}
    proposal_id = governor.functions.hashProposal(*calls, Web3.keccak(text=description)).call()
    mine(w3, TEST_CONFIG.voting_delay + 1)
    votes = [_send(w3, k, governor, "castVote", proposal_id, 1) for k in HOLDER_KEYS]
    gas["castVote (each)"] = sorted(votes)[len(votes) // 2]
    mine(w3, governor.functions.proposalDeadline(proposal_id).call() - w3.eth.block_number + 1)
    digest = Web3.keccak(text=description)
    gas["queue"] = _send(w3, HOLDER_KEYS[0], governor, "queue", *calls, digest)
    advance_time(w3, TEST_CONFIG.timelock_delay + 1)
    gas["execute"] = _send(w3, HOLDER_KEYS[0], governor, "execute", *calls, digest)
    return gas


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fairgov-gas-"))
    try:
        anvil = localchain.find_anvil()
        with localchain.running(anvil=anvil, chain_dir=work, persist=False) as node:
            w3 = chain_client.connect(node.rpc_url)
            ours = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
            token = bind(w3, "GovernanceToken", ours.addresses.token)
            for key in HOLDER_KEYS:
                _send(w3, key, token, "delegate", chain_client.Sender.from_key(w3, key).address)
            governor = bind(w3, "FairnessGovernor", ours.addresses.governor)
            stock, stock_policy = _deploy_reference(w3, ours)
            rows: list[tuple[str, str, int, int]] = []
            for tag, value in (("tightening (a new bound)", "0.1"), ("loosening (raised)", "0.2")):
                ours_gas = _life(w3, governor, ours.addresses.training_policy, value, tag)
                stock_gas = _life(w3, stock, stock_policy.address, value, tag)
                rows += [(tag, step, ours_gas[step], stock_gas[step]) for step in STEPS]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'proposal':<26} {'step':<16} {'ours':>9} {'stock OZ':>9} {'ratio':>6}")
    for tag, step, used, reference in rows:
        print(f"{tag:<26} {step:<16} {used:>9,} {reference:>9,} {used / reference:>6.2f}")
    total_ours = sum(r[2] for r in rows if r[1] != "castVote (each)")
    total_ref = sum(r[3] for r in rows if r[1] != "castVote (each)")
    print(
        f"propose+queue+execute, both proposals: ours {total_ours:,}, stock {total_ref:,}, "
        f"ratio {total_ours / total_ref:.2f}"
    )


if __name__ == "__main__":
    main()
