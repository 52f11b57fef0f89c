"""The root of every error fairgov raises on purpose.

Each domain package subclasses :class:`FairgovError`. Leaf errors carry their data as
attributes, build their message in ``__init__`` and expose a stable machine ``code``
that the API and the CLI show to users.
"""

from __future__ import annotations

from typing import Any, ClassVar


class FairgovError(Exception):
    """Root of all deliberate fairgov errors.

    ``code`` is stable and machine readable; ``details`` holds the data a client needs
    to act on the error.
    """

    code: ClassVar[str] = "fairgov_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigurationError(FairgovError):
    """A setting or an environment prerequisite is wrong; the message says how to fix it."""

    code: ClassVar[str] = "configuration_error"
