"""A Markdown model card made from a report."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from audit.render._common import (
    INTERVAL_HEADER,
    REASON_WORDS,
    bound_text,
    caveats,
    check_ci_text,
    check_words,
    fmt,
    group_rows,
    pair_text,
    reference_sentence,
    verdict_sentence,
)
from audit.report import Report
from audit.report_model import ReportModel

PLACEHOLDER = "> **PLACEHOLDER, to be written by the model owner:**"


def _md(value: Any) -> str:
    text = "n/a" if value is None else str(value)
    for char, repl in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, repl)
    return " ".join(text.split())


def _table(headers: list[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return lines


def _model_section(data: ReportModel) -> list[str]:
    model = data.model
    if model is None:
        return [
            "## Model details",
            "",
            "Third-party predictions were audited; fairgov did not train or see the model.",
        ]
    lines = ["## Model details", ""]
    lines += [
        f"- **{k}**: {_md(getattr(model, k))}" for k in ("name", "hash", "estimator", "mitigation")
    ]
    external = model.external
    if external is not None:
        lines += [
            "",
            "An external ONNX model: fairgov did not train this model. It scored the file "
            "with onnxruntime on the voted data; it cannot vouch for how or on what the model "
            "was trained.",
            "",
            *(f"- verified: {_md(v)}" for v in external.verified),
            *(f"- not verified: {_md(v)}" for v in external.not_verified),
        ]
    policy = data.policy
    if policy is not None:
        lines.append(
            f"- **Policy**: version {_md(policy.version)} of {_md(policy.policy_address)} "
            f"on chain {_md(policy.chain_id)}, block {_md(policy.block_number)}, "
            f"snapshot {_md(policy.snapshot_hash)}"
        )
    return lines


def _federated_lines(data: ReportModel) -> list[str]:
    fed = data.federation
    if fed is None:
        return []
    noise = "exact counts" if fed.epsilon is None else f"noise at epsilon {fed.epsilon}"
    return [
        f"- **Federated**: {_md(fed.aggregation)} over {len(fed.nodes)} nodes, "
        f"{len(fed.rounds)} rounds, {noise}; {len(fed.refused)} node(s) refused. "
        "No rows left their owners: each node sent model updates and per-group counts."
    ]


def render_model_card(report: Report) -> str:
    """Render a Markdown model card: details, intended use, data, fairness evaluation, caveats.

    The intended-use section is placeholder text, clearly marked, for the owner to write.

    Examples
    --------
    >>> card = render_model_card(report)  # doctest: +SKIP
    >>> card.startswith("# Model card")  # doctest: +SKIP
    True
    """
    data = report.model
    ds = data.dataset
    title = (data.model.name if data.model is not None else None) or ds.name
    checks = data.audit.checks
    lines = [
        f"# Model card: {_md(title)}",
        "",
        f"**Fairness verdict: {data.verdict}.** {_md(verdict_sentence(data))}",
        "",
    ]
    lines += _model_section(data)
    lines += [
        "",
        "## Intended use",
        "",
        f"{PLACEHOLDER} who should use this model, for which decisions, and which uses are "
        "out of scope. fairgov does not know this; it only audited the predictions.",
        "",
        "## Training and evaluation data",
        "",
        f"- **Dataset**: {_md(ds.name)} ({_md(ds.rows)} rows)",
        f"- **Data file sha256**: {_md(ds.content_hash)}",
        f"- **Manifest hash**: {_md(ds.manifest_hash)}",
        f"- **Label**: {_md(ds.label)}, positive label {_md(ds.positive_label)}",
        f"- **Sensitive features**: {_md(', '.join(ds.sensitive_features))}",
        *_federated_lines(data),
        "",
        "## Fairness evaluation",
        "",
        f"Run id `{data.run_id}`. The report hash is the sha256 of report.json.",
        "",
    ]
    reference = reference_sentence(data)
    if reference is not None:
        lines += [_md(reference), ""]
    if checks:
        lines += _table(
            [
                "Check",
                "Metric",
                "Bound",
                "Value",
                INTERVAL_HEADER,
                "Verdict",
                "Worst groups",
                "Why",
            ],
            (
                [
                    check_words(c.threshold),
                    c.threshold.metric,
                    bound_text(c.threshold),
                    fmt(c.value),
                    check_ci_text(c),
                    c.verdict,
                    pair_text(c.pair),
                    REASON_WORDS.get(c.reason, c.reason),
                ]
                for c in checks
            ),
        )
    else:
        lines.append("No fairness checks were set.")
    lines += ["", "### Group sizes", ""]
    lines += _table(
        ["Grouping", "Group", "Rows", "Too small to judge"],
        ([r.grouping, r.group, r.count, "yes" if r.small else "no"] for r in group_rows(data)),
    )
    lines += ["", "## Caveats", ""]
    lines += [f"- {_md(c)}" for c in caveats(data)] or ["- None recorded by the audit."]
    lines += [
        f"- Fairness is measured only for the groups recorded in "
        f"{_md(', '.join(ds.sensitive_features))}; other groups are not audited.",
        "",
    ]
    return "\n".join(lines)
