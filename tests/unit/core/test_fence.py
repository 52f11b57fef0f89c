"""core.fence: a lease check that covers the fenced block's own thread and nothing else."""

from __future__ import annotations

import threading

import pytest

from core import fence
from core.errors import FairgovError


def test_an_unfenced_thread_is_never_stopped() -> None:
    fence.check("sending a transaction")  # the API and the CLI hold no lease


def test_a_fenced_block_stops_once_the_lease_is_lost() -> None:
    held = [True]
    with fence.fenced(lambda: held[0]):
        fence.check("sending a transaction")
        held[0] = False
        with pytest.raises(fence.LeaseLost) as lost:
            fence.check("sending queue proposal 7")
    assert lost.value.code == "lease_lost"
    assert str(lost.value).startswith("not sending queue proposal 7: this scheduler no longer")
    fence.check("sending a transaction")  # the fence ends with its block


def test_another_thread_is_not_fenced_by_this_one() -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            fence.check("sending a transaction")
        except BaseException as exc:  # pragma: no cover - the failure this test looks for
            errors.append(exc)

    with fence.fenced(lambda: False):
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert errors == []


def test_a_lost_lease_is_not_caught_as_one_items_failure() -> None:
    # The jobs' loops catch FairgovError to go on with the next item; a lost lease must
    # stop the whole job instead.
    assert not issubclass(fence.LeaseLost, FairgovError)
