"""Governed audits: reports of fairness audits and their renderings.

An audit *report* is canonical JSON (sorted keys, UTF-8, no whitespace, shortest round-trip
floats) that records what was audited (run id, model, dataset and manifest hashes, the policy
snapshot), how (package versions, seeds) and what was found (group sizes, metrics by group
with confidence intervals, disparities, checks and the verdict). Its ``reportHash`` is the
sha256 of those bytes. HTML, CSV, PDF and model-card renderings are made from the report,
never the other way round, so a reader can always check a rendering against the hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.lazy import lazy_attributes

if TYPE_CHECKING:
    from audit.errors import AuditError, InvalidReport, ReportNotCanonical
    from audit.predictions import PredictionsAudit, audit_predictions_file
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
    from audit.service import reaudit_after_policy_change
    from audit.threshold_text import parse_threshold

# The public names and the modules that define them. They load on first use: importing
# one submodule (the CLI's `audit predictions`, say) must not pull in scikit-learn.
_HOME = {
    "AuditError": "audit.errors",
    "InvalidReport": "audit.errors",
    "ReportNotCanonical": "audit.errors",
    "reaudit_after_policy_change": "audit.service",
    "PredictionsAudit": "audit.predictions",
    "audit_predictions_file": "audit.predictions",
    "parse_threshold": "audit.threshold_text",
    "render_all": "audit.render",
    "render_csv": "audit.render",
    "render_html": "audit.render",
    "render_model_card": "audit.render",
    "render_pdf": "audit.render",
    "REPORT_SCHEMA_VERSION": "audit.report",
    "DatasetInfo": "audit.report",
    "ModelInfo": "audit.report",
    "PolicyInfo": "audit.report",
    "Report": "audit.report",
    "Violation": "audit.report",
    "build_report": "audit.report",
    "default_environment": "audit.report",
}


__getattr__ = lazy_attributes(__name__, _HOME)


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
