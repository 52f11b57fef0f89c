"""Turning the errors a user can cause into one line on stderr and exit status 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

import click
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from core.errors import FairgovError
from core.settings import setting_problem

P = ParamSpec("P")
R = TypeVar("R")

USAGE_EXIT = 2

err_console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """Print ``message`` on stderr as one ``fairgov:`` line, whatever a library put in it."""
    one_line = " ".join(message.split())
    err_console.print(f"[bold red]fairgov:[/] {escape(one_line)}", soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line (whatever a library put in it) and exit with status 2."""
    say(message)
    return typer.Exit(USAGE_EXIT)


class OneLineUsage(TyperGroup):
    """The root command group: Click's usage errors (a missing option, a value of the wrong
    type, an unknown command) as one ``fairgov:`` line naming the ``--help`` to read, where
    Typer draws a box of five lines or more. Exit statuses are Click's (2 for usage).
    """

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        given = list(sys.argv[1:] if args is None else args)
        repeated = self._repeated_option(given)
        if repeated is not None:
            say(
                f"{repeated} is given more than once: give it once (the last value would "
                f"silently win; see '{self._path_in(given, prog_name)} --help')"
            )
            sys.exit(USAGE_EXIT)
        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except click.UsageError as exc:
            path = (
                exc.ctx.command_path
                if exc.ctx is not None
                else self._path_in(sys.argv[1:] if args is None else args, prog_name)
            )
            say(f"{_usage_message(exc)} (see '{path} --help')")
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            say(exc.format_message())
            sys.exit(exc.exit_code)
        except click.Abort:
            say("aborted")
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    def _repeated_option(self, args: Sequence[str]) -> str | None:
        """The first option of the command ``args`` name that they give twice, when it takes
        one value (Click keeps the last silently); None otherwise, or when they do not parse
        (Click's own parse then says why)."""
        command: click.Command = self
        at = 0
        while isinstance(command, click.Group) and at < len(args) and args[at] in command.commands:
            command = command.commands[args[at]]
            at += 1
        ctx = click.Context(command, resilient_parsing=True)
        try:
            _, _, order = command.make_parser(ctx).parse_args(list(args[at:]))
        except click.ClickException:
            return None
        seen: set[str] = set()
        for param in order:
            if not isinstance(param, click.Option) or param.multiple or param.count:
                continue
            name = max(param.opts, key=len)
            if name in seen:
                return name
            seen.add(name)
        return None

    def _path_in(self, args: Sequence[str], prog_name: str | None) -> str:
        """The command path that ``args`` name (Click's parser raises a missing option value
        without its context)."""
        path: list[str] = [prog_name or "fairgov"]
        command: click.Command = self
        for arg in args:
            if not isinstance(command, click.Group) or arg not in command.commands:
                break
            command = command.commands[arg]
            path.append(arg)
        return " ".join(path)


def _usage_message(exc: click.UsageError) -> str:
    """Click's message, with an unknown command's suggestion said once: Typer appends "Did
    you mean" to the message and Click 8.4+ appends its own possibilities to it as well
    (review, session 26: ``Did you mean 'vote'? Did you mean 'vote'?``)."""
    if not isinstance(exc, click.exceptions.NoSuchCommand):
        return exc.format_message()
    message = f"No such command {exc.command_name!r}."
    if exc.possibilities:
        message += f" Did you mean {', '.join(repr(p) for p in exc.possibilities)}?"
    return message


def coded(exc: FairgovError) -> str:
    """The error's message with its stable code, as the API returns it: ``message [code]``."""
    return f"{exc.message} [{exc.code}]"


#: What SQLite says of a file that is not a whole database (truncated, overwritten).
_DAMAGED = ("database disk image is malformed", "file is not a database")


def damaged_database(exc: BaseException) -> str | None:
    """The one line for a database file SQLite cannot read, or None for any other error.

    Chaos review (session 24): a truncated ``fairgov.db`` made every command print a
    141-line traceback ending in ``database disk image is malformed``."""
    if "sqlalchemy" not in sys.modules:  # nothing has opened a database
        return None
    from sqlalchemy.exc import DatabaseError

    reason = str(getattr(exc, "orig", ""))
    if not isinstance(exc, DatabaseError) or not any(text in reason for text in _DAMAGED):
        return None
    return (
        f"the database cannot be read ({reason}): restore it from a backup, or move the file "
        "(fairgov.db in the data directory, or FAIRGOV_DATABASE_URL's) away to start a new "
        "one [database_damaged]"
    )


def friendly_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Report :class:`FairgovError`, bad settings and a damaged database as one line."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except FairgovError as exc:
            raise fail(coded(exc)) from None
        except ValidationError as exc:
            if exc.title == "Settings":  # a setting from the environment or the .env file
                raise fail(setting_problem(exc)) from None
            # Any other model: name it and the field, never as if it were a setting.
            first = exc.errors()[0]
            field = f" {'.'.join(str(p) for p in first['loc'])}:" if first["loc"] else ""
            raise fail(f"invalid {exc.title}:{field} {first['msg']}") from None
        except Exception as exc:
            line = damaged_database(exc)
            if line is None:
                raise
            raise fail(line) from None

    return wrapper
