"""The failing and inconclusive checks of a report, worst first, as renderers show them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from audit.report_model import CheckView, ReportModel
from bias_checks import Verdict


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Violation(_Frozen):
    """A failing or inconclusive check, with how far past its bound the value is."""

    metric: str
    verdict: Verdict
    reason: str
    value: float
    bound: float
    direction: str
    excess: float
    groups: list[dict[str, Any]]
    unreliable: list[dict[str, Any]] = []
    rows_needed: int | None = None


def _as_float(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return {"Infinity": math.inf, "-Infinity": -math.inf}.get(str(value), math.nan)


def group_label(group: Mapping[str, Any] | None) -> str:
    """``"sex=F, race=B"`` for a group, ``"overall"`` for the whole population."""
    if group is None:
        return "overall"
    return ", ".join(f"{name}={value}" for name, value in group.items())


def _violation(check: CheckView) -> Violation:
    threshold = check.threshold
    value = _as_float(check.value)
    bound = float(threshold.bound)
    excess = value - bound if threshold.direction == "upper" else bound - value
    groups = [
        {"group": group_label(side.group), "count": side.count, "value": side.value}
        for side in check.pair or []
    ]
    return Violation(
        metric=threshold.metric,
        verdict=check.verdict,
        reason=check.reason,
        value=value,
        bound=bound,
        direction=threshold.direction,
        excess=excess,
        groups=groups,
        unreliable=[
            {"group": group_label(side.group), "count": side.count}
            for side in check.unreliable_groups or []
        ],
        rows_needed=check.rows_needed,
    )


def worst_violations(report: ReportModel, n: int = 3) -> list[Violation]:
    """The worst failing or inconclusive checks of ``report`` (see :class:`Report`)."""
    found = [_violation(c) for c in report.audit.checks if c.verdict != Verdict.PASS]
    found.sort(
        key=lambda v: (
            v.verdict != Verdict.FAIL,
            math.isnan(v.excess),
            -v.excess if not math.isnan(v.excess) else 0.0,
        )
    )
    return found[:n]
