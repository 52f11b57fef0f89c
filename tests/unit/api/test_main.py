"""The serving entry points' process set-up."""

import gc

from api.main import freeze_heap


def test_freeze_heap_takes_what_is_alive_out_of_collections():
    alive: list[int] = []  # a container, so the collector tracks it
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        assert not any(o is alive for o in gc.get_objects())  # frozen objects are not tracked
    finally:
        gc.unfreeze()
    assert any(o is alive for o in gc.get_objects(generation=2))
