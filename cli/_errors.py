"""Turning the errors a user can cause into one line on stderr and exit status 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from pydantic import ValidationError

from cli._usage import USAGE_EXIT, say
from core.errors import FairgovError
from core.settings import setting_problem

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line (whatever a library put in it) and exit with status 2."""
    say(message)
    return typer.Exit(USAGE_EXIT)


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
