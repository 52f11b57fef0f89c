"""The files the suite schedules first exist (a rename would silently drop one to the end)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import SLOW_FILES_FIRST, pytest_collection_modifyitems

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("path", SLOW_FILES_FIRST)
def test_each_slow_file_exists(path: str) -> None:
    assert (ROOT / path).is_file(), f"{path} moved: update SLOW_FILES_FIRST in tests/conftest.py"


def test_slow_files_come_first_and_each_file_keeps_its_order() -> None:
    ids = [
        "tests/unit/a.py::test_1",
        f"{SLOW_FILES_FIRST[1]}::test_x",
        "tests/unit/a.py::test_2",
        f"{SLOW_FILES_FIRST[0]}::test_y",
        f"{SLOW_FILES_FIRST[1]}::test_z",
    ]
    items = [SimpleNamespace(nodeid=i) for i in ids]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.nodeid for i in items] == [ids[3], ids[1], ids[4], ids[0], ids[2]]
