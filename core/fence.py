"""Fencing: a side effect only the holder of a lease may cause.

A scheduler that stood still (SIGSTOP, a stalled VM, a long pause) can wake after a standby
took its lease over, in the middle of a job it started while it held the lease. Checking
the lease when the job starts is then not enough: the job would go on sending transactions
beside the new holder's. The scheduler runs each job inside :func:`fenced` with its
lease check, and every primitive that sends a transaction calls :func:`check` first, so a
job that lost its lease stops at its next side effect with :class:`LeaseLost`.

The check is a context variable, so it covers the job's own thread and nothing else: the
API and the CLI, which hold no lease, are never fenced. What remains is the moment between
the check and the send (microseconds, against pauses of seconds or more).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ClassVar

_HOLDS: ContextVar[Callable[[], bool] | None] = ContextVar("fairgov_fence", default=None)


class LeaseLost(Exception):
    """The scheduler lost its lease while a job ran: the job stops before its next side
    effect and the holder that took over does the work.

    Not a :class:`~core.errors.FairgovError` on purpose: the jobs' loops catch those to
    record one item's failure and go on with the next, and a job that lost its lease must
    not go on with anything. It carries a stable ``code`` all the same.
    """

    code: ClassVar[str] = "lease_lost"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"not {what}: this scheduler no longer holds its lease (another one took over); "
            "nothing to do, the active scheduler carries on"
        )
        self.what = what


@contextmanager
def fenced(holds: Callable[[], bool]) -> Iterator[None]:
    """Run the block with ``holds`` as the lease check of every :func:`check` in it."""
    token = _HOLDS.set(holds)
    try:
        yield
    finally:
        _HOLDS.reset(token)


def check(what: str) -> None:
    """Raise :class:`LeaseLost` if this thread runs under a lease it no longer holds.

    Raises
    ------
    LeaseLost
    """
    holds = _HOLDS.get()
    if holds is not None and not holds():
        raise LeaseLost(what)
