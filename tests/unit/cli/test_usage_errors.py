"""Click's usage errors reach the user as one ``fairgov:`` line naming the help to read."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()

CASES = [
    (["reports"], "No such command 'reports'. (see 'fairgov --help')"),
    (["audit", "verify"], "No such command 'verify'. (see 'fairgov audit --help')"),
    (
        ["audit", "predictions"],
        "Missing argument 'PATH|DIR|GLOB'. (see 'fairgov audit predictions --help')",
    ),
    (
        ["audit", "predictions", "p.csv", "--n-boot", "abc"],
        "Invalid value for '--n-boot': 'abc' is not a valid integer range."
        " (see 'fairgov audit predictions --help')",
    ),
    (["vote", "--nope"], "No such option '--nope'. (see 'fairgov vote --help')"),
    # The suggestion once (review, session 26: Typer and Click each appended it).
    (["vot"], "No such command 'vot'. Did you mean 'vote'? (see 'fairgov --help')"),
    (
        ["proposals", "lst"],
        "No such command 'lst'. Did you mean 'list'? (see 'fairgov proposals --help')",
    ),
    # Refused before the stack is looked for (review, session 22: they said not_deployed);
    # int(text, 0) had read "1_0" as 10.
    (
        ["vote", "1_0", "for", "--dev-account", "1"],
        "Invalid value: '1_0' is not a proposal id (its decimal digits)"
        " (see 'fairgov vote --help')",
    ),
    (
        ["delegate", "notanaddress", "--dev-account", "1"],
        "Invalid value: 'notanaddress' is not an address (0x and 40 hex digits)"
        " (see 'fairgov delegate --help')",
    ),
    # Click's parser raises this one without its context (review, session 22: it named
    # 'fairgov --help').
    (
        ["audit", "predictions", "p.csv", "--label"],
        "Option '--label' requires an argument. (see 'fairgov audit predictions --help')",
    ),
    # Click keeps the last of an option given twice (review, session 23): refused instead.
    (
        ["audit", "predictions", "p.csv", "--label", "y", "--label=pred", "--sensitive", "s"],
        "--label is given more than once: give it once (the last value would silently win;"
        " see 'fairgov audit predictions --help')",
    ),
    (
        ["vote", "1", "for", "--dev-account", "1", "--dev-account", "2"],
        "--dev-account is given more than once: give it once (the last value would silently"
        " win; see 'fairgov vote --help')",
    ),
]


@pytest.mark.parametrize(("args", "expected"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_a_usage_error_is_one_line_with_status_2(args: list[str], expected: str):
    result = runner.invoke(app, args, prog_name="fairgov")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == f"fairgov: {expected}"
    assert "╭" not in result.stderr
    assert result.stdout == ""


def test_help_is_still_the_full_help():
    result = runner.invoke(app, ["audit", "predictions", "--help"], prog_name="fairgov")
    assert result.exit_code == 0
    assert "Usage: fairgov audit predictions" in result.stdout
    assert "--cutoff" in result.stdout


def test_no_arguments_still_show_the_help():
    result = runner.invoke(app, [], prog_name="fairgov")
    assert result.exit_code == 2
    assert "Usage: fairgov" in result.stdout + result.stderr
    assert "Commands" in result.stdout + result.stderr
