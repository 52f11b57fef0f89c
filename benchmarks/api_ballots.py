"""HTTP ballot intake and proposal reads through uvicorn on loopback, with a naive baseline.

Starts its own anvil, deploys the stack, funds ``--voters`` self-delegated voters, serves
the API with uvicorn on 127.0.0.1 and measures, in one run:

- ours, ballots: valid signed ballots POSTed by a concurrent httpx client (``--concurrency``
  in flight); accepted per second, p50 and p99 latency;
- ours, reads: ``GET /v1/proposals/{id}`` paced at ``--read-rate`` requests/s for
  ``--read-seconds``; p50 and p99 latency;
- the baseline: a tiny FastAPI app defined here whose endpoint calls ``castVoteBySig``
  synchronously per request (build, sign, send, wait for the receipt), same client.

Prints medians over ``--repeats`` runs and the ratio ours / baseline. Loopback only, bounded
in count and time (``--max-seconds``); nothing is asserted. Targets: >= 1,000 ballots/s with
p99 < 50 ms; reads p99 < 10 ms at 500/s.

Usage: .venv/bin/python benchmarks/api_ballots.py [--voters 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from eth_account import Account  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from api.main import create_app  # noqa: E402
from core import db  # noqa: E402
from core.settings import DEV_PRIVATE_KEYS, Settings  # noqa: E402
from governance import chain as chain_client  # noqa: E402
from governance import deploy, localchain  # noqa: E402
from governance.contracts import bind  # noqa: E402
from governance.indexer import Indexer  # noqa: E402
from governance.intake import governor_domain  # noqa: E402
from tests.helpers import TEST_CONFIG, Governance  # noqa: E402
from tests.integration.governance.relay_support import open_proposal  # noqa: E402
from tests.voters import make_voters, signed_ballot  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(kind: str, port: int, rpc_url: str, deployment_json: str, db_url: str) -> None:
    """Child process: build the app and serve it (its own interpreter, its own GIL)."""
    w3 = chain_client.connect(rpc_url)
    deployment = deploy.Deployment.model_validate_json(deployment_json)
    if kind == "ours":
        engine = db.make_engine(db_url)
        settings = Settings(
            data_dir=Path(tempfile.mkdtemp()),
            api_ip_rate=1e9,
            api_ip_burst=10**9,
            api_voter_rate=1e9,
            api_voter_burst=10**9,
        )
        app = create_app(settings=settings, engine=engine, w3=w3, deployment=deployment)
    else:
        app = naive_app(Governance(w3, deployment), DEV_PRIVATE_KEYS[7])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


class _Served:
    """The API (or the baseline) under uvicorn on 127.0.0.1, in a child process."""

    def __init__(self, kind: str, rpc_url: str, deployment: deploy.Deployment, db_url: str):
        self.port = _free_port()
        context = multiprocessing.get_context("spawn")
        args = (kind, self.port, rpc_url, deployment.model_dump_json(), db_url)
        self.process = context.Process(target=_serve, args=args, daemon=True)

    def __enter__(self) -> str:
        self.process.start()
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                return base
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def _post_all(
    base: str, path: str, bodies: list[dict[str, Any]], concurrency: int, deadline: float
) -> tuple[float, list[float], int]:
    """POST every body with ``concurrency`` in flight: (seconds, latencies, accepted)."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    accepted = 0
    queue = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal accepted
            for body in queue:
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.TransportError as exc:
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - started)
                accepted += response.status_code == 202
                if response.status_code != 202:
                    failures[str(response.status_code)] = (
                        failures.get(str(response.status_code), 0) + 1
                    )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if failures:
            print(f"  not accepted: {failures}", flush=True)
        return time.perf_counter() - started, latencies, accepted


async def _paced_reads(base: str, path: str, rate: float, seconds: float) -> list[float]:
    """GET ``path`` at ``rate`` per second for ``seconds``; latencies of 200 answers."""
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def one() -> None:
            started = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.TransportError:
                latencies.append(float("inf"))  # counts as slower than any answer
                return
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)

        tasks = []
        t0 = time.perf_counter()
        for i in range(int(rate * seconds)):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


class _NaiveVote(BaseModel):
    proposal_id: int
    support: int
    voter: str
    signature: str


def naive_app(gov: Governance, relayer_key: str) -> FastAPI:
    """The baseline: one synchronous castVoteBySig per request, waiting for its receipt."""
    app = FastAPI()
    relayer = Account.from_key(relayer_key)
    governor = bind(gov.w3, "FairnessGovernor", gov.deployment.addresses.governor)
    lock = threading.Lock()  # one relayer key: its nonces must be used in order

    @app.post("/vote", status_code=202)
    def vote(body: _NaiveVote) -> dict[str, str]:
        with lock:
            tx = governor.functions.castVoteBySig(
                body.proposal_id, body.support, body.voter, bytes.fromhex(body.signature[2:])
            ).build_transaction(
                {
                    "from": relayer.address,
                    "nonce": gov.w3.eth.get_transaction_count(relayer.address),
                }
            )
            signed = relayer.sign_transaction(tx)
            tx_hash = gov.w3.eth.send_raw_transaction(signed.raw_transaction)
            gov.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.01)
        return {"tx_hash": tx_hash.to_0x_hex()}

    return app


