"""Benchmark: how fast an idle embedded chain grows on disk and in memory, per day.

Starts two anvils side by side, each with the fairgov contracts deployed, and leaves them
idle with 1-second blocks:

* ours: the embedded chain as ``fairgov run`` starts it (:func:`governance.localchain.start`:
  state saved every second, no historical states, ``--prune-history``);
* old: the flags fairgov used before (state saved every 5 s with
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
from governance import chain as chain_client
from governance import deploy, localchain

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


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@contextmanager
def ours(anvil: Path, directory: Path, block_time: float) -> Iterator[Chain]:
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
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                chain_client.connect(url, timeout=1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
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
            ours(anvil, root / "ours", options.block_time) as a,
            old(anvil, root / "old", options.block_time) as b,
        ):
            for chain in (a, b):
                w3 = chain_client.connect(chain.rpc_url)
                deploy.deploy(w3, DEV_PRIVATE_KEYS[0], deploy.DeploymentConfig())
            started = time.monotonic()
            end = started + options.minutes * 60
            while time.monotonic() < end:
                now = time.monotonic()
                for chain in (a, b):
                    chain.sample(now)
                time.sleep(options.sample)
            blocks = chain_client.connect(a.rpc_url).eth.block_number
            ours_state, ours_memory = a.per_day(options.warm_up)
            old_state, old_memory = b.per_day(options.warm_up)
            ours_final, old_final = a.samples[-1], b.samples[-1]
    print(f"idle for {options.minutes:.1f} min, {options.block_time:g}-s blocks ({blocks} blocks)")
    rows = [
        ("state file now", ours_final[1], old_final[1]),
        ("anvil memory now", ours_final[2], old_final[2]),
        ("state growth per day", ours_state, old_state),
        ("memory growth per day", ours_memory, old_memory),
    ]
    for label, mine, reference in rows:
        print(f"{label + ':':<23} ours {mine / _MB:>10.2f} MB   old {reference / _MB:>10.2f} MB")
    print(
        f"ratio old / ours:       state growth {old_state / max(ours_state, 1.0):.0f}x, "
        f"memory growth {old_memory / max(ours_memory, 1.0):.0f}x"
    )
    print("target: ours under 100 MB/day of state, memory flat")


if __name__ == "__main__":
    main()
