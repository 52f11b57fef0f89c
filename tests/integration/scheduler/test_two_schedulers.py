"""Two scheduler processes on one database: one runs the jobs, the other takes over on death.

Run as a script, this file is one scheduler process:
``python test_two_schedulers.py DATABASE_URL RPC_URL DEPLOYMENT_JSON LEASE INTERVAL``.
It prints ``holder <name>`` once started and ``active <unix time>`` once it holds the lease.
"""

from __future__ import annotations

import itertools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from governance.chain import deploy
from scheduler.db_models import JobRun

pytestmark = [pytest.mark.chain, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
LEASE = 2.0
INTERVAL = 0.5
JOBS = ("sync_chain", "relay_outbox")


def worker(database_url: str, rpc_url: str, deployment_file: str, lease: str, every: str) -> None:
    from core import db
    from core.settings import DEV_PRIVATE_KEYS
    from governance.chain import node as chain
    from scheduler.jobs import JobContext
    from scheduler.service import SchedulerConfig, SchedulerService

    deployment = deploy.load(Path(deployment_file))
    assert deployment is not None
    context = JobContext(
        engine=db.make_engine(database_url),
        w3=chain.connect(rpc_url),
        deployment=deployment,
        rpc_url=rpc_url,
        data_dir=Path(deployment_file).parent,
        relayer_key=DEV_PRIVATE_KEYS[8],
        keeper_key=DEV_PRIVATE_KEYS[0],
    )
    config = SchedulerConfig(
        lease_seconds=float(lease), sync_interval_seconds=float(every), jobs=JOBS
    )
    service = SchedulerService(context, config)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    service.start()
    print(f"holder {service.holder}", flush=True)
    announced = False
    while not stopping.wait(0.02):
        if service.activated_at is not None and not announced:
            print(f"active {service.activated_at!r}", flush=True)
            announced = True
    service.stop()


class Scheduler:
    """One worker process and the lines it printed."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], env=env, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()
        self.holder = self.expect("holder", timeout=60)

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line.strip())

    def expect(self, word: str, *, timeout: float) -> str:
        line = self.lines.get(timeout=timeout)
        kind, _, value = line.partition(" ")
        assert kind == word, line
        return value

    def is_silent(self) -> bool:
        return self.lines.empty()


def _runs(engine: Engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.exec(select(JobRun).order_by(col(JobRun.started_at))).all())


def _wait_until(condition: Callable[[], bool], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.1)


def test_one_scheduler_runs_the_jobs_and_the_standby_takes_over_when_it_dies(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    deployment_file = tmp_path / "deployment.json"
    deploy.save(deployment, deployment_file)
    rpc_url = isolated_chain.provider.endpoint_uri  # type: ignore[attr-defined]
    url = engine.url.render_as_string(hide_password=False)
    args = [url, rpc_url, str(deployment_file), str(LEASE), str(INTERVAL)]
    first = Scheduler(args)
    second: Scheduler | None = None
    try:
        first.expect("active", timeout=10)
        second = Scheduler(args)
        time.sleep(4)
        assert second.is_silent()  # standing by
        killed_at = time.time()
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
        took_over_at = float(second.expect("active", timeout=3 * LEASE))
        _wait_until(lambda: any(r.holder == second.holder for r in _runs(engine)), timeout=30)
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=30) == 0
    finally:
        for s in (first, second):
            if s is not None and s.process.poll() is None:
                s.process.kill()
                s.process.wait()
            if s is not None and s.process.stdout is not None:
                s.process.stdout.close()

    takeover = took_over_at - killed_at
    assert takeover < LEASE + LEASE / 3, f"the standby took {takeover:.2f} s to take over"

    runs = _runs(engine)
    by_holder: dict[str, list[JobRun]] = defaultdict(list)
    for run in runs:
        by_holder[run.holder].append(run)
    assert set(by_holder) == {first.holder, second.holder}
    assert all(r.started_at.timestamp() >= took_over_at for r in by_holder[second.holder])
    for job in JOBS:
        ordered = [r for r in runs if r.job == job]
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.finished_at is not None
            assert earlier.finished_at <= later.started_at, f"{job} runs overlap"
        mine = [r.started_at.timestamp() for r in by_holder[first.holder] if r.job == job]
        ticks = (mine[-1] - mine[0]) / INTERVAL + 1
        # Never more runs than ticks (no tick ran twice, across both processes)...
        assert len(mine) <= ticks + 1, f"{job} ran more often than it was scheduled"
        # ...and the active one kept ticking; on a loaded machine a run that outlasts a
        # tick coalesces the next one, so some ticks may legitimately be skipped.
        assert len(mine) >= ticks / 2, f"{job} stopped running"


if __name__ == "__main__":
    worker(*sys.argv[1:])
