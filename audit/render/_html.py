"""A self-contained HTML page of a report, readable by people who do not write code."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from audit.db_models import RunKind
from audit.render._common import (
    INTERVAL_HEADER,
    REASON_WORDS,
    VERDICT_COLOURS,
    VERDICT_TINTS,
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
    verdict_sentence,
)
from audit.render._ll144 import ll144_section
from audit.render._svg import check_bar, group_bars
from audit.render._sweep import sweep_charts
from audit.report import Report
from audit.report_model import ExternalModelInfo, ReportModel

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d1d1d;
background:#fff;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:0 24px 48px}
.banner{padding:22px 32px;color:#fff}
.banner h1{margin:0;font-size:34px;letter-spacing:.5px}
.banner p{margin:6px 0 0;font-size:18px;max-width:1000px}
h2{border-bottom:2px solid #e3e3e3;padding-bottom:4px;margin-top:34px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}
th,td{border:1px solid #d6d6d6;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#f3f4f6}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:bold}
.code{font-family:ui-monospace,Consolas,monospace;font-size:12px;color:#555;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:18px 30px}
.note{background:#fff4e0;border-left:4px solid #b26a00;padding:8px 12px;margin:6px 0}
.muted{color:#555}
dl{display:grid;grid-template-columns:220px 1fr;gap:4px 12px;font-size:14px}
dt{font-weight:bold}dd{margin:0}
"""


def _e(value: Any) -> str:
    return escape(str(value))


def _badge(verdict: str) -> str:
    return f'<span class="badge" style="background:{VERDICT_COLOURS[verdict]}">{_e(verdict)}</span>'


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value: Any, *, num: bool = False) -> str:
    return f'<td class="num">{_e(value)}</td>' if num else f"<td>{_e(value)}</td>"


def _banner(data: ReportModel) -> str:
    verdict = data.verdict
    subject = (data.model.name if data.model is not None else None) or data.dataset.name
    # A re-audit audited a model too (one trained earlier), not a predictions file.
    what = "predictions" if data.kind == RunKind.PREDICTIONS else "model"
    return (
        f'<header class="banner" style="background:{VERDICT_COLOURS[verdict]}">'
        f"<h1>Fairness audit: {_e(verdict)}</h1>"
        f"<p>{_e(verdict_sentence(data))}</p>"
        f'<p style="font-size:15px;opacity:.95">Audited {what}: {_e(subject)}; '
        f"{_e(data.dataset.rows)} rows.</p></header>"
    )


def _checks(data: ReportModel) -> str:
    checks = data.audit.checks
    if not checks:
        return "<h2>What was checked</h2><p>No fairness checks were set.</p>"
    rows = []
    for c in checks:
        t = c.threshold
        rows.append(
            [
                f'<td>{_e(check_words(t))}<br><span class="code">{_e(t.metric)}</span></td>',
                _td(bound_text(t)),
                _td(fmt(c.value), num=True),
                _td(check_ci_text(c), num=True),
                f"<td>{_badge(c.verdict)}</td>",
                _td(pair_text(c.pair)),
                _td(REASON_WORDS.get(c.reason, c.reason)),
            ]
        )
    table = _table(
        [
            "Check",
            "Bound",
            "Value",
            INTERVAL_HEADER,
            "Verdict",
            "Worst groups (size): value",
            "Why",
        ],
        rows,
    )
    charts = "".join(f"<figure>{check_bar(c)}</figure>" for c in checks)
    reference = reference_sentence(data)
    return (
        "<h2>What was checked</h2>"
        '<p class="muted">Each check compares groups on one measure and has a bound that the '
        "audit requires. The interval shows how much the value could move by chance.</p>"
        + ("" if reference is None else f"<p>{_e(reference)}</p>")
        + f'{table}<div class="charts">{charts}</div>'
    )


