"""Stand-ins for the lead's mergeable counts until ``bias_checks.group_counts`` lands.

Only the interface the federated runtime relies on: ``to_json``, ``from_json`` raising an
error with code ``invalid_counts``, and ``combine``. Replaced by the real one on merge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike

from core.errors import ErrorCategory, FairgovError


class InvalidCountsError(FairgovError):
    """Bytes that are not per-group confusion counts."""

    code: ClassVar[str] = "invalid_counts"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"not per-group confusion counts: {problem}", problem=problem)


_CELLS = ("tp", "fp", "tn", "fn")


@dataclass(frozen=True)
class GroupCounts:
    """Weighted confusion counts per group: ``{group: {tp, fp, tn, fn}}``."""

    groups: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(
            {"groups": {g: dict(c) for g, c in self.groups.items()}}, sort_keys=True
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> GroupCounts:
        try:
            data = json.loads(raw)
            groups = data["groups"]
            parsed = {str(g): {k: float(c[k]) for k in _CELLS} for g, c in dict(groups).items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidCountsError(str(exc)) from None
        if any(v < 0 or not np.isfinite(v) for c in parsed.values() for v in c.values()):
            raise InvalidCountsError("a count is negative or not finite")
        return cls(parsed)

    @classmethod
    def combine(cls, parts: Sequence[GroupCounts]) -> GroupCounts:
        total: dict[str, dict[str, float]] = {}
        for part in parts:
            for g, c in part.groups.items():
                cell = total.setdefault(g, dict.fromkeys(_CELLS, 0.0))
                for k in _CELLS:
                    cell[k] += c[k]
        return cls(total)


def group_counts(y_true: ArrayLike, y_pred: ArrayLike, sensitive: ArrayLike) -> GroupCounts:
    """Unweighted confusion counts of ``y_pred`` against ``y_true`` per sensitive group."""
    t, p, s = (np.asarray(a) for a in (y_true, y_pred, sensitive))
    groups: dict[str, Any] = {}
    for g in sorted({str(v) for v in s}):
        m = s.astype(str) == g
        groups[g] = {
            "tp": float(np.sum((t[m] == 1) & (p[m] == 1))),
            "fp": float(np.sum((t[m] == 0) & (p[m] == 1))),
            "tn": float(np.sum((t[m] == 0) & (p[m] == 0))),
            "fn": float(np.sum((t[m] == 1) & (p[m] == 0))),
        }
    return GroupCounts(groups)
