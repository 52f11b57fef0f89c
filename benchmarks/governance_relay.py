"""Ballot intake and relaying against a real anvil chain, with a naive baseline.

Measures, in one run:
- ballots verified and persisted per second (batch intake, chain state prefetched);
- ballots verified and persisted per second, one at a time (as the HTTP API does);
- ballots relayed to anvil per second (the outbox relayer);
- the naive reference: one synchronous web3.py ``castVoteBySig`` per ballot.

Usage: .venv/bin/python benchmarks/governance_relay.py [--voters 1000] [--repeats 3]
Prints medians; nothing is asserted.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from eth_account import Account  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from core import db  # noqa: E402
from core.settings import DEV_PRIVATE_KEYS  # noqa: E402
from governance.chain import deploy, localchain  # noqa: E402
from governance.chain import node as chain_client  # noqa: E402
from governance.chain.view import RpcChainView  # noqa: E402
from governance.intake.service import governor_domain, submit_ballot, submit_ballots  # noqa: E402
from governance.relay.config import RelayerConfig  # noqa: E402
from governance.relay.outbox import RelayItem, RelayStatus  # noqa: E402
from governance.relay.relayer import Relayer  # noqa: E402
from tests.helpers import TEST_CONFIG, Governance, mine  # noqa: E402
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal  # noqa: E402
from tests.voters import make_voters, signed_ballot  # noqa: E402


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=200, help="ballots for the naive path")
    parser.add_argument(
        "--block-time", type=float, default=None, help="seconds per block; default: one per tx"
    )
    args = parser.parse_args()

    # Removed at exit: an anvil chain folder can hold gigabytes.
    work = Path(tempfile.mkdtemp(prefix="fairgov-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    anvil = localchain.find_anvil()
    with localchain.running(
        anvil=anvil, chain_dir=work / "chain", block_time=args.block_time, persist=False
    ) as node:
        w3 = chain_client.connect(node.rpc_url)
        config = TEST_CONFIG.model_copy(update={"voting_period": 100_000})
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], config)
        gov = Governance(w3, deployment)
        print(f"setting up {args.voters} voters on anvil …", flush=True)
        keys = make_voters(w3, deployment, args.voters)
        rates: dict[str, list[float]] = {"batch": [], "single": [], "relay": [], "naive": []}
        nonces = dict.fromkeys(keys, 0)  # each by-sig vote uses one of the voter's nonces
        for repeat in range(args.repeats):
            for name, rate in _one_run(gov, node.rpc_url, nonces, work, repeat).items():
                rates[name].append(rate)
            rates["naive"].append(_naive(gov, keys[: args.baseline], repeat, nonces))
    _report(rates, args.voters, args.repeats)


def _one_run(
    gov: Governance, rpc_url: str, nonces: dict[str, int], work: Path, repeat: int
) -> dict[str, float]:
    """Half the ballots through batch intake, half one at a time, then relay them all."""
    w3, deployment = gov.w3, gov.deployment
    engine = db.make_engine(f"sqlite:///{work / f'bench-{repeat}.db'}")
    db.upgrade(engine)
    proposal_id = open_proposal(gov, f"benchmark {repeat}")
    domain = governor_domain(deployment)
    ballots = [signed_ballot(domain, k, proposal_id, nonce=n) for k, n in nonces.items()]
    for key in nonces:
        nonces[key] += 1
    half = len(ballots) // 2
    live = RpcChainView.for_deployment(w3, deployment)
    started = time.perf_counter()
    with Session(engine) as session:
        results = submit_ballots(session, ballots[:half], deployment=deployment, chain=live)
    batch = _rate(half, time.perf_counter() - started)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, f"{len(errors)} refused, e.g. {errors[0]}" if errors else ""
    started = time.perf_counter()
    with Session(engine) as session:
        for ballot in ballots[half:]:
            submit_ballot(session, ballot, deployment=deployment, chain=live)
    single = _rate(len(ballots) - half, time.perf_counter() - started)
    # No replacement transactions while the node works through the batch: this measures
    # the pipeline, not the stuck-transaction policy.
    config = RelayerConfig(batch_size=500, stuck_after=timedelta(minutes=10))
    relayer = Relayer(engine, w3, deployment, RELAYER_KEY, rpc_url=rpc_url, config=config)
    relayer.start()
    started = time.perf_counter()
    relayer.run_until_idle()
    elapsed = time.perf_counter() - started
    with Session(engine) as session:
        confirmed = len(
            session.exec(
                select(RelayItem.id).where(RelayItem.status == RelayStatus.CONFIRMED)
            ).all()
        )
    assert confirmed == len(ballots), f"{confirmed} of {len(ballots)} confirmed"
    relay = _rate(confirmed, elapsed)
    engine.dispose()
    return {"batch": batch, "single": single, "relay": relay}


def _report(rates: dict[str, list[float]], voters: int, repeats: int) -> None:
    def show(name: str, rates: list[float], target: str) -> float:
        median = statistics.median(rates)
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{name:<46} median {median:>9,.0f}/s   runs: {runs}   target {target}")
        return median

    print()
    print(f"ballots: {voters} distinct voters per run, {repeats} runs, anvil automine")
    batch = show("intake, batch (verify + persist)", rates["batch"], ">= 1,000/s")
    single = show("intake, one at a time (verify + persist)", rates["single"], "")
    relay = show("relayed to anvil (outbox relayer)", rates["relay"], ">= 200/s")
    naive = show("reference: sync web3 castVoteBySig per ballot", rates["naive"], "")
    print()
    print(f"relayer vs naive reference: {relay / naive:.1f}x")
    print(f"batch intake vs naive reference: {batch / naive:.1f}x")
    print(f"one-at-a-time intake vs naive reference: {single / naive:.1f}x")


def _naive(gov: Governance, keys: list[str], repeat: int, nonces: dict[str, int]) -> float:
    """One synchronous castVoteBySig per ballot: build, sign, send, wait for the receipt."""
    w3 = gov.w3
    proposal_id = open_proposal(gov, f"naive {repeat}")
    domain = governor_domain(gov.deployment)
    relayer = Account.from_key(DEV_PRIVATE_KEYS[7])
    nonce = w3.eth.get_transaction_count(relayer.address)
    ballots = [
        signed_ballot(
            domain,
            k,
            proposal_id,
            nonce=nonces[k],
        )
        for k in keys
    ]
    for key in keys:
        nonces[key] += 1
    started = time.perf_counter()
    for ballot in ballots:
        tx = gov.governor.functions.castVoteBySig(
            ballot.proposal_id, ballot.support, ballot.voter, ballot.signature_bytes()
        ).build_transaction({"from": relayer.address, "nonce": nonce})
        signed = relayer.sign_transaction(tx)
        w3.eth.wait_for_transaction_receipt(
            w3.eth.send_raw_transaction(signed.raw_transaction), poll_latency=0.01
        )
        nonce += 1
    elapsed = time.perf_counter() - started
    mine(w3)
    return _rate(len(ballots), elapsed)


if __name__ == "__main__":
    main()
