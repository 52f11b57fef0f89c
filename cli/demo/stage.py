"""The demo's cast and props: its constants, the :class:`Demo` state with numbered steps and
bounded waits, and small formatting helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cli.demo.client import DemoClient
from core.settings import DEV_PRIVATE_KEYS

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)

STEPS: Final = 16
#: The dev account that the default deployment makes the fairness guardian.
GUARDIAN_KEY: Final = DEV_PRIVATE_KEYS[6]
#: The data provider who offers the demo's dataset.
PROVIDER_KEY: Final = DEV_PRIVATE_KEYS[5]
DATASET: Final = "loans-demo"
MODEL: Final = "loans-demo-lr"
#: The second provider, their dataset (same schema, another seed) and the model on both.
SECOND_PROVIDER_KEY: Final = DEV_PRIVATE_KEYS[7]
SECOND_DATASET: Final = "loans-demo-2"
#: Seed 3's rows, alone and under the mitigation, PASS at 95% (seed 1's are INCONCLUSIVE), so
#: the retraining after the withdrawal is approved. Runs are deterministic.
SECOND_SEED: Final = 3
POOLED_MODEL: Final = "loans-demo-pooled-lr"
#: Whole tokens the first proposal moves from the treasury to the providers' rewards.
REWARD_FUNDING: Final = 5000
METRIC: Final = "demographic_parity_difference"
BOUND: Final = "0.1"
EVIDENCE: Final = {
    "confidence_level": "0.95",
    "min_group_size": 30,
    "min_denominator": 10,
    "on_inconclusive": "block",
}
HOLDER_KEYS: Final = DEV_PRIVATE_KEYS[1:5]
AUDITOR_KEY: Final = DEV_PRIVATE_KEYS[9]
#: For, for, for, against: the first three holders outvote the fourth.
Votes = tuple[tuple[int, str | None], ...]
#: Each holder's (support, reason), in HOLDER_KEYS order; the holders have 40/30/20/10 %.
VOTES: Final[Votes] = (
    (1, "fairness must be measured"),
    (1, None),
    (1, None),
    (0, "too strict"),
)
#: 60 % for (40 + 20), 40 % against: a majority, short of two thirds.
SIXTY_PERCENT: Final[Votes] = (
    (1, "the bound costs us customers"),
    (0, "it would let a biased model through"),
    (1, None),
    (0, None),
)
FINAL_FAILURES: Final = frozenset({"Defeated", "Canceled", "Expired"})
POLL_SECONDS: Final = 0.5
WEI: Final = 10**18
INTERRUPTED: Final = 130


class DemoTimeout(Exception):
    """A wait did not end within its bound."""

    def __init__(self, what: str, seconds: float, hint: str) -> None:
        super().__init__(f"{what} did not happen within {seconds:g} s: {hint}")


@dataclass
class Demo:
    """One run of the story: the client, its bounds, and what it has learned so far."""

    client: DemoClient
    timeout: float
    out_dir: Path
    step: int = 0
    operator_token: str = ""
    #: The local chain's JSON-RPC URL (from run.json or --rpc-url), to move its clock.
    rpc_url: str | None = None
    #: Each registered dataset's id, by name.
    dataset_ids: dict[str, str] = field(default_factory=dict)

    def heading(self, title: str) -> None:
        """Start the next numbered step of the story."""
        self.step += 1
        console.print()
        console.rule(f"[bold]{self.step}/{STEPS}  {title}", align="left")

    def wait(self, what: str, poll: Callable[[], tuple[T | None, str]], hint: str) -> T:
        """Poll until ``poll`` returns a value, showing its status line; bounded by timeout."""
        deadline = time.monotonic() + self.timeout
        with progress_bar() as progress:
            task = progress.add_task(what, total=None)
            while True:
                value, status = poll()
                progress.update(task, description=f"{what}: {status}")
                if value is not None:
                    return value
                if time.monotonic() > deadline:
                    raise DemoTimeout(what, self.timeout, hint)
                time.sleep(POLL_SECONDS)


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        console=console,
    )


def tokens(wei: str | int) -> str:
    return f"{int(wei) // WEI:,}"


def short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}" if len(value) > 16 else value
