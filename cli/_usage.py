"""The root command group's usage errors as one line on stderr. It imports no settings and
no domain code, so that ``fairgov --help`` and a mistyped command stay fast."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from cli._lazy import LazyGroup

USAGE_EXIT = 2

err_console = Console(stderr=True, highlight=False)


def say(message: str) -> None:
    """Print ``message`` on stderr as one ``fairgov:`` line, whatever a library put in it."""
    one_line = " ".join(message.split())
    err_console.print(f"[bold red]fairgov:[/] {escape(one_line)}", soft_wrap=True)


class OneLineUsage(LazyGroup):
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
        command, at = self._named_by(args)
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
        _, at = self._named_by(args)
        return " ".join([prog_name or "fairgov", *args[:at]])

    def _named_by(self, args: Sequence[str]) -> tuple[click.Command, int]:
        """The command that the first words of ``args`` name, and how many words name it."""
        command: click.Command = self
        at = 0
        while isinstance(command, click.Group) and at < len(args) and args[at] in command.commands:
            name = args[at]
            command = (
                command.load(name) if isinstance(command, LazyGroup) else command.commands[name]
            )
            at += 1
        return command, at


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
