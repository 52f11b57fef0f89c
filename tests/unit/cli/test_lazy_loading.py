"""``fairgov`` imports a subcommand's module only when it runs: ``fairgov --help`` took 3.3 s
importing web3, pandas and SQLAlchemy for every subcommand, ``fairgov vote`` the audits'."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from click.testing import CliRunner

from cli.main import Fairgov, app

ROOT = Path(__file__).parents[3]
SUBCOMMAND_MODULES = {lazy.target.partition(":")[0] for lazy in Fairgov.subcommands.values()}
HEAVY = {"web3", "eth_account", "pandas", "sqlalchemy"}

# Runs fairgov with the given arguments, then prints the modules it imported as the last line.
PROBE = """
import json, sys
from cli.main import app
try:
    app(sys.argv[1:], prog_name="fairgov")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _imported_by(*args: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], [], ["vot"]], ids=["--help", "none", "typo"])
def test_the_root_imports_no_subcommand(args: list[str]):
    imported = _imported_by(*args)
    assert imported & (SUBCOMMAND_MODULES | HEAVY) == set()


def test_a_subcommand_imports_its_own_module_only():
    imported = _imported_by("vote", "--help")
    assert imported & SUBCOMMAND_MODULES == {"cli.votes"}
    assert "pandas" not in imported  # the audits' data frames


def _root() -> Fairgov:
    group = typer.main.get_command(app)
    assert isinstance(group, Fairgov)
    return group


def _first_paragraph(command: click.Command) -> str:
    """What Typer's listing shows of a command's help."""
    paragraph = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
    return paragraph.replace("\n", " ").strip()


@pytest.mark.parametrize("name", list(Fairgov.subcommands))
def test_the_listed_help_is_the_command_own(name: str):
    command = _root().load(name)
    assert command.name == name
    assert _first_paragraph(command) == Fairgov.subcommands[name].help


def test_the_listing_reads_the_same_once_every_command_is_imported():
    group = _root()
    runner = CliRunner()
    listed = runner.invoke(group, ["--help"], prog_name="fairgov", env={"COLUMNS": "100"})
    for name in group.subcommands:
        group.load(name)
    loaded = runner.invoke(group, ["--help"], prog_name="fairgov", env={"COLUMNS": "100"})
    assert listed.exit_code == loaded.exit_code == 0
    assert "vote" in listed.stdout
    assert listed.stdout == loaded.stdout
