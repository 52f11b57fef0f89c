"""Benchmark: how fast an idle embedded chain grows on disk and in memory, per day.

Starts three anvils side by side, each with the fairgov contracts deployed, and leaves them
idle:

* ours: the embedded chain as ``fairgov run`` starts it (:func:`governance.chain.localchain.start`:
  state saved every second, no historical states, ``--prune-history``; one block per
  transaction, and timed blocks from :class:`~governance.chain.localchain.ChainClock` only while
  a proposal waits for them, so none here);
* ours, 1-s blocks: the same flags with a block every second, as while a vote is open;
* old: the flags fairgov used before (1-s blocks, state saved every 5 s with
  ``--preserve-historical-states``), the reference, measured in the same run.

Every ``--sample`` seconds it records the state file's size and anvil's resident memory,
fits a line through the samples after a warm-up (``scipy.stats.linregress``) and prints the
growth extrapolated to a day for both, and their ratio. The target: under 100 MB a day of
state and flat memory. Nothing is asserted.

Run: ``python benchmarks/idle_growth.py --minutes 3``.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scipy import stats

from core.settings import DEV_MNEMONIC, DEV_PRIVATE_KEYS
from governance.chain import deploy, localchain
from governance.chain import node as chain_client

_DAY = 86_400
_MB = 1_000_000


@dataclass
class Chain:
    name: str
    process: subprocess.Popen[bytes]
    rpc_url: str
    state_file: Path
    samples: list[tuple[float, int, int]] = field(default_factory=list)

    def sample(self, now: float) -> None:
        size = self.state_file.stat().st_size if self.state_file.exists() else 0
        self.samples.append((now, size, _rss_bytes(self.process.pid)))

    def per_day(self, warm_up: float) -> tuple[float, float]:
        """State bytes and resident bytes gained per day (slopes of the fitted lines)."""
        start = self.samples[0][0] + warm_up
        kept = [s for s in self.samples if s[0] >= start]
        times = [s[0] for s in kept]
        state = stats.linregress(times, [s[1] for s in kept]).slope * _DAY
        memory = stats.linregress(times, [s[2] for s in kept]).slope * _DAY
        return state, memory


def _ratio(reference: float, mine: float) -> str:
    if mine < 1_000:  # under 1 kB a day: no measurable growth at all
        return "no growth in ours"
    return f"{reference / mine:,.0f}x"


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def ours(anvil: Path, directory: Path, block_time: float | None) -> Iterator[Chain]:
    node = localchain.start(anvil=anvil, chain_dir=directory, block_time=block_time)
    try:
        yield Chain("ours", node.process, node.rpc_url, node.state_file)
    finally:
        localchain.stop(node)


@contextmanager
def old(anvil: Path, directory: Path, block_time: float) -> Iterator[Chain]:
    directory.mkdir(parents=True)
    port = localchain.free_port()
    state_file = directory / "state.json"
    command = [
        str(anvil), "--host", "127.0.0.1", "--port", str(port), "--mnemonic", DEV_MNEMONIC,
        "--block-time", str(block_time), "--state", str(state_file),
        "--state-interval", "5", "--preserve-historical-states",
    ]  # fmt: skip
    with (directory / "anvil.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    node = localchain.LocalChain(process, url, port, 31337, state_file, directory / "anvil.log")
    try:
        localchain.wait_until_ready(node, 30)
        yield Chain("old", process, url, state_file)
    finally:
        process.terminate()
        process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="idle time measured")
    parser.add_argument("--warm-up", type=float, default=20.0, help="seconds not fitted")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--block-time", type=float, default=1.0)
    options = parser.parse_args()
    anvil = localchain.find_anvil()
    with tempfile.TemporaryDirectory(prefix="fairgov-idle-") as tmp:
        root = Path(tmp)
        with (
            ours(anvil, root / "ours", None) as idle,
            ours(anvil, root / "ours-timed", options.block_time) as timed,
            old(anvil, root / "old", options.block_time) as reference,
        ):
            chains = (idle, timed, reference)
            for chain in chains:
                w3 = chain_client.connect(chain.rpc_url)
                deploy.deploy(w3, DEV_PRIVATE_KEYS[0], deploy.DeploymentConfig())
            end = time.monotonic() + options.minutes * 60
            while time.monotonic() < end:
                now = time.monotonic()
                for chain in chains:
                    chain.sample(now)
                time.sleep(options.sample)
            blocks = [chain_client.connect(c.rpc_url).eth.block_number for c in chains]
            growth = [c.per_day(options.warm_up) for c in chains]
    print(f"idle for {options.minutes:.1f} min; blocks at the end: ours {blocks[0]}, "
          f"ours with {options.block_time:g}-s blocks {blocks[1]}, old {blocks[2]}")  # fmt: skip
    header = f"{'':<23} {'ours':>12} {'ours, timed':>12} {'old':>12}"
    print(header)
    rows = [
        ("state file now", [c.samples[-1][1] for c in chains]),
        ("anvil memory now", [c.samples[-1][2] for c in chains]),
        ("state growth per day", [g[0] for g in growth]),
        ("memory growth per day", [g[1] for g in growth]),
    ]
    for label, values in rows:
        print(f"{label + ':':<23} " + " ".join(f"{v / _MB:>9.2f} MB" for v in values))
    for name, index in (("ours", 0), ("ours, timed", 1)):
        print(
            f"ratio old / {name + ':':<13} state growth {_ratio(growth[2][0], growth[index][0])}, "
            f"memory growth {_ratio(growth[2][1], growth[index][1])}"
        )
    print("target: ours under 100 MB/day of state, memory flat")


if __name__ == "__main__":
    main()