def _ballot_bodies(
    gov: Governance, keys: list[str], nonces: dict[str, int], label: str, *, mined: bool
) -> tuple[int, list[Any]]:
    """Ballots on a new proposal; ``mined`` ones use up the voters' governor nonces."""
    proposal_id = open_proposal(gov, label)
    domain = governor_domain(gov.deployment)
    ballots = [signed_ballot(domain, k, proposal_id, nonce=nonces[k]) for k in keys]
    if mined:
        for key in keys:
            nonces[key] += 1
    return proposal_id, ballots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--baseline", type=int, default=100, help="ballots for the baseline")
    parser.add_argument("--read-rate", type=float, default=500.0)
    parser.add_argument("--read-seconds", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds

    work = Path(tempfile.mkdtemp(prefix="fairgov-api-bench-"))
    with localchain.running(anvil=localchain.find_anvil(), chain_dir=work / "chain") as node:
        w3 = chain_client.connect(node.rpc_url)
        config = TEST_CONFIG.model_copy(update={"voting_period": 100_000})
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], config)
        gov = Governance(w3, deployment)
        print(f"setting up {args.voters} voters on anvil …", flush=True)
        keys = make_voters(w3, deployment, args.voters)
        nonces = dict.fromkeys(keys, 0)
        results: dict[str, list[float]] = {k: [] for k in ("rate", "naive_rate", "read_p50")}
        results |= {"read_p99": []}
        latencies: dict[str, list[float]] = {"ours": [], "naive": []}
        for repeat in range(args.repeats):
            if time.monotonic() > deadline:
                break
            db_url = f"sqlite:///{work / f'api-{repeat}.db'}"
            engine = db.make_engine(db_url)
            db.upgrade(engine)
            # Accepted, never relayed: the voters' chain nonces stay as they are.
            label = f"api bench {repeat}"
            proposal_id, ballots = _ballot_bodies(gov, keys, nonces, label, mined=False)
            Indexer(engine, w3, deployment).sync()
            bodies = [
                b.model_dump(include={"voter", "support", "nonce", "signature"}) for b in ballots
            ]
            with _Served("ours", node.rpc_url, deployment, db_url) as base:
                seconds, lat, accepted = asyncio.run(
                    _post_all(
                        base,
                        f"/v1/proposals/{proposal_id}/votes",
                        bodies,
                        args.concurrency,
                        deadline,
                    )
                )
                reads = asyncio.run(
                    _paced_reads(
                        base, f"/v1/proposals/{proposal_id}", args.read_rate, args.read_seconds
                    )
                )
            if accepted != len(bodies):
                print(f"  warning: {len(bodies) - accepted} ballots not accepted", flush=True)
            results["rate"].append(accepted / seconds)
            latencies["ours"] += lat
            results["read_p50"].append(_percentile(reads, 0.50))
            results["read_p99"].append(_percentile(reads, 0.99))
            engine.dispose()

            naive_keys = keys[: args.baseline]
            naive_pid, naive_ballots = _ballot_bodies(
                gov, naive_keys, nonces, f"naive {repeat}", mined=True
            )
            naive_bodies = [
                {
                    **b.model_dump(include={"support", "voter", "signature"}),
                    "proposal_id": naive_pid,
                }
                for b in naive_ballots
            ]
            with _Served("naive", node.rpc_url, deployment, db_url) as base:
                seconds, lat, accepted = asyncio.run(
                    _post_all(base, "/vote", naive_bodies, args.concurrency, deadline)
                )
            results["naive_rate"].append(accepted / seconds)
            latencies["naive"] += lat
            print(
                f"  run {repeat + 1}: ours {results['rate'][-1]:,.0f}/s, "
                f"baseline {results['naive_rate'][-1]:,.0f}/s, "
                f"reads p99 {results['read_p99'][-1] * 1000:.1f} ms",
                flush=True,
            )
    _report(results, latencies, args)


def _report(results: dict[str, list[float]], latencies: dict[str, list[float]], args: Any) -> None:
    ours, naive = statistics.median(results["rate"]), statistics.median(results["naive_rate"])
    ms = 1000.0
    print()
    print(
        f"{len(results['rate'])} runs, {args.voters} ballots per run, concurrency "
        f"{args.concurrency}, uvicorn on 127.0.0.1, anvil automine"
    )
    print(
        f"ours     ballots accepted/s  median {ours:>8,.0f}   p50 "
        f"{_percentile(latencies['ours'], 0.5) * ms:6.1f} ms   p99 "
        f"{_percentile(latencies['ours'], 0.99) * ms:6.1f} ms   target >= 1,000/s, p99 < 50 ms"
    )
    print(
        f"baseline sync castVoteBySig/s median {naive:>8,.0f}   p50 "
        f"{_percentile(latencies['naive'], 0.5) * ms:6.1f} ms   p99 "
        f"{_percentile(latencies['naive'], 0.99) * ms:6.1f} ms"
    )
    print(f"ratio ours / baseline: {ours / naive:,.1f}x")
    print(
        f"reads GET /v1/proposals/{{id}} at {args.read_rate:.0f}/s: p50 median "
        f"{statistics.median(results['read_p50']) * ms:.1f} ms, p99 median "
        f"{statistics.median(results['read_p99']) * ms:.1f} ms   target p99 < 10 ms"
    )


if __name__ == "__main__":
    main()
