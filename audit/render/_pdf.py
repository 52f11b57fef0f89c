"""A printable PDF of a report, drawn with fpdf2's core fonts and primitives."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from audit.render._common import (
    INTERVAL_HEADER,
    REASON_WORDS,
    VERDICT_COLOURS,
    bound_text,
    caveats,
    check_ci_text,
    check_words,
    fmt,
    group_rows,
    metric_series,
    pair_text,
    percent,
    reference_sentence,
    short_base,
    verdict_sentence,
)
from audit.render._ll144 import ll144_headers, ll144_intro, ll144_tables
from audit.report import Report
from audit.report_model import ReportModel
from bias_checks import is_known_metric, metric_info

# A fixed date keeps the PDF bytes a function of the report alone.
_PDF_DATE = datetime(2000, 1, 1, tzinfo=UTC)
_REPLACEMENTS = {
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2212": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
}
_WIDTH = 180.0
#: The most characters a table cell shows: a row must fit on one page, and a 2,000-character
#: group name made fpdf2 refuse the whole PDF, so the audit was lost (review, session 22).
#: The report itself (report.json, HTML, CSV) keeps every name whole.
_CELL_CHARS = 400


def _cell(value: Any) -> str:
    text = latin1(value)
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 3] + "..."


def latin1(text: Any) -> str:
    """Make text printable with a core PDF font: transliterate, else replace with '?'."""
    out = []
    for original in str(text):
        char = _REPLACEMENTS.get(original, original)
        try:
            char.encode("latin-1")
        except UnicodeEncodeError:
            stripped = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            char = stripped if stripped and stripped.isascii() else "?"
        out.append(char if char.isprintable() or char == "\n" else "?")
    return "".join(out)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


class _Doc(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 8, f"fairgov audit report - page {self.page_no()}", align="C")
        self.set_text_color(0, 0, 0)

    def heading(self, text: str) -> None:
        if self.get_y() > 250:
            self.add_page()
        self.ln(4)
        self.set_font("Helvetica", "B", 13)
        self.cell(0, 8, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(200, 200, 200)
        self.line(self.l_margin, self.get_y(), self.l_margin + _WIDTH, self.get_y())
        self.ln(2)
        self.set_font("Helvetica", size=9)

    def para(self, text: str, size: float = 9) -> None:
        self.set_font("Helvetica", size=size)
        self.multi_cell(0, 4.6, latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def rows(
        self, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[float]
    ) -> None:
        self.set_font("Helvetica", size=8)
        self.set_draw_color(190, 190, 190)
        self.set_fill_color(255, 255, 255)
        heading = FontFace(emphasis="BOLD", fill_color=(236, 238, 241))
        with self.table(
            col_widths=tuple(widths),
            line_height=4.2,
            text_align="LEFT",
            first_row_as_headings=True,
            headings_style=heading,
        ) as table:
            table.row([latin1(h) for h in headers])
            for row in rows:
                table.row([_cell(v) for v in row])
        self.ln(2)


def _bar_chart(
    pdf: _Doc,
    title: str,
    bars: Sequence[tuple[str, float, float, float, bool]],
    *,
    bound: float | None = None,
    colour: str = "#3b6ea8",
) -> None:
    finite = [v for b in bars for v in b[1:4] if not math.isnan(v) and not math.isinf(v)]
    scale = max([1.0, *finite, *([bound] if bound is not None else [])])
    height = 8 + 6 * len(bars) + 6
    if pdf.get_y() + height > 275:
        pdf.add_page()
    top = pdf.get_y()
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(0, 5, latin1(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left, width = pdf.l_margin + 60, 95.0
    pdf.set_font("Helvetica", size=8)
    for i, (label, value, low, high, small) in enumerate(bars):
        y = top + 7 + 6 * i
        pdf.set_xy(pdf.l_margin, y)
        name = latin1(label if len(label) <= 38 else label[:37] + "...")
        pdf.cell(58, 5, name + (" (small)" if small else ""), align="R")
        if not math.isnan(value):
            pdf.set_fill_color(*_rgb("#9aa5b1" if small else colour))
            pdf.rect(left, y + 0.6, max(0.3, min(value, scale) / scale * width), 3.8, style="F")
        if not (math.isnan(low) or math.isnan(high)):
            pdf.set_draw_color(30, 30, 30)
            x1, x2 = left + low / scale * width, left + min(high, scale) / scale * width
            pdf.line(x1, y + 2.5, x2, y + 2.5)
            pdf.line(x1, y + 1.2, x1, y + 3.8)
            pdf.line(x2, y + 1.2, x2, y + 3.8)
        pdf.set_xy(left + width + 2, y)
        pdf.cell(20, 5, fmt(value))
    if bound is not None:
        bx = left + bound / scale * width
        pdf.set_draw_color(0, 0, 0)
        pdf.set_dash_pattern(dash=1.2, gap=0.8)
        pdf.line(bx, top + 6, bx, top + 8 + 6 * len(bars))
        pdf.set_dash_pattern()
        pdf.set_xy(bx - 15, top + 8 + 6 * len(bars))
        pdf.cell(30, 4, f"bound {fmt(bound)}", align="C")
    pdf.set_xy(pdf.l_margin, top + height)


def _verdict_banner(pdf: _Doc, data: ReportModel) -> None:
    pdf.set_fill_color(*_rgb(VERDICT_COLOURS[data.verdict]))
    pdf.set_text_color(255, 255, 255)
    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 12, f"  Verdict: {data.verdict}", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(
        0,
        5.5,
        latin1(verdict_sentence(data)),
        fill=True,
        align="L",
        padding=(1, 3, 3, 3),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)


def _checks(pdf: _Doc, data: ReportModel) -> None:
    pdf.heading("What was checked")
    checks = data.audit.checks
    if not checks:
        pdf.para("No fairness checks were set.")
        return
    reference = reference_sentence(data)
    if reference is not None:
        pdf.para(latin1(reference))
    rows = [
        [
            f"{check_words(c.threshold)}\n({c.threshold.metric})",
            bound_text(c.threshold),
            fmt(c.value),
            check_ci_text(c),
            c.verdict,
            pair_text(c.pair) + "\n" + REASON_WORDS.get(c.reason, c.reason),
        ]
        for c in checks
    ]
    pdf.rows(
        ["Check", "Bound", "Value", INTERVAL_HEADER, "Verdict", "Worst groups; why"],
        rows,
        (52, 18, 13, 24, 22, 51),
    )
    for c in checks:
        value = c.value if isinstance(c.value, (int, float)) else math.nan
        _bar_chart(
            pdf,
            f"{c.threshold.metric}: {c.verdict}",
            [
                (
                    "measured value",
                    float(value),
                    math.nan if c.ci is None else float(c.ci.low),
                    math.nan if c.ci is None else float(c.ci.high),
                    False,
                )
            ],
            bound=float(c.threshold.bound),
            colour=VERDICT_COLOURS[c.verdict],
        )


def _ll144(pdf: _Doc, data: ReportModel) -> None:
    """The NYC Local Law 144 table of the ``ll144`` preset; nothing without one."""
    if data.ll144 is None:
        return
    pdf.heading("NYC Local Law 144 summary")
    pdf.para(ll144_intro(data.ll144))
    for title, rows in ll144_tables(data.ll144):
        pdf.para(title.capitalize())
        pdf.rows(ll144_headers(data.ll144), rows, (55, 20, 18, 22, 20, 45))


def _group_charts(pdf: _Doc, data: ReportModel) -> None:
    bases = {"selection_rate"}
    for c in data.audit.checks:
        if is_known_metric(c.threshold.metric):
            bases.update(metric_info(c.threshold.metric).bases)
    main = tuple(data.audit.sensitive_features)
    series = [s for s in metric_series(data) if s.metric in bases and s.grouping == main]
    if not series:
        return
    pdf.heading("Measures by group")
    level = percent(float(data.audit.evidence_rule.confidence_level))
    pdf.para(f"Bars: value per group; black whisker: {level} interval; grey: too small to judge.")
    for s in series:
        _bar_chart(pdf, f"{short_base(s.metric).capitalize()} by {' x '.join(s.grouping)}", s.bars)


def _provenance(pdf: _Doc, data: ReportModel) -> None:
    pdf.heading("Provenance")
    pdf.para(
        "The report hash is the sha256 of report.json (not printed inside it); compare it "
        "with the hash anchored on chain."
    )
    ds = data.dataset
    pairs: list[tuple[str, Any]] = [
        ("Run id", data.run_id),
        ("Dataset", ds.name),
        ("Dataset id", ds.dataset_id),
        ("Data file sha256", ds.content_hash),
        ("Manifest hash", ds.manifest_hash),
    ]
    model = {} if data.model is None else data.model.model_dump()
    pairs += [
        (f"Model {k}", model[k])
        for k in ("name", "hash", "estimator", "mitigation")
        if model.get(k)
    ]
    policy = {} if data.policy is None else data.policy.model_dump()
    pairs += [(f"Policy {k.replace('_', ' ')}", v) for k, v in sorted(policy.items())]
    pairs += [(f"Seed {k}", v) for k, v in sorted(data.seeds.items())]
    pairs += sorted(data.environment.items())
    for key, value in pairs:
        pdf.set_font("Helvetica", "B", 8)
        pdf.cell(40, 4.6, latin1(key))
        pdf.set_font("Courier", size=8)
        pdf.multi_cell(
            0, 4.6, latin1("n/a" if value is None else value), new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )


def render_pdf(report: Report) -> bytes:
    """Render a report as a PDF (A4; core fonts, so non-Latin-1 text is transliterated).

    Examples
    --------
    >>> render_pdf(report)[:5]  # doctest: +SKIP
    b'%PDF-'
    """
    data = report.model
    pdf = _Doc(format="A4")
    pdf.set_creation_date(_PDF_DATE)
    pdf.set_title(latin1(f"Fairness audit {data.verdict}: {data.dataset.name}"))
    pdf.set_creator("fairgov")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=16)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, "Fairness audit report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    subject = (data.model.name if data.model is not None else None) or data.dataset.name
    kind = str(data.kind).replace("_", " ")
    pdf.para(f"{subject}: {data.dataset.rows} rows, {kind}", 10)
    pdf.ln(2)
    _verdict_banner(pdf, data)
    _checks(pdf, data)
    notes = caveats(data)
    if notes:
        pdf.heading("Warnings")
        for note in notes:
            pdf.para(f"- {note}")
    pdf.heading("Group sizes")
    pdf.rows(
        ["Grouping", "Group", "Rows", "Actual positives", "Too small to judge"],
        [
            [r.grouping, r.group, str(r.count), fmt(r.positives), "yes" if r.small else "no"]
            for r in group_rows(data)
        ],
        (35, 70, 20, 30, 25),
    )
    _ll144(pdf, data)
    _group_charts(pdf, data)
    _provenance(pdf, data)
    return bytes(pdf.output())
