"""The NYC Local Law 144 summary table of a report made with the ``ll144`` preset, as an
HTML section and as CSV: per category of each sensitive feature and per intersection, the
applicants, the selected, the selection (or scoring) rate and the impact ratio; categories
under the exclusion share are listed with their counts and marked excluded."""

from __future__ import annotations

import csv
import io
import math
from html import escape
from typing import Any

from audit.render._common import fmt, num
from audit.report_model import ImpactRowView, LL144View, ReportModel
from audit.violations import group_label

LL144_CSV_COLUMNS = (
    "grouping",
    "category",
    "applicants",
    "selected",
    "rate",
    "impact_ratio",
    "excluded",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any, *, numeric: bool = False) -> str:
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{escape(str(value))}</td>"


def _percent(value: Any) -> str:
    number = num(value)
    return "n/a" if math.isnan(number) else f"{100 * number:.1f}%"


def _note(row: ImpactRowView, table: LL144View) -> str:
    if row.excluded:
        return f"excluded from the ratios: under {fmt(100 * num(table.min_share), 1)}% of the data"
    if row.impact_ratio is not None and num(row.impact_ratio) < 0.8:
        return "below four-fifths (0.8)"
    return ""


def ll144_section(data: ReportModel) -> str:
    """The LL144 summary as HTML; empty when the report has no LL144 table."""
    table = data.ll144
    if table is None:
        return ""
    rate = "Scoring rate" if table.rate_kind == "scoring" else "Selection rate"
    headers = ("Category", "Applicants", "Selected", rate, "Impact ratio", "Note")
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    parts = [
        "<h2>NYC Local Law 144 summary</h2>",
        f'<p class="muted">{table.applicants} applicants. The impact ratio is a category\'s '
        f"{rate.lower()} over the highest {rate.lower()} among the categories of the same "
        "feature or intersection (6 RCNY &sect; 5-301). Categories under "
        f"{fmt(100 * num(table.min_share), 1)}% of the data are reported but excluded from "
        "the ratios.</p>",
    ]
    groupings: list[list[str]] = []
    for row in table.rows:
        if row.grouping not in groupings:
            groupings.append(row.grouping)
    for grouping in groupings:
        body = "".join(
            "<tr>"
            + _cell(group_label(row.category))
            + _cell(row.applicants, numeric=True)
            + _cell(row.selected, numeric=True)
            + _cell(_percent(row.rate), numeric=True)
            + _cell(fmt(row.impact_ratio, 2), numeric=True)
            + _cell(_note(row, table))
            + "</tr>"
            for row in table.rows
            if row.grouping == grouping
        )
        parts.append(f"<h3>{escape(' x '.join(grouping))}</h3>")
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def _text(value: str) -> str:
    # A category like "=HYPERLINK(...)" must not run as a formula in a spreadsheet.
    return "'" + value if value.startswith(_FORMULA_START) else value


def _number(value: Any) -> str:
    if value is None:
        return ""
    return repr(num(value)).replace("nan", "NaN").replace("inf", "Infinity")


def render_ll144_csv(data: ReportModel) -> str | None:
    """The LL144 table as CSV (one row per category), or ``None`` without an LL144 table."""
    table = data.ll144
    if table is None:
        return None
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LL144_CSV_COLUMNS)
    for row in table.rows:
        writer.writerow(
            [
                _text(" x ".join(row.grouping)),
                _text(group_label(row.category)),
                row.applicants,
                row.selected,
                _number(row.rate),
                _number(row.impact_ratio),
                "yes" if row.excluded else "no",
            ]
        )
    return out.getvalue()
