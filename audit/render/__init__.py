"""Renderings of an audit report: HTML, CSV, PDF and a Markdown model card.

Every rendering is made from :attr:`audit.report.Report.model`; nothing flows back into the
report, so its hash covers all that the renderings show.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from audit.render._common import (
    REASON_WORDS,
    VERDICT_COLOURS,
    fmt,
    left_out_note,
    percent,
    reference_sentence,
    reference_words,
    verdict_sentence,
)
from audit.render._csv import render_csv
from audit.render._html import render_html
from audit.render._ll144 import render_ll144_csv
from audit.render._model_card import render_model_card
from audit.render._pdf import render_pdf
from audit.report import Report

REPORT_FILES = ("report.html", "report.csv", "report.pdf", "model-card.md", "report.json")
LL144_FILE = "ll144.csv"
"""Written beside the report files when the report has an LL144 table (the ``ll144`` preset)."""

__all__ = [
    "LL144_FILE",
    "REASON_WORDS",
    "REPORT_FILES",
    "VERDICT_COLOURS",
    "fmt",
    "left_out_note",
    "percent",
    "reference_sentence",
    "reference_words",
    "render_all",
    "render_csv",
    "render_html",
    "render_model_card",
    "render_pdf",
    "verdict_sentence",
]


def _contents(report: Report) -> dict[str, bytes]:
    contents = {
        "report.html": render_html(report).encode("utf-8"),
        "report.csv": render_csv(report).encode("utf-8"),
        "report.pdf": render_pdf(report),
        "model-card.md": render_model_card(report).encode("utf-8"),
    }
    ll144 = render_ll144_csv(report.model)
    if ll144 is not None:
        contents[LL144_FILE] = ll144.encode("utf-8")
    contents["report.json"] = report.canonical_bytes()
    return contents


def render_all(report: Report, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write report.json (the canonical bytes) and every rendering into ``out_dir``.

    Files are written into a temporary directory next to ``out_dir`` and then renamed into
    place (``report.json`` last), so a crash never leaves a half-written file. Existing files
    of these names are replaced; other files in ``out_dir`` are left alone.

    Returns
    -------
    dict of str to Path
        ``{"report.json": Path(...), "report.html": ..., ...}``; with an LL144 table also
        ``"ll144.csv"``.

    Examples
    --------
    >>> paths = render_all(report, "fairgov-report")  # doctest: +SKIP
    >>> paths["report.json"].read_bytes() == report.canonical_bytes()  # doctest: +SKIP
    True
    """
    target = Path(out_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    contents = _contents(report)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for name, payload in contents.items():
            with (staging / name).open("wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
        target.mkdir(exist_ok=True)
        for name in contents:  # report.json last
            os.replace(staging / name, target / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {name: target / name for name in contents}
