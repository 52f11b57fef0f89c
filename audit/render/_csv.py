"""The per-group table as CSV: one row per grouping, group and metric."""

from __future__ import annotations

import csv
import io
from typing import Any

from audit.render._common import num
from audit.report import Report
from audit.violations import group_label

CSV_COLUMNS = (
    "grouping",
    "group",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "flags",
    "label",
    "control",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    # A group name like "=HYPERLINK(...)" must not run as a formula in a spreadsheet.
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_number(value: Any) -> str:
    """A number cell: shortest round-trip float, NaN and Infinity spelled out; empty for None."""
    if value is None:
        return ""
    return repr(num(value)).replace("nan", "NaN").replace("inf", "Infinity")


def render_csv(report: Report) -> str:
    """Render the metrics by group as CSV (``\\r\\n`` line ends, as the csv module writes).

    Columns: grouping, group, metric, value, ci_low, ci_high, n, flags (``small``,
    ``undefined``, separated by ``;``), label (the class of one-vs-rest rates) and control.

    Examples
    --------
    >>> import csv, io
    >>> rows = list(csv.DictReader(io.StringIO(render_csv(report))))  # doctest: +SKIP
    >>> rows[0]["metric"]  # doctest: +SKIP
    'count'
    """
    data = report.model
    sizes = {
        (tuple(g.grouping), repr(g.control), repr(g.group)): (g.count, g.small)
        for g in data.audit.groups
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for m in data.audit.metrics:
        count, small = sizes.get((tuple(m.grouping), repr(m.control), repr(m.group)), ("", False))
        flags = [name for name, on in (("small", small), ("undefined", not m.defined)) if on]
        writer.writerow(
            [
                csv_text(" x ".join(m.grouping)),
                csv_text(group_label(m.group)),
                m.metric,
                csv_number(m.value),
                csv_number(None if m.ci is None else m.ci.low),
                csv_number(None if m.ci is None else m.ci.high),
                count,
                ";".join(flags),
                "" if m.label is None else csv_text(str(m.label)),
                csv_text(group_label(m.control)) if m.control else "",
            ]
        )
    return out.getvalue()
