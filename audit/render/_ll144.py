"""The NYC Local Law 144 summary table of a report made with the ``ll144`` preset, as an
HTML section and as CSV: per category of each sensitive feature and per intersection, the
applicants, the selected, the selection (or scoring) rate and the impact ratio; categories
under the exclusion share are listed with their counts and marked excluded, and the applicants
whose category is unknown get a last row of their own, outside the ratios."""

from __future__ import annotations

import csv
import io
import math
from html import escape
from typing import Any

from audit.render._common import fmt, num
from audit.render._csv import csv_number, csv_text
from audit.report_model import ImpactRowView, LL144View, ReportModel, UnknownCountView
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


LL144_HEADERS = ("Category", "Applicants", "Selected", "{rate}", "Impact ratio", "Note")
UNKNOWN_LABEL = "unknown category"
UNKNOWN_NOTE = "not included in the calculations (6 RCNY 5-301(b))"


def _unknown_of(table: LL144View, grouping: list[str]) -> UnknownCountView | None:
    return next((u for u in table.unknown if u.grouping == grouping), None)


def ll144_intro(table: LL144View) -> str:
    """One paragraph on what the table shows (plain text)."""
    rate = f"{table.rate_kind} rate"
    share = fmt(100 * num(table.min_share), 1)
    text = (
        f"{table.applicants} applicants. The impact ratio is a category's {rate} over the "
        f"highest {rate} among the categories of the same feature or intersection "
        f"(6 RCNY 5-301). Categories under {share}% of the data are reported but excluded "
        "from the ratios."
    )
    singles = [u for u in table.unknown if len(u.grouping) == 1]
    if singles:
        named = ", ".join(f"{u.applicants} of unknown {u.grouping[0]}" for u in singles)
        text += (
            f" Applicants in an unknown category are not included in the calculations of "
            f"that feature or its intersections: {named}."
        )
    return text


def ll144_tables(table: LL144View) -> list[tuple[str, list[list[str]]]]:
    """``(grouping title, rows)`` per feature and intersection, in the table's order; each
    row as text in the order of :data:`LL144_HEADERS`."""
    out: list[tuple[str, list[list[str]]]] = []
    for row in table.rows:
        title = " x ".join(row.grouping)
        if not out or out[-1][0] != title:
            out.append((title, []))
        out[-1][1].append(
            [
                group_label(row.category),
                str(row.applicants),
                str(row.selected),
                _percent(row.rate),
                fmt(row.impact_ratio, 2),
                _note(row, table),
            ]
        )
    for title, rows in out:
        left_out = _unknown_of(table, title.split(" x "))
        if left_out is not None:
            rows.append(
                [
                    UNKNOWN_LABEL,
                    str(left_out.applicants),
                    str(left_out.selected),
                    "",
                    "",
                    UNKNOWN_NOTE,
                ]
            )
    return out


def ll144_headers(table: LL144View) -> list[str]:
    rate = "Scoring rate" if table.rate_kind == "scoring" else "Selection rate"
    return [h.format(rate=rate) for h in LL144_HEADERS]


def ll144_section(data: ReportModel) -> str:
    """The LL144 summary as HTML; empty when the report has no LL144 table."""
    table = data.ll144
    if table is None:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in ll144_headers(table))
    parts = [
        "<h2>NYC Local Law 144 summary</h2>",
        f'<p class="muted">{escape(ll144_intro(table))}</p>',
    ]
    for title, rows in ll144_tables(table):
        body = "".join(
            "<tr>" + "".join(_cell(v, numeric=0 < i < 5) for i, v in enumerate(row)) + "</tr>"
            for row in rows
        )
        parts.append(f"<h3>{escape(title)}</h3>")
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


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
                csv_text(" x ".join(row.grouping)),
                csv_text(group_label(row.category)),
                row.applicants,
                row.selected,
                csv_number(row.rate),
                csv_number(row.impact_ratio),
                "yes" if row.excluded else "no",
            ]
        )
    for left_out in table.unknown:
        writer.writerow(
            [
                csv_text(" x ".join(left_out.grouping)),
                UNKNOWN_LABEL,
                left_out.applicants,
                left_out.selected,
                "",
                "",
                "unknown",
            ]
        )
    return out.getvalue()
