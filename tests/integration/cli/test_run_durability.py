"""``fairgov run`` keeps its record through a dying chain and a second run on its data.

Real processes: ``fairgov run`` in a subprocess with its embedded anvil (1-second blocks,
state saved every second), ballots posted over HTTP as a wallet would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from cli.demo.client import DemoClient
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.errors import ChainDirBusy
from tests.helpers import Governance, address_of
from tests.integration.cli.run_support import FAIRGOV, ROOT, Running, fairgov_env
from tests.integration.governance.relay_support import open_proposal
from tests.voters import make_voters

pytestmark = pytest.mark.slow

VOTERS = 12


def _anvil_pids(data_dir: Path) -> list[int]:
    """anvil processes whose command line names this test's own data directory."""
    result = subprocess.run(
        ["pgrep", "-f", f"anvil.*{data_dir}"], capture_output=True, text=True, check=False
    )
    return [int(p) for p in result.stdout.split()]


def _until(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}")


def _deploy_config(tmp_path: Path) -> Path:
    path = tmp_path / "deploy.json"
    # A long vote: 1-second blocks must not close it while the test runs.
    path.write_text(json.dumps({"voting_delay": 1, "voting_period": 3_000}))
    return path


def _run_file(data_dir: Path) -> dict[str, str]:
    record: dict[str, str] = json.loads((data_dir / "run.json").read_text())
    return record


def _active(client: DemoClient, proposal_id: int) -> bool:
    proposal = client.proposal(str(proposal_id))
    return proposal is not None and proposal["state"] == "Active"


def test_killing_the_chain_mid_intake_loses_no_ballot(tmp_path: Path):
    data_dir = tmp_path / "data"
    run = Running(data_dir, FAIRGOV_DEPLOY_CONFIG=str(_deploy_config(tmp_path)))
    try:
        run.wait_for("press Ctrl-C to stop", timeout=120)
        urls = _run_file(data_dir)
        w3 = chain_client.connect(urls["rpc_url"])
        deployment = deploy.load(data_dir / "deployment.json")
        assert deployment is not None
        keys = make_voters(w3, deployment, VOTERS)
        proposal_id = open_proposal(Governance(w3, deployment))
        opened = time.time()
        (state,) = data_dir.rglob("state.json")
        # The kill below loses the last second of blocks by design (no state dump); the
        # proposal itself must be older than that, or its ballots have nothing to count on
        # (on a loaded machine the proposal could fall into the lost second).
        _until("a state dump holding the proposal", lambda: state.stat().st_mtime > opened + 0.1)
        with DemoClient(urls["api_url"]) as client:
            _until("the proposal to be indexed", lambda: _active(client, proposal_id))
            first, rest = keys[: VOTERS // 2], keys[VOTERS // 2 :]
            relays = [client.vote(k, str(proposal_id), 1) for k in first]
            (anvil,) = _anvil_pids(data_dir)
            os.kill(anvil, signal.SIGKILL)  # no state dump: the last second is lost
            relays += [client.vote(k, str(proposal_id), 1) for k in rest]
            assert all(r["status"] in {"queued", "submitted", "confirmed"} for r in relays)
            run.wait_for("the local chain is running again")

            def all_final() -> bool:
                records = [client.relay(int(r["id"])) for r in relays]
                assert not [r for r in records if r["status"] == "failed"], [
                    (r["status"], r.get("error_code"), r.get("error")) for r in records
                ]
                return all(r["status"] == "confirmed" for r in records)

            _until("every ballot to be confirmed", all_final)
        w3 = chain_client.connect(urls["rpc_url"])
        governor = Governance(w3, deployment).governor
        casts = Counter(
            e["args"]["voter"]
            for e in governor.events.VoteCast().get_logs(from_block=deployment.deploy_block)
        )
        assert {address_of(k): casts[address_of(k)] for k in keys} == {
            address_of(k): 1 for k in keys
        }
        assert len(_anvil_pids(data_dir)) == 1
    finally:
        run.interrupt()
    assert run.process.returncode == 0
    assert _anvil_pids(data_dir) == []


def test_a_second_run_on_the_same_data_stands_by_then_takes_the_chain_over(tmp_path: Path):
    data_dir = tmp_path / "data"
    first = Running(data_dir)
    second: Running | None = None
    try:
        first.wait_for("press Ctrl-C to stop", timeout=120)
        urls = _run_file(data_dir)
        governor = json.loads((data_dir / "deployment.json").read_text())["addresses"]["governor"]
        second = Running(data_dir)
        output = second.wait_for("press Ctrl-C to stop", timeout=120)
        assert "standing by on the local chain" in output
        assert "reusing the deployment" in output
        assert len(_anvil_pids(data_dir)) == 1  # one chain, whatever the number of runs
        assert _run_file(data_dir) == urls  # the standby leaves the holder's record alone
        head = Web3(Web3.HTTPProvider(urls["rpc_url"])).eth.get_block("latest")

        first.interrupt()
        assert first.process.returncode == 0
        second.wait_for("took over the local chain", timeout=60)
        assert len(_anvil_pids(data_dir)) == 1
        taken = _run_file(data_dir)
        assert taken["rpc_url"] == urls["rpc_url"]  # same URL for every client
        assert taken["pid"] == second.process.pid
        w3 = Web3(Web3.HTTPProvider(urls["rpc_url"]))
        assert w3.eth.get_block(head["number"])["hash"] == head["hash"]  # the same chain
        with DemoClient(taken["api_url"]) as client:
            assert client.governance()["addresses"]["governor"] == governor
            health = client._json("GET", "/v1/health")
        assert health["chain"]["status"] == "ok"
    finally:
        first.interrupt()
        if second is not None:
            second.interrupt()
    assert second.process.returncode == 0
    assert _anvil_pids(data_dir) == []


def test_a_second_run_whose_holder_has_no_node_refuses_in_one_line(tmp_path: Path):
    data_dir = tmp_path / "data"
    lock = localchain.ChainLock(data_dir / "chain")
    assert lock.try_acquire()  # a holder that is alive
    try:
        dead = f"http://127.0.0.1:{localchain.free_port()}"
        record = {"rpc_url": dead, "api_url": dead, "pid": os.getpid()}
        (data_dir / "run.json").write_text(json.dumps(record))
        result = subprocess.run(
            [*FAIRGOV, "run"],
            cwd=ROOT,
            env=fairgov_env(data_dir),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        lock.release()
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "another fairgov run holds the local chain" in lines[0]
    assert "FAIRGOV_DATA_DIR" in lines[0]
    assert ChainDirBusy.code == "chain_dir_busy"
    assert _anvil_pids(data_dir) == []
