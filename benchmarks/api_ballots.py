"""HTTP ballot intake and proposal reads through uvicorn on loopback, with a naive baseline.

Starts its own anvil, deploys the stack, funds ``--voters`` self-delegated voters, serves
the API with uvicorn on 127.0.0.1 (a child process, as ``fairgov run`` serves it) and
measures, per run, on a fresh database:

- ours, most ballots/s: valid signed ballots POSTed over ``--concurrency`` keep-alive
  connections, each sending its next ballot when the last is answered; also the server's
  CPU time per ballot;
- ours, paced: new ballots started at ``--rate`` per second on a fixed schedule for
  ``--paced-seconds`` whatever the server's pace (latency counts from the scheduled start,
  so queueing is not hidden); p50 and p99;
- ours, reads: ``GET /v1/proposals/{id}`` paced at ``--read-rate`` per second;
- the baseline: a tiny FastAPI app defined here whose endpoint calls ``castVoteBySig``
  synchronously per request (build, sign, send, wait for the receipt), same client.

The client is :mod:`benchmarks._http_load` (pre-encoded requests; httpx would spend more
CPU than the server). Prints medians over ``--repeats`` runs and the ratio ours /
baseline. Loopback only, bounded in count and time (``--max-seconds``); nothing is
asserted. Targets: >= 1,000 ballots/s with p99 < 50 ms; reads p99 < 10 ms at 500/s.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/api_ballots.py [--voters 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import math
import multiprocessing
import os
import shutil
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
from sqlalchemy import make_url, text  # noqa: E402

from api.main import create_app, freeze_heap  # noqa: E402
from benchmarks import _http_load as load  # noqa: E402
from core import db  # noqa: E402
from core.settings import DEV_PRIVATE_KEYS, Settings  # noqa: E402
from governance.chain import deploy, localchain  # noqa: E402
from governance.chain import node as chain_client  # noqa: E402
from governance.chain.contracts import bind  # noqa: E402
from governance.index.indexer import Indexer  # noqa: E402
from governance.intake.service import governor_domain  # noqa: E402
from tests.helpers import TEST_CONFIG, Governance  # noqa: E402
from tests.integration.governance.relay_support import open_proposal  # noqa: E402
from tests.voters import make_voters, signed_ballot  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    kind: str, port: int, *, rpc_url: str, deployment_json: str, db_url: str, data_dir: str
) -> None:
    """Child process: build the app and serve it (its own interpreter, its own GIL)."""
    w3 = chain_client.connect(rpc_url)
    deployment = deploy.Deployment.model_validate_json(deployment_json)
    if kind == "ours":
        engine = db.make_engine(db_url)
        settings = Settings(
            data_dir=Path(data_dir),
            api_ip_rate=1e9,
            api_ip_burst=10**9,
            api_voter_rate=1e9,
            api_voter_burst=10**9,
        )
        app = create_app(settings=settings, engine=engine, w3=w3, deployment=deployment)
    else:
        app = naive_app(Governance(w3, deployment), DEV_PRIVATE_KEYS[7])
    freeze_heap()  # as fairgov run does
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class _Served:
    """The API (or the baseline) under uvicorn on 127.0.0.1, in a child process."""

    def __init__(
        self, kind: str, rpc_url: str, deployment: deploy.Deployment, db_url: str, work: Path
    ):
        self.port = _free_port()
        context = multiprocessing.get_context("spawn")
        where = {
            "rpc_url": rpc_url,
            "deployment_json": deployment.model_dump_json(),
            "db_url": db_url,
            "data_dir": str(work / f"{kind}-data"),
        }
        self.process = context.Process(
            target=_serve, args=(kind, self.port), kwargs=where, daemon=True
        )

    def __enter__(self) -> _Served:
        self.process.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/openapi.json", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.join(timeout=10)


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


def _ballot_requests(
    gov: Governance,
    keys: list[str],
    base_nonces: dict[str, int],
    proposal_ids: list[int],
    first_slot: int,
) -> list[bytes]:
    """Signed ballots of every voter on each proposal in turn, as HTTP requests.

    None of them is relayed in the run, so a voter's ballot on the ``j``-th proposal of a
    run carries its chain nonce plus ``first_slot + j`` (the ones before it are pending).
    """
    domain = governor_domain(gov.deployment)
    requests = []
    for j, proposal_id in enumerate(proposal_ids):
        for key in keys:
            nonce = base_nonces[key] + first_slot + j
            ballot = signed_ballot(domain, key, proposal_id, nonce=nonce)
            body = ballot.model_dump(include={"voter", "support", "nonce", "signature"})
            requests.append(
                load.request("POST", f"/v1/proposals/{proposal_id}/votes", "127.0.0.1", body)
            )
    return requests


def _naive_requests(
    gov: Governance, keys: list[str], base_nonces: dict[str, int], label: str
) -> list[bytes]:
    """Ballots for the baseline, which mines them: the voters' nonces move on."""
    proposal_id = open_proposal(gov, label)
    domain = governor_domain(gov.deployment)
    requests = []
    for key in keys:
        ballot = signed_ballot(domain, key, proposal_id, nonce=base_nonces[key])
        base_nonces[key] += 1
        body = ballot.model_dump(include={"support", "voter", "signature"})
        requests.append(
            load.request("POST", "/vote", "127.0.0.1", body | {"proposal_id": proposal_id})
        )
    return requests


