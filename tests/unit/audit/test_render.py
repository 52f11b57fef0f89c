"""Renderings made from the report: HTML, CSV, PDF, model card, and writing them all."""

from __future__ import annotations

import csv
import io
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from audit.render import (
    REPORT_FILES,
    left_out_note,
    render_all,
    render_csv,
    render_html,
    render_model_card,
    render_pdf,
)
from audit.render._pdf import latin1
from audit.report import DatasetInfo, Report, build_report
from bias_checks import AuditResult, EvidenceRule, Threshold, audit_predictions
from tests.unit.audit.test_report import POLICY

EVIL = "<script>alert('x')</script>"
CHECKED = ("demographic_parity_difference", "equalized_odds_difference", "accuracy")


@pytest.fixture(scope="module")
def report() -> Report:
    rng = np.random.default_rng(5)
    n = 300
    group = rng.choice([EVIL, "Zoë", "b"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(group == "b", rng.random(n) < 0.8, rng.random(n) < 0.3).astype(int)
    audit = audit_predictions(
        y,
        pred,
        sensitive_features={"group": group},
        thresholds=[
            Threshold("demographic_parity_difference", 0.1),
            Threshold("equalized_odds_difference", 0.1),
            Threshold("accuracy", 0.4),
        ],
        n_boot=40,
    )
    return _predictions_report(audit, rows=n, sensitive="group")


def _predictions_report(audit: AuditResult, *, rows: int, sensitive: str) -> Report:
    return build_report(
        kind="predictions",
        run_id="0x" + "cd" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="preds.csv",
            content_hash="0x" + "12" * 32,
            rows=rows,
            label="y",
            sensitive_features=[sensitive],
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )


def test_a_terminal_note_names_a_few_left_out_groups_and_counts_the_rest():
    rng = np.random.default_rng(6)
    group = np.concatenate([rng.choice(["a", "b"], 400), [f"tiny{i:02d}" for i in range(20)]])
    y = rng.integers(0, 2, group.size)
    audit = audit_predictions(
        y,
        rng.integers(0, 2, group.size),
        sensitive_features={"g": group},
        thresholds=[Threshold("demographic_parity_difference", 0.1)],
        n_boot=0,
    )
    (check,) = _predictions_report(audit, rows=group.size, sensitive="g").model.audit.checks
    full = left_out_note(check)
    short = left_out_note(check, limit=3)
    assert full is not None
    assert short is not None
    assert full.count("(n=1)") == 20
    assert short.count("(n=1)") == 3
    assert "g=tiny00 (n=1); g=tiny01 (n=1); g=tiny02 (n=1) and 17 more groups" in short
    assert short.endswith(full.partition("(n=1): ")[2])


def test_a_pdf_shows_a_group_name_of_any_length():
    # Regression (review, session 22): a 2,000-character group name made fpdf2 refuse the
    # table row ("too high to be rendered on a single page"), and the audit was lost.
    rng = np.random.default_rng(7)
    group = rng.choice(["m" * 2000, "f"], 300)
    audit = audit_predictions(
        rng.integers(0, 2, 300),
        rng.integers(0, 2, 300),
        sensitive_features={"sex": group},
        thresholds=[Threshold("demographic_parity_difference", 0.1)],
        n_boot=0,
    )
    pdf = render_pdf(_predictions_report(audit, rows=300, sensitive="sex"))
    assert pdf.startswith(b"%PDF")


def test_html_shows_verdict_checks_and_charts(report: Report):
    html = render_html(report)
    assert "Fairness audit: FAIL" in html
    for metric in CHECKED:
        assert metric in html
    assert html.count("<svg") >= len(CHECKED) + 1
    assert "<rect" in html
    assert "0x" + "12" * 32 in html
    assert "Zoë" in html


def test_html_is_self_contained(report: Report):
    html = render_html(report)
    assert not re.search(r"https?://", html)
    assert "<script" not in html.replace("&lt;script", "")
    assert "<link" not in html


def test_html_escapes_group_names(report: Report):
    html = render_html(report)
    assert EVIL not in html
    assert "&lt;script&gt;" in html


def test_csv_has_one_row_per_group_and_metric(report: Report):
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    data = report.data
    assert len(rows) == len(data["audit"]["metrics"])
    groups = {(r["grouping"], r["group"]) for r in rows}
    metrics = {r["metric"] for r in rows}
    assert len(groups) == 3
    assert len(rows) == len(groups) * len(metrics)
    selection = [r for r in rows if r["metric"] == "selection_rate"]
    assert {r["group"] for r in selection} == {f"group={EVIL}", "group=Zoë", "group=b"}
    assert sum(int(r["n"]) for r in selection) == 300
    assert all(0.0 <= float(r["value"]) <= 1.0 for r in selection)
    assert all(float(r["ci_low"]) <= float(r["ci_high"]) for r in selection)


def test_csv_neutralises_spreadsheet_formulas():
    from audit.render._csv import csv_text

    assert csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_text("plain") == "plain"


def _pdf_text(pdf: bytes) -> str:
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            chunks.append(stream.decode("latin-1"))
    return "".join(chunks)


def test_pdf_is_a_pdf_that_shows_the_verdict(report: Report):
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    text = _pdf_text(pdf)
    assert "Verdict: FAIL" in text
    assert "demographic_parity_difference" in text
    assert render_pdf(report) == pdf


@pytest.mark.parametrize(
    ("text", "expected"),
    [("a \u2264 b", "a <= b"), ("Zoë", "Zoë"), ("Łódź", "Lódz"), ("数据", "??")],
)
def test_pdf_text_is_transliterated_to_latin1(text: str, expected: str):
    assert latin1(text) == expected


def test_model_card_mentions_each_check_and_marks_placeholders(report: Report):
    card = render_model_card(report)
    for metric in CHECKED:
        assert metric in card
    assert "PLACEHOLDER" in card
    assert "Fairness verdict: FAIL" in card
    assert EVIL not in card


def test_render_all_writes_every_file(report: Report, tmp_path: Path):
    out = tmp_path / "reports" / "run-1"
    paths = render_all(report, out)
    assert set(paths) == set(REPORT_FILES)
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    assert paths["report.json"].read_bytes() == report.canonical_bytes()
    assert Report.from_bytes(paths["report.json"].read_bytes()).hash == report.hash
    assert [p.name for p in out.parent.iterdir()] == ["run-1"]


def test_render_all_leaves_old_files_when_rendering_fails(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "out"
    render_all(report, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(_: Report) -> bytes:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("audit.render.render_pdf", broken)
    with pytest.raises(RuntimeError):
        render_all(report, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_every_rendering_states_the_evidence_rule_and_what_would_decide(report: Report):
    rule = "Evidence rule: intervals are at 95% confidence; a group"
    inconclusive = [c for c in report.data["audit"]["checks"] if c["verdict"] == "INCONCLUSIVE"]
    assert inconclusive, "the fixture has an undecided check"
    needed = f"{inconclusive[0]['rows_needed']:,} rows in the smallest judged group"
    for text in (render_html(report), render_model_card(report)):
        assert rule in text
        assert needed in text
    assert "Groups with fewer than 30 rows" in render_html(report)
    pdf = render_pdf(report)
    streams = re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S)
    text = b"".join(zlib.decompress(s.strip()) for s in streams if s.strip().startswith(b"x"))
    assert b"Evidence rule" in text


def test_each_interval_names_the_confidence_it_was_judged_at():
    # Regression: "95% interval" was hard-coded in the HTML, model card and PDF, so a voted
    # 99% rule (or a per-metric override) was shown under the wrong level.
    rng = np.random.default_rng(1)
    n = 600
    group = rng.choice(["a", "b"], n)
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    audit = audit_predictions(
        y,
        pred,
        sensitive_features={"group": group},
        thresholds=[
            Threshold("demographic_parity_difference", 0.2),
            Threshold("equal_opportunity_difference", 0.2, evidence=EvidenceRule()),
        ],
        evidence=EvidenceRule(confidence_level=0.99),
        n_boot=0,
    )
    report = build_report(
        kind="predictions",
        run_id="0x" + "ab" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="p.csv", content_hash="0x" + "12" * 32, rows=n, label="y",
            sensitive_features=["group"],
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )  # fmt: skip
    checks = report.data["audit"]["checks"]
    own = [f"{c['ci']['high']:.3f} (99%)" for c in checks[:1]]
    own += [f"{c['ci']['high']:.3f} (95%)" for c in checks[1:]]
    rule = "intervals are at 99% confidence (checks under their own voted rule: "
    rule += "equal_opportunity_difference at 95%)"
    for text in (render_html(report), render_model_card(report)):
        assert "95% interval" not in text
        assert rule in text
        for cell in own:
            assert cell in text
    assert b"95% interval" not in _pdf_text(render_pdf(report)).encode()


def test_a_federated_report_says_where_the_data_lived(report: Report):
    from audit.report_model import (
        FederatedNodeInfo,
        FederationInfo,
        NodeRefusalInfo,
        RoundInfo,
    )

    federation = FederationInfo(
        aggregation="fedmedian",
        trim_beta="0.200000",
        krum_f=0,
        epsilon="0.500000",
        min_nodes=3,
        nodes=[
            FederatedNodeInfo(
                node_id=7,
                provider="0x" + "ab" * 20,
                dataset_id="0x" + "01" * 32,
                content_hash="0x" + "02" * 32,
                train_rows=225,
                heldout_rows=75,
                bytes_sent=4015,
            )
        ],
        refused=[
            NodeRefusalInfo(
                node_id=9, dataset_id="0x" + "03" * 32, code="dataset_hash_mismatch", message=EVIL
            )
        ],
        rounds=[RoundInfo(round=1, node_ids=[7])],
    )
    federated = build_report(
        kind="training_run",
        run_id=report.run_id,
        audit=audit_predictions(
            [0, 1, 1, 0], [0, 1, 0, 0], sensitive_features=["a", "a", "b", "b"]
        ),
        model=None,
        dataset=report.model.dataset,
        policy=None,
        seeds={"bootstrap": 0},
        federation=federation,
    )
    assert federated.data["federation"]["nodes"][0]["bytes_sent"] == 4015
    html = render_html(federated)
    assert "Where the data lived" in html
    assert "fedmedian" in html
    assert "epsilon 0.500000" in html
    assert "dataset_hash_mismatch" in html
    assert EVIL not in html  # the node's reason is escaped like every other value
    assert "Where the data lived" not in render_html(report)
    card = render_model_card(federated)
    assert "**Federated**: fedmedian over 1 nodes, 1 rounds, noise at epsilon 0.500000" in card


def _governed(reference: object) -> Report:
    rng = np.random.default_rng(2)
    group = rng.choice(["a", "b"], 400)
    pred = np.where(group == "b", rng.random(400) < 0.7, rng.random(400) < 0.4).astype(int)
    audit = audit_predictions(
        rng.integers(0, 2, 400),
        pred,
        sensitive_features={"group": group},
        thresholds=[Threshold("disparate_impact", 0.8, direction="lower")],
        reference_group=reference,  # type: ignore[arg-type]
        n_boot=0,
    )
    return build_report(
        kind="training_run",
        run_id="0x" + "ab" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="loans",
            content_hash="0x" + "12" * 32,
            rows=400,
            label="y",
            sensitive_features=["group"],
        ),
        policy=POLICY,
        seeds={"bootstrap": 0},
    )


def test_a_governed_report_names_the_voted_privileged_group_in_every_rendering() -> None:
    named = _governed({"group": "b"})
    sentence = "privileged group the voted dataset manifest names: group=b."
    assert sentence in render_html(named)
    assert sentence in render_model_card(named)
    assert "Directional measures" in _pdf_text(render_pdf(named))
    largest = _governed("majority")  # no named group: rendered as before, no sentence
    assert "voted dataset manifest" not in render_html(largest)
    assert "voted dataset manifest" not in render_model_card(largest)
    assert "Directional measures" not in _pdf_text(render_pdf(largest))