def _warnings(data: ReportModel) -> str:
    items = caveats(data)
    if not items:
        return ""
    body = "".join(f'<div class="note">{_e(item)}</div>' for item in items)
    return f"<h2>Warnings</h2>{body}"


def _groups(data: ReportModel) -> str:
    rows = [
        [
            _td(r.grouping),
            _td(r.group),
            _td(r.count, num=True),
            _td("n/a" if r.positives is None else r.positives, num=True),
            _td("n/a" if r.predicted_positives is None else r.predicted_positives, num=True),
            _td("too small to judge" if r.small else "ok"),
        ]
        for r in group_rows(data)
    ]
    min_size = data.audit.evidence_rule.min_group_size
    return (
        "<h2>Group sizes</h2>"
        f'<p class="muted">Groups with fewer than {_e(min_size)} rows are too small to judge.</p>'
        + _table(
            ["Grouping", "Group", "Rows", "Actual positives", "Predicted positives", "Size"], rows
        )
    )


def _metric_charts(data: ReportModel) -> str:
    series = metric_series(data)
    main = tuple(data.audit.sensitive_features)
    first = "".join(
        f"<figure>{group_bars(s.title, s.bars)}</figure>" for s in series if s.grouping == main
    )
    rest = "".join(
        f"<figure>{group_bars(s.title, s.bars)}</figure>" for s in series if s.grouping != main
    )
    more = (
        f'<details><summary>Each sensitive feature on its own</summary><div class="charts">'
        f"{rest}</div></details>"
        if rest
        else ""
    )
    level = percent(float(data.audit.evidence_rule.confidence_level))
    return (
        "<h2>Measures by group</h2>"
        f'<p class="muted">Bars are the value in each group; the black whisker is its {level} '
        "interval. Grey bars are groups too small to judge.</p>"
        f'<div class="charts">{first}</div>{more}'
    )


def _cutoff_sweep(data: ReportModel) -> str:
    sweep = data.audit.cutoff_sweep
    if sweep is None:
        return ""
    return (
        "<h2>Rates across cutoffs</h2>"
        '<p class="muted">Each line is one group: the share it would select, and its true and '
        "false positive rates, if a score at or above the cutoff were a positive prediction.</p>"
        f'<div class="charts">{sweep_charts(sweep)}</div>'
    )


def _dl(pairs: Iterable[tuple[str, Any]]) -> str:
    items = "".join(
        f'<dt>{_e(k)}</dt><dd class="code">{_e("n/a" if v is None else v)}</dd>' for k, v in pairs
    )
    return f"<dl>{items}</dl>"


def _provenance(data: ReportModel) -> str:
    ds = data.dataset
    parts = [
        "<h2>Provenance</h2>",
        '<p class="muted">Identifiers to check this report against the data, the model and the '
        "on-chain policy. The report hash is the sha256 of report.json; it is not printed here "
        "because a file cannot contain its own hash. Compare it with the hash anchored on "
        "chain.</p>",
        _dl(
            [
                ("Report kind", data.kind),
                ("Run id", data.run_id),
                ("Dataset", ds.name),
                ("Dataset id", ds.dataset_id),
                ("Data file sha256", ds.content_hash),
                ("Manifest hash", ds.manifest_hash),
                ("Label column", ds.label),
                ("Positive label", ds.positive_label),
                ("Sensitive features", ", ".join(ds.sensitive_features)),
            ]
        ),
    ]
    model = data.model
    if model is not None:
        parts.append("<h3>Model</h3>")
        parts.append(
            _dl([(k, getattr(model, k)) for k in ("name", "hash", "estimator", "mitigation")])
        )
        if model.external is not None:
            parts.append(_external_html(model.external))
    policy = data.policy
    if policy is not None:
        parts.append("<h3>Policy snapshot</h3>")
        parts.append(_dl(sorted(policy.model_dump().items())))
    config = data.audit.config
    parts.append("<h3>Method, seeds and software</h3>")
    parts.append(
        _dl(
            [
                *((f"audit {k}", v) for k, v in sorted(config.items())),
                *((f"seed {k}", v) for k, v in sorted(data.seeds.items())),
                *sorted(data.environment.items()),
            ]
        )
    )
    return "".join(parts)


