"""Turning the errors a user can cause into one line on stderr and exit status 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from core.errors import FairgovError

P = ParamSpec("P")
R = TypeVar("R")

USAGE_EXIT = 2

err_console = Console(stderr=True, highlight=False)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line (whatever a library put in it) and exit with status 2."""
    one_line = " ".join(message.split())
    err_console.print(f"[bold red]fairgov:[/] {escape(one_line)}", soft_wrap=True)
    return typer.Exit(USAGE_EXIT)


def coded(exc: FairgovError) -> str:
    """The error's message with its stable code, as the API returns it: ``message [code]``."""
    return f"{exc.message} [{exc.code}]"


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report :class:`FairgovError` and bad settings as one actionable line."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FairgovError as exc:
            raise fail(coded(exc)) from None
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "FAIRGOV_" + "_".join(str(p) for p in first["loc"]).upper()
            raise fail(f"{name}: {first['msg']}") from None

    return wrapper
