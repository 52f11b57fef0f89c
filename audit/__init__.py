"""Governed audits: reports of fairness audits and their renderings.

An audit *report* is canonical JSON (sorted keys, UTF-8, no whitespace, shortest round-trip
floats) that records what was audited (run id, model, dataset and manifest hashes, the policy
snapshot), how (package versions, seeds) and what was found (group sizes, metrics by group
with confidence intervals, disparities, checks and the verdict). Its ``reportHash`` is the
sha256 of those bytes. HTML, CSV, PDF and model-card renderings are made from the report,
never the other way round, so a reader can always check a rendering against the hash.
"""

from audit.errors import AuditError, InvalidReport, ReportNotCanonical
from audit.gate import reaudit_after_policy_change
from audit.predictions import PredictionsAudit, audit_predictions_file, parse_threshold
from audit.render import render_all, render_csv, render_html, render_model_card, render_pdf
from audit.report import (
    REPORT_SCHEMA_VERSION,
    DatasetInfo,
    ModelInfo,
    PolicyInfo,
    Report,
    Violation,
    build_report,
    default_environment,
)

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AuditError",
    "DatasetInfo",
    "InvalidReport",
    "ModelInfo",
    "PolicyInfo",
    "PredictionsAudit",
    "Report",
    "ReportNotCanonical",
    "Violation",
    "audit_predictions_file",
    "build_report",
    "default_environment",
    "parse_threshold",
    "reaudit_after_policy_change",
    "render_all",
    "render_csv",
    "render_html",
    "render_model_card",
    "render_pdf",
]