def _run(coroutine: Any) -> Any:
    """Run the client on uvloop when it is installed (as the server does)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Figures:
    """Per-run figures, and all latencies pooled for the percentiles."""

    def __init__(self) -> None:
        self.runs: dict[str, list[float]] = {}
        self.latencies: dict[str, list[float]] = {}

    def add(self, name: str, value: float) -> None:
        self.runs.setdefault(name, []).append(value)

    def pool(self, name: str, outcome: load.Outcome) -> None:
        self.latencies.setdefault(name, []).extend(outcome.latencies)

    def median(self, name: str) -> float:
        return statistics.median(self.runs[name])

    def ms(self, name: str, q: float) -> float:
        return load.percentile(self.latencies[name], q) * 1000


def _fresh_database(postgres: str | None, work: Path, repeat: int) -> str:
    """An empty database for one run: a SQLite file, or a new database on ``postgres``."""
    if postgres is None:
        return f"sqlite:///{work / f'api-{repeat}.db'}"
    name = f"fairgov_bench_{os.getpid()}_{repeat}"
    admin = db.make_engine(postgres)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(postgres).set(database=name).render_as_string(hide_password=False)


def _check(outcome: load.Outcome, expected: int, what: str) -> None:
    statuses = dict(outcome.statuses)
    if statuses != {"202": expected}:
        print(f"  warning: {what}: got {statuses}, wanted {expected} of 202", flush=True)


def _measure_ours(
    args: argparse.Namespace,
    figures: _Figures,
    served: _Served,
    *,
    throughput: list[bytes],
    paced: list[bytes],
    read_path: str,
    deadline: float,
) -> None:
    pid = served.process.pid
    cpu = _process_cpu(pid)
    out = _run(load.closed_loop("127.0.0.1", served.port, throughput, args.concurrency, deadline))
    _check(out, len(throughput), "throughput")
    figures.add("rate", out.count(202) / out.seconds)
    figures.add("cpu_ms", (_process_cpu(pid) - cpu) / max(1, out.count(202)) * 1000)
    figures.pool("closed", out)

    out = _run(load.open_loop("127.0.0.1", served.port, paced, args.rate))
    _check(out, len(paced), "paced")
    figures.add("paced_accepted", out.count(202) / len(paced))
    figures.add("paced_p99", load.percentile(out.latencies, 0.99))
    figures.pool("paced", out)

    reads = [load.request("GET", read_path, "127.0.0.1")] * int(args.read_rate * args.read_seconds)
    out = _run(load.open_loop("127.0.0.1", served.port, reads, args.read_rate))
    if dict(out.statuses) != {"200": len(reads)}:
        print(f"  warning: reads answered {dict(out.statuses)}", flush=True)
    figures.add("read_p99", load.percentile(out.latencies, 0.99))
    figures.pool("reads", out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voters", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32, help="connections, closed loop")
    parser.add_argument("--rate", type=float, default=1000.0, help="ballots/s, paced")
    parser.add_argument("--paced-seconds", type=float, default=3.0)
    parser.add_argument("--baseline", type=int, default=100, help="ballots for the baseline")
    parser.add_argument("--read-rate", type=float, default=500.0)
    parser.add_argument("--read-seconds", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="serve from PostgreSQL (a database per run is created on this server) "
        "instead of SQLite",
    )
    args = parser.parse_args()
    deadline = time.monotonic() + args.max_seconds

    # Removed at exit: an anvil chain folder can hold gigabytes.
    work = Path(tempfile.mkdtemp(prefix="fairgov-api-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    figures = _Figures()
    # In memory: a state dump every few seconds stalls anvil, and with it the intake.
    anvil = localchain.find_anvil()
    with localchain.running(anvil=anvil, chain_dir=work / "chain", persist=False) as node:
        w3 = chain_client.connect(node.rpc_url)
        config = TEST_CONFIG.model_copy(update={"voting_period": 100_000})
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], config)
        gov = Governance(w3, deployment)
        print(f"setting up {args.voters} voters on anvil …", flush=True)
        keys = make_voters(w3, deployment, args.voters)
        nonces = dict.fromkeys(keys, 0)
        paced_proposals = max(1, math.ceil(args.rate * args.paced_seconds / args.voters))
        for repeat in range(args.repeats):
            if time.monotonic() > deadline:
                break
            print(f"run {repeat + 1}: signing ballots …", flush=True)
            db_url = _fresh_database(args.postgres, work, repeat)
            engine = db.make_engine(db_url)
            db.upgrade(engine)
            proposal_ids = [
                open_proposal(gov, f"api bench {repeat}.{j}") for j in range(1 + paced_proposals)
            ]
            throughput = _ballot_requests(gov, keys, nonces, proposal_ids[:1], 0)
            paced = _ballot_requests(gov, keys, nonces, proposal_ids[1:], 1)
            paced = paced[: max(1, int(args.rate * args.paced_seconds))]
            Indexer(engine, w3, deployment).sync()
            engine.dispose()
            with _Served("ours", node.rpc_url, deployment, db_url, work) as served:
                read_path = f"/v1/proposals/{proposal_ids[0]}"
                _measure_ours(
                    args,
                    figures,
                    served,
                    throughput=throughput,
                    paced=paced,
                    read_path=read_path,
                    deadline=deadline,
                )

            naive = _naive_requests(gov, keys[: args.baseline], nonces, f"naive {repeat}")
            with _Served("naive", node.rpc_url, deployment, db_url, work) as served:
                out = _run(
                    load.closed_loop("127.0.0.1", served.port, naive, args.concurrency, deadline)
                )
            _check(out, len(naive), "baseline")
            figures.add("naive_rate", out.count(202) / out.seconds)
            figures.pool("naive", out)
            print(
                f"  ours {figures.runs['rate'][-1]:,.0f}/s, "
                f"paced p99 {figures.runs['paced_p99'][-1] * 1000:.1f} ms, "
                f"baseline {figures.runs['naive_rate'][-1]:,.0f}/s, "
                f"reads p99 {figures.runs['read_p99'][-1] * 1000:.1f} ms",
                flush=True,
            )
    _report(figures, args)


def _report(f: _Figures, args: argparse.Namespace) -> None:
    ours, naive = f.median("rate"), f.median("naive_rate")
    print()
    print(
        f"{len(f.runs['rate'])} runs, {args.voters} voters, uvicorn on 127.0.0.1 (one process), "
        f"{'PostgreSQL' if args.postgres else 'SQLite'}, anvil automine; medians over runs, "
        f"latency percentiles over all runs"
    )
    print(
        f"ours, most ballots/s      {ours:>7,.0f}/s  ({args.concurrency} connections; "
        f"p50 {f.ms('closed', 0.5):.1f} ms, p99 {f.ms('closed', 0.99):.1f} ms; "
        f"server CPU {f.median('cpu_ms'):.2f} ms/ballot)"
    )
    print(
        f"ours, paced at {args.rate:,.0f}/s    accepted {min(f.runs['paced_accepted']):.0%} "
        f"of {len(f.latencies['paced']) // len(f.runs['paced_p99']):,} per run; "
        f"p50 {f.ms('paced', 0.5):.1f} ms, p99 {f.ms('paced', 0.99):.1f} ms "
        f"(median of runs {f.median('paced_p99') * 1000:.1f} ms)   target >= 1,000/s with "
        f"p99 < 50 ms"
    )
    print(
        f"baseline, castVoteBySig   {naive:>7,.0f}/s  (synchronous per request; "
        f"p50 {f.ms('naive', 0.5):.1f} ms, p99 {f.ms('naive', 0.99):.1f} ms)"
    )
    print(f"ratio ours / baseline     {ours / naive:>7,.1f}x")
    print(
        f"GET /v1/proposals/{{id}} at {args.read_rate:,.0f}/s: p50 {f.ms('reads', 0.5):.1f} ms, "
        f"p99 {f.ms('reads', 0.99):.1f} ms (median of runs {f.median('read_p99') * 1000:.1f} ms)"
        f"   target p99 < 10 ms"
    )


if __name__ == "__main__":
    main()
