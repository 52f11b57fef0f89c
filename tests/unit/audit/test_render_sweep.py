"""The HTML report's cutoff-sweep charts."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from audit.render import render_all, render_csv, render_html
from audit.report import DatasetInfo, Report, build_report
from bias_checks import audit_predictions

EVIL = "<script>alert('x')</script>"


def _report(with_scores: bool) -> Report:
    rng = np.random.default_rng(3)
    n = 300
    group = rng.choice([EVIL, "b", "c"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    if with_scores:
        audit = audit_predictions(
            y, score, sensitive_features={"group": group}, cutoff=0.5, n_boot=0
        )
    else:
        audit = audit_predictions(
            y, (score >= 0.5).astype(int), sensitive_features={"group": group}, n_boot=0
        )
    return build_report(
        kind="predictions",
        run_id="0x" + "cd" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="scores.csv",
            content_hash="0x" + "12" * 32,
            rows=n,
            label="y",
            sensitive_features=["group"],
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )


def test_report_with_scores_draws_a_line_per_group_for_each_rate() -> None:
    report = _report(with_scores=True)
    assert Report.from_bytes(report.canonical_bytes()).hash == report.hash
    html = render_html(report)
    assert "Rates across cutoffs" in html
    section = html[html.index("Rates across cutoffs") :]
    charts = re.findall(r"<svg.*?</svg>", section)[:3]
    assert [re.search(r"<title>(.*?)</title>", c).group(1) for c in charts] == [  # type: ignore[union-attr]
        "Selection rate",
        "True positive rate",
        "False positive rate",
    ]
    for chart in charts:
        assert chart.count("<path") == 3
        assert EVIL not in chart
    assert "Brier score by group" in html


def test_report_without_scores_has_no_sweep() -> None:
    html = render_html(_report(with_scores=False))
    assert "Rates across cutoffs" not in html


def test_every_rendering_takes_a_report_with_scores(tmp_path: Path) -> None:
    report = _report(with_scores=True)
    written = render_all(report, tmp_path / "out")
    assert {"report.html", "report.pdf", "report.json"} <= set(written)
    assert all(path.stat().st_size > 0 for path in written.values())
    assert "roc_auc" in render_csv(report)
