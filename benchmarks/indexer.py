"""Benchmark: the chain indexer's events per second against a naive web3 indexer.

Starts its own anvil, deploys the stack, and makes many followed events quickly: every
holder delegates to itself, then thousands of pre-signed token transfers between the
holders are sent in JSON-RPC batches with automine off and mined with ``anvil_mine``
(each transfer moves voting power: two ``DelegateVotesChanged`` events). Then, on fresh
SQLite databases, it measures in the same run:

* ours: ``Indexer.sync()`` from the deployment block (chunked ``eth_getLogs``, direct
  decoding, bulk inserts, one transaction per chunk with the cursor);
* naive: web3's ``contract.events.X().get_logs()`` for every followed event, and one ORM
  insert per event into ``index_event``;

and prints the median events/s over ``--repeats`` runs and the ratio. Nothing is asserted.

Run: ``python benchmarks/indexer.py --transfers 15000``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_account import Account
from sqlmodel import Session
from web3 import Web3

from core import db
from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.chain.contracts import bind
from governance.chain.node import Sender, call_data
from governance.chain.rpc import RpcBatch
from governance.index.indexer import Indexer
from governance.index.log_decoder import FOLLOWED
from governance.index.models import IndexEvent

HOLDER_KEYS = DEV_PRIVATE_KEYS[1:5]
_BATCH = 500
_ROUND = 1_000
_GAS_LIMIT = 30_000_000


def make_events(w3: Web3, rpc_url: str, deployment: deploy.Deployment, transfers: int) -> None:
    token = bind(w3, "GovernanceToken", deployment.addresses.token)
    for key in HOLDER_KEYS:
        sender = Sender.from_key(w3, key)
        sender.transact("delegate", call_data(token, "delegate", [sender.address]))
    accounts = [Account.from_key(k) for k in HOLDER_KEYS]
    nonces = [w3.eth.get_transaction_count(a.address) for a in accounts]
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    raw = []
    for i in range(transfers):
        j = i % len(accounts)
        to = accounts[(j + 1) % len(accounts)].address
        tx = {
            "to": token.address,
            "data": token.encode_abi("transfer", args=[to, 1 + i]),
            "gas": 120_000,
            "nonce": nonces[j],
            "chainId": deployment.chain_id,
            "maxFeePerGas": 2 * base_fee + 10**9,
            "maxPriorityFeePerGas": 10**9,
        }
        nonces[j] += 1
        raw.append(accounts[j].sign_transaction(tx).raw_transaction.to_0x_hex())
    rpc = RpcBatch(rpc_url, timeout=300)
    rpc.call([("evm_setAutomine", [False])])
    # Rounds small enough for anvil's transaction pool, each mined before the next.
    for start in range(0, len(raw), _ROUND):
        for first in range(start, min(start + _ROUND, len(raw)), _BATCH):
            batch = raw[first : min(first + _BATCH, start + _ROUND)]
            replies = rpc.call([("eth_sendRawTransaction", [r]) for r in batch])
            if not all(r.ok for r in replies):
                raise RuntimeError(next(r.error_message for r in replies if not r.ok))
        while int(rpc.call([("txpool_status", [])])[0].result["pending"], 16):
            rpc.call([("anvil_mine", [hex(1)])])
    rpc.call([("evm_setAutomine", [True])])
    mined = sum(w3.eth.get_transaction_count(a.address) for a in accounts)
    if mined != sum(nonces):
        raise RuntimeError(f"only {mined} of {sum(nonces)} transactions were mined")


def fresh_engine(folder: Path, name: str) -> Any:
    engine = db.make_engine(f"sqlite:///{folder / name}.db")
    db.upgrade(engine)
    return engine


def ours(folder: Path, run: int, rpc_url: str, deployment: deploy.Deployment) -> tuple[int, float]:
    engine = fresh_engine(folder, f"ours{run}")
    started = time.perf_counter()
    report = Indexer(engine, rpc_url, deployment).sync()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return report.events, elapsed


def naive(folder: Path, run: int, w3: Web3, deployment: deploy.Deployment) -> tuple[int, float]:
    engine = fresh_engine(folder, f"naive{run}")
    addresses = deployment.contract_addresses()
    head = w3.eth.block_number
    started = time.perf_counter()
    count = 0
    with Session(engine) as session:
        for name, events in FOLLOWED.items():
            contract = bind(w3, name, addresses[name])
            for event in events:
                for log in contract.events[event]().get_logs(
                    from_block=deployment.deploy_block, to_block=head
                ):
                    args = {k: v.hex() if isinstance(v, bytes) else v for k, v in log.args.items()}
                    session.add(
                        IndexEvent(
                            block_number=log.blockNumber,
                            log_index=log.logIndex,
                            block_hash=log.blockHash.to_0x_hex(),
                            tx_hash=log.transactionHash.to_0x_hex(),
                            contract=name,
                            name=event,
                            args=json.dumps(args, default=str),
                        )
                    )
                    count += 1
        session.commit()
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=15_000)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        anvil = localchain.find_anvil()
        with localchain.running(anvil=anvil, chain_dir=folder / "chain", persist=False) as node:
            w3 = chain_client.connect(node.rpc_url)
            deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], deploy.DeploymentConfig())
            started = time.perf_counter()
            make_events(w3, node.rpc_url, deployment, options.transfers)
            print(
                f"made {options.transfers} transfers in {time.perf_counter() - started:.1f} s, "
                f"up to block {w3.eth.block_number}"
            )
            our_runs = [ours(folder, i, node.rpc_url, deployment) for i in range(options.repeats)]
            naive_runs = [naive(folder, i, w3, deployment) for i in range(options.repeats)]
    events = our_runs[0][0]
    ours_rate = statistics.median(n / t for n, t in our_runs)
    naive_rate = statistics.median(n / t for n, t in naive_runs)
    print(f"events indexed:          {events} (naive: {naive_runs[0][0]})")
    print(f"ours  (Indexer.sync):    {ours_rate:>10,.0f} events/s (median of {options.repeats})")
    print(f"naive (web3 get_logs):   {naive_rate:>10,.0f} events/s (median of {options.repeats})")
    print(f"ratio ours / naive:      {ours_rate / naive_rate:>10.1f}x")


if __name__ == "__main__":
    main()