def _federation(data: ReportModel) -> str:
    """Where the data lived (#16): the voted strategy and privacy budget, the nodes whose
    counts the audit sums, the nodes refused and the rounds; empty for a central run."""
    fed = data.federation
    if fed is None:
        return ""
    noise = "none: the counts are exact" if fed.epsilon is None else f"epsilon {fed.epsilon}"
    nodes = _table(
        ["Provider", "Dataset id", "Data sha256", "Training rows", "Held-out rows", "Bytes sent"],
        (
            [
                _td(n.provider),
                _td(n.dataset_id),
                _td(n.content_hash),
                _td(n.train_rows, num=True),
                _td(n.heldout_rows, num=True),
                _td(n.bytes_sent, num=True),
            ]
            for n in fed.nodes
        ),
    )
    refused = (
        _table(
            ["Node", "Dataset id", "Code", "Reason"],
            (
                [_td(r.node_id), _td(r.dataset_id or "n/a"), _td(r.code), _td(r.message)]
                for r in fed.refused
            ),
        )
        if fed.refused
        else "<p>No node was refused.</p>"
    )
    return (
        "<h2>Where the data lived</h2>"
        '<p class="muted">Trained and audited where the data lives: each node sent model '
        "updates and per-group counts, never rows. The audit is computed from the sum of the "
        "counts of exactly the nodes listed here.</p>"
        + _dl(
            [
                ("Aggregation", fed.aggregation),
                ("Privacy noise on the counts", noise),
                ("Fewest nodes allowed", fed.min_nodes),
                ("Training rounds", len(fed.rounds)),
            ]
        )
        + "<h3>Nodes whose counts were summed</h3>"
        + nodes
        + "<h3>Nodes refused</h3>"
        + refused
    )


def render_html(report: Report) -> str:
    """Render a report as one self-contained HTML page (inline CSS and SVG, no scripts).

    Examples
    --------
    >>> html = render_html(report)  # doctest: +SKIP
    >>> "<svg" in html  # doctest: +SKIP
    True
    """
    data = report.model
    verdict = data.verdict
    title = f"Fairness audit {verdict}: {data.dataset.name}"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{_CSS}"
        f"body{{background:linear-gradient({VERDICT_TINTS[verdict]},#fff 260px)}}</style>"
        f"</head><body>{_banner(data)}<main>"
        f"{_checks(data)}{_warnings(data)}{ll144_section(data)}{_groups(data)}"
        f"{_metric_charts(data)}{_cutoff_sweep(data)}"
        f"{_federation(data)}{_provenance(data)}</main></body></html>\n"
    )


def _external_html(info: ExternalModelInfo) -> str:
    """What fairgov verified about an external model, and what it could not (#17)."""
    verified = "".join(f"<li>{_e(v)}</li>" for v in info.verified)
    unverified = "".join(f"<li>{_e(v)}</li>" for v in info.not_verified)
    return (
        '<p class="muted">An external ONNX model: fairgov did not train this model. It scored '
        "the file with onnxruntime on the voted data and audited those predictions; it cannot "
        "vouch for how or on what the model was trained.</p>"
        + _dl(
            [
                ("exporter (as the file states)", info.producer),
                ("signature", info.signature),
                ("inputs given", ", ".join(info.inputs)),
                ("scores read", info.output),
                ("predictions from", info.predictions),
                ("cutoff", info.cutoff),
                ("rows scored", info.scored_rows),
            ]
        )
        + f"<h4>Verified by fairgov</h4><ul>{verified}</ul>"
        + f"<h4>Not verified</h4><ul>{unverified}</ul>"
    )
