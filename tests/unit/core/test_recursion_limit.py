"""fairgov keeps Python's recursion limit, which py_ecc raises to 100,000 on import."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _limit_after(code: str) -> int:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(sys.getrecursionlimit())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(result.stdout.split()[-1])


DEFAULT = _limit_after("")


def test_py_ecc_alone_would_raise_the_limit():
    # What core undoes; if py_ecc stops doing it, core's reset can go.
    assert _limit_after("import py_ecc") == 100_000 > DEFAULT


@pytest.mark.parametrize(
    "imports",
    ["import core; import web3", "import web3; import core", "import cli.main"],
)
def test_the_limit_is_pythons_default_whatever_imports_first(imports: str):
    assert _limit_after(imports) == DEFAULT
