"""Subcommands whose code is imported only when they run.

Each subcommand module pulls in web3, eth_account, pandas or SQLAlchemy, a second or more
apiece. ``fairgov --help`` lists the subcommands from their one line of help alone, and
``fairgov vote`` imports the votes module and nothing of the audits.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import click
import typer
from typer.core import TyperGroup


class LazyCommand(NamedTuple):
    """A subcommand as the root listing shows it, and where its code is."""

    #: ``module:attribute``, a command function or a :class:`typer.Typer` app.
    target: str
    #: Its line in ``fairgov --help``: the first paragraph of its help.
    help: str


class Unloaded(click.Command):
    """The stand-in a listing reads until the subcommand runs: its name and help, no code."""

    def __init__(self, name: str, lazy: LazyCommand) -> None:
        super().__init__(name, help=lazy.help)
        self.target = lazy.target


class LazyGroup(TyperGroup):
    """A group whose :attr:`subcommands` are imported when one is invoked or asked for help.

    ``commands`` holds an :class:`Unloaded` stand-in per subcommand (Typer's help calls
    ``get_command`` for every name it lists); :meth:`resolve_command`, which Click calls to
    run one, puts the real command in its place.
    """

    subcommands: ClassVar[Mapping[str, LazyCommand]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, lazy in self.subcommands.items():
            self.commands[name] = Unloaded(name, lazy)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, Unloaded):
            command = self.load(name)
        return name, command, rest

    def load(self, name: str) -> click.Command:
        """The subcommand ``name`` itself, its module imported the first time."""
        command = self.commands[name]
        if isinstance(command, Unloaded):
            command = self.commands[name] = self._build(name, command.target)
        return command

    def _build(self, name: str, target: str) -> click.Command:
        """The click command Typer makes of ``target`` as a subcommand of this group. Built on
        its own, a sub-app of one command (``datasets``) would be that command instead of a
        group, and any sub-app would render its help in its own markup mode, not the root's."""
        module, _, attribute = target.partition(":")
        command_or_app = getattr(importlib.import_module(module), attribute)
        holder = typer.Typer(
            rich_markup_mode=self.rich_markup_mode, suggest_commands=self.suggest_commands
        )
        if isinstance(command_or_app, typer.Typer):
            holder.add_typer(command_or_app, name=name)
        else:
            holder.command(name=name)(command_or_app)
        return typer.main.get_group(holder).commands[name]
