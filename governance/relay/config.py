"""What a relayer is told (:class:`RelayerConfig`) and what a pass did (:class:`TickReport`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta


@dataclass(frozen=True)
class RelayerConfig:
    """``final_depth``: blocks below the head at which a confirmation is final and no longer
    checked; ``final_after``: how long after it was first seen, at least (a local chain
    saved every second can lose that second's blocks, however many there were).
    ``max_send_errors``: node rejections after which an item fails
    (``relay_rejected``). ``max_bumps``: fee replacements of one item; past them its last
    transaction waits (fees stop rising) and health reports it stuck."""

    batch_size: int = 200
    stuck_after: timedelta = timedelta(seconds=30)
    priority_fee_wei: int = 10**9
    backoff_base: timedelta = timedelta(seconds=1)
    backoff_max: timedelta = timedelta(seconds=60)
    final_depth: int = 12
    final_after: timedelta = timedelta(0)
    max_send_errors: int = 10
    max_bumps: int = 10


@dataclass
class TickReport:
    """What one relayer pass did."""

    submitted: int = 0
    confirmed: int = 0
    failed: int = 0
    rebroadcast: int = 0
    bumped: int = 0
    deferred: int = 0
    vanished: int = 0
    requeued: int = 0
    gaps_filled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: TickReport) -> None:
        """Count ``other``'s pass into this one (``rebroadcast`` stays per pass)."""
        for name in _SUMMED:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors


_SUMMED = (
    "submitted",
    "confirmed",
    "failed",
    "bumped",
    "deferred",
    "vanished",
    "requeued",
    "gaps_filled",
)
