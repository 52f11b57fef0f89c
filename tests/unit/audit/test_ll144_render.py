"""The ll144 and four_fifths presets of a predictions audit: checks, report block, HTML, CSV."""

from __future__ import annotations

import csv
import io
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.predictions import PredictionsAudit, audit_predictions_file
from audit.render import LL144_FILE, REPORT_FILES, render_all, render_html, render_pdf
from audit.report import Report

EVIL = "<b>=1+1</b>"


@pytest.fixture(scope="module")
def predictions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(11)
    n = 4000
    sex = rng.choice(["F", "M"], n)
    race = rng.choice(["A", "B", EVIL], n, p=[0.6, 0.39, 0.01])  # EVIL: 1 %, excluded
    y = rng.integers(0, 2, n)
    p = (rng.random(n) < np.where(sex == "F", 0.3, 0.5)).astype(int)
    path = tmp_path_factory.mktemp("ll144") / "preds.csv"
    pd.DataFrame({"y": y, "p": p, "sex": sex, "race": race}).to_csv(path, index=False)
    return path


def _audit(path: Path, preset: str | None) -> PredictionsAudit:
    return audit_predictions_file(
        path,
        label="y",
        prediction="p",
        sensitive=["sex", "race"],
        n_boot=0,
        preset=preset,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def ll144(predictions: Path) -> PredictionsAudit:
    return _audit(predictions, "ll144")


def test_ll144_preset_adds_four_fifths_checks_on_each_feature_and_intersection(
    ll144: PredictionsAudit,
) -> None:
    checks = ll144.report.model.audit.checks
    assert [(c.threshold.metric, c.threshold.features) for c in checks] == [
        ("disparate_impact", None),
        ("disparate_impact", ["sex"]),
        ("disparate_impact", ["race"]),
    ]
    assert all(c.threshold.method == "to_reference" for c in checks)
    assert not ll144.used_default_thresholds
    sex = checks[1]
    assert sex.verdict == "FAIL"  # 0.3 / 0.5 = 0.6, far below 0.8 on 2000 rows a group
    assert sex.pair is not None
    assert sex.pair[1].group == {"sex": "M"}  # the reference: the most selected group


def test_report_block_matches_the_rows(predictions: Path, ll144: PredictionsAudit) -> None:
    frame = pd.read_csv(predictions)
    block = ll144.report.model.ll144
    assert block is not None
    assert block.applicants == len(frame)
    rows = {(tuple(r.grouping), tuple(sorted(r.category.items()))): r for r in block.rows}
    female = rows[(("sex",), (("sex", "F"),))]
    assert female.applicants == (frame.sex == "F").sum()
    assert female.selected == frame.p[frame.sex == "F"].sum()
    males = frame.p[frame.sex == "M"].mean()
    assert female.impact_ratio == pytest.approx(frame.p[frame.sex == "F"].mean() / males)
    evil = rows[(("race",), (("race", EVIL),))]
    assert evil.excluded
    assert evil.impact_ratio is None
    assert len([r for r in block.rows if r.grouping == ["sex", "race"]]) == 6
    again = Report.from_bytes(ll144.report.canonical_bytes())
    assert again.model.ll144 == block


def test_html_section_and_csv_file(ll144: PredictionsAudit, tmp_path: Path) -> None:
    html = render_html(ll144.report)
    assert "NYC Local Law 144 summary" in html
    assert EVIL not in html
    assert "&lt;b&gt;=1+1&lt;/b&gt;" in html
    assert "excluded from the ratios: under 2.0% of the data" in html
    assert "below four-fifths" in html
    paths = render_all(ll144.report, tmp_path / "out")
    assert set(paths) == {*REPORT_FILES, LL144_FILE}
    rows = list(csv.DictReader(io.StringIO(paths[LL144_FILE].read_text())))
    block = ll144.report.model.ll144
    assert block is not None
    assert len(rows) == len(block.rows)
    evil = next(r for r in rows if EVIL in r["category"])
    assert evil["category"] == f"race={EVIL}"
    assert (evil["excluded"], evil["impact_ratio"]) == ("yes", "")
    assert all(r["category"][0] not in "=+-@" for r in rows)
    assert float(rows[0]["rate"]) == block.rows[0].rate


def test_four_fifths_preset_has_no_table_and_a_distinct_run(
    predictions: Path, ll144: PredictionsAudit, tmp_path: Path
) -> None:
    four = _audit(predictions, "four_fifths")
    assert four.report.model.ll144 is None
    assert [c.threshold.metric for c in four.report.model.audit.checks] == ["disparate_impact"] * 3
    assert four.report.model.run_id != ll144.report.model.run_id
    assert set(render_all(four.report, tmp_path / "out")) == set(REPORT_FILES)
    plain = _audit(predictions, None)
    assert plain.used_default_thresholds
    assert plain.report.model.ll144 is None


def _pdf_text(pdf: bytes) -> str:
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1"))
    return "".join(chunks)


def test_pdf_has_the_table_only_with_the_preset(predictions: Path, ll144: PredictionsAudit) -> None:
    text = _pdf_text(render_pdf(ll144.report))
    assert "NYC Local Law 144 summary" in text
    assert "Impact ratio" in text
    plain = _pdf_text(render_pdf(_audit(predictions, "four_fifths").report))
    assert "Local Law 144" not in plain


def test_unknown_categories_are_reported_in_every_rendering(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 2000
    sex = rng.choice(["F", "M", "Unknown"], n, p=[0.45, 0.45, 0.1])
    p = (rng.random(n) < 0.4).astype(int)
    path = tmp_path / "preds.csv"
    pd.DataFrame({"y": p, "p": p, "sex": sex}).to_csv(path, index=False)
    audit = audit_predictions_file(
        path, label="y", prediction="p", sensitive=["sex"], n_boot=0, preset="ll144"
    )
    table = audit.report.model.ll144
    assert table is not None
    assert [r.category for r in table.rows] == [{"sex": "F"}, {"sex": "M"}]
    unknown = int((sex == "Unknown").sum())
    assert [(u.grouping, u.applicants) for u in table.unknown] == [(["sex"], unknown)]
    html = render_html(audit.report)
    assert f"{unknown} of unknown sex" in html
    assert "unknown category" in html
    paths = render_all(audit.report, tmp_path / "out")
    rows = list(csv.reader(io.StringIO(paths[LL144_FILE].read_text())))
    assert rows[-1][:4] == ["sex", "unknown category", str(unknown), str(p[sex == "Unknown"].sum())]
    assert rows[-1][-1] == "unknown"
