"""Errors of the impact preview."""

from __future__ import annotations

from typing import ClassVar

from audit.errors import AuditError
from core.errors import ErrorCategory


class ActionNotApplicable(AuditError):
    """A drafted or proposed action the current policy would refuse: its call would revert."""

    code: ClassVar[str] = "action_not_applicable"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, index: int, summary: str, problem: str) -> None:
        super().__init__(
            f"action {index} ({summary}) cannot apply to the current policy: {problem}; "
            "fix or drop it before proposing",
            index=index,
            action=summary,
            problem=problem,
        )
