"""The root of the governance errors."""

from __future__ import annotations

from typing import ClassVar

from core.errors import FairgovError


class GovernanceError(FairgovError):
    """Root of the governance errors."""

    code: ClassVar[str] = "governance_error"
