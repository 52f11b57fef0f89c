"""The CLI's Rich consoles take their width from the terminal when they print, not on import."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from rich.console import Console

import cli


def _module_consoles() -> dict[str, Console]:
    found = {}
    for info in pkgutil.walk_packages(cli.__path__, "cli."):
        if info.name.endswith("__main__"):
            continue  # importing it runs the command
        module = importlib.import_module(info.name)
        found.update(
            (f"{info.name}.{name}", value)
            for name, value in vars(module).items()
            if isinstance(value, Console)
        )
    return found


CONSOLES = _module_consoles()


def test_the_cli_has_module_level_consoles():
    assert len(CONSOLES) >= 5, CONSOLES


@pytest.mark.parametrize("where", sorted(CONSOLES))
def test_a_console_follows_the_width_set_after_import(where: str, monkeypatch: pytest.MonkeyPatch):
    # Under pytest-xdist the workers used to start with COLUMNS=80 (see tests/conftest.py),
    # which fixed every console at 80 columns whatever the CLI tests set.
    monkeypatch.setenv("COLUMNS", "173")
    assert CONSOLES[where].width == 173
