"""The root of every error fairgov raises on purpose.

Each domain package subclasses :class:`FairgovError`. Leaf errors carry their data as
attributes, build their message in ``__init__`` and expose a stable machine ``code``
that the API and the CLI show to users.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar


class ErrorCategory(StrEnum):
    """What kind of mistake an error is; adapters map a category, not each code, to a
    response (the API to an HTTP status, the CLI to an exit code)."""

    INVALID = "invalid"
    """The input is wrong; the message says what to change."""
    NOT_FOUND = "not_found"
    """The thing named does not exist (yet)."""
    CONFLICT = "conflict"
    """The input contradicts what is already recorded or the current state."""
    FORBIDDEN = "forbidden"
    """The caller may not do this."""
    UNAVAILABLE = "unavailable"
    """A service fairgov depends on (the chain node, a file store) does not answer; retry."""
    CONFIGURATION = "configuration"
    """The deployment itself is set up wrongly; an operator must fix it."""
    INTERNAL = "internal"
    """A broken invariant: fairgov's own fault."""


class FairgovError(Exception):
    """Root of all deliberate fairgov errors.

    ``code`` is stable, unique and machine readable; ``category`` says what kind of mistake
    it is; ``details`` holds the data a client needs to act on the error.
    """

    code: ClassVar[str] = "fairgov_error"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FairgovError):
    """A setting or an environment prerequisite is wrong; the message says how to fix it."""

    code: ClassVar[str] = "configuration_error"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFIGURATION
