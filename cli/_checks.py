"""The checks table every audit command and the demo print: each check's bound, measured
value, interval, verdict and, when INCONCLUSIVE, about how many rows per group would decide
it; worst first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.table import Table

from cli._text import literal

if TYPE_CHECKING:
    from audit.report_model import CheckView

#: Verdict colours on the terminal (the renderings use their own shades).
_COLOURS = {"PASS": "green", "FAIL": "red", "INCONCLUSIVE": "yellow"}


@dataclass(frozen=True)
class CheckLine:
    """One check as the table shows it, from a report (:meth:`of_view`) or from the API's
    audit summary (:meth:`of_summary`)."""

    metric: str
    direction: str
    bound: float | None
    value: float | None
    interval: tuple[float, float] | None
    confidence_level: float
    verdict: str
    rows_needed: int | None

    @classmethod
    def of_view(cls, check: CheckView) -> CheckLine:
        ci = check.ci
        return cls(
            metric=check.threshold.metric,
            direction=check.threshold.direction,
            bound=_number(check.threshold.bound),
            value=_number(check.value),
            interval=None if ci is None else (float(ci.low), float(ci.high)),
            confidence_level=float(check.evidence_rule.confidence_level),
            verdict=str(check.verdict),
            rows_needed=check.rows_needed,
        )

    @classmethod
    def of_summary(cls, check: Mapping[str, Any]) -> CheckLine:
        ci = check.get("ci")
        level = (ci or check.get("evidence_rule") or {}).get("confidence_level", 0.95)
        return cls(
            metric=str(check["metric"]),
            direction=str(check["direction"]),
            bound=_number(check.get("bound")),
            value=_number(check.get("value")),
            interval=None if not ci else (float(ci["low"]), float(ci["high"])),
            confidence_level=float(level),
            verdict=str(check["verdict"]),
            rows_needed=check.get("rows_needed"),
        )

    @property
    def excess(self) -> float:
        """How far the value lies past its bound (negative: within it); unknown ones last."""
        if self.value is None or self.bound is None:
            return float("-inf")
        past = self.value - self.bound
        return past if self.direction == "upper" else -past


def _number(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, bool) else float(value)
    except (TypeError, ValueError):  # "Infinity" and the like are shown as n/a
        return None


def checks_table(checks: Iterable[CheckLine], *, title: str = "checks, worst first") -> Table:
    """The checks, worst first: metric, bound, value, interval, verdict, rows needed."""
    from audit.render import fmt, percent

    table = Table(title=title, title_justify="left")
    for header in ("metric", "bound", "value", "interval", "verdict", "smallest group to decide"):
        table.add_column(header, overflow="fold")
    for check in sorted(checks, key=lambda c: c.excess, reverse=True):
        sign = "<=" if check.direction == "upper" else ">="
        interval = (
            "n/a"
            if check.interval is None
            else f"{fmt(check.interval[0])} to {fmt(check.interval[1])} "
            f"({percent(check.confidence_level)})"
        )
        needed = check.rows_needed if check.verdict == "INCONCLUSIVE" else None
        colour = _COLOURS.get(check.verdict, "white")
        table.add_row(
            literal(check.metric),
            f"{sign} {fmt(check.bound)}",
            fmt(check.value),
            interval,
            f"[{colour}]{literal(check.verdict)}[/]",
            "" if needed is None else f"~{needed:,} rows per group",
        )
    return table
