"""The audit service: what the API, the scheduler and the CLI call.

Adapters parse their input, build nothing but an :class:`~audit.env.AuditEnv` (once, in the
composition root) and call one function here:

* runs: :func:`run_audit`, :func:`plan_run` (the run id before the run starts);
* what is due: :func:`due_for_audit`, :func:`audit_due`;
* after a policy change: :func:`reaudit_after_policy_change`;
* after a withdrawal: :func:`enforce_withdrawals` (the gate, on every sync) and
  :func:`retrain_after_withdrawal`;
* retention: :func:`delete_old_reports`, :func:`reports_to_keep`;
* queries: :func:`list_manifests`, :func:`dataset_manifests`, :func:`list_runs`,
  :func:`latest_attempt`, :func:`stored_report`, :func:`list_models`, :func:`get_model`,
  and the gate's :func:`require_approved`.
"""

from __future__ import annotations

from audit.env import AuditEnv
from audit.gate import enforce_withdrawals, require_approved
from audit.plan import RunPlan, plan_run
from audit.publish import AuditRun
from audit.runs import Progress, run_audit
from audit.service.due import DueAudits, DueOutcome, audit_due, due_for_audit, known_specs
from audit.service.queries import (
    Page,
    dataset_manifests,
    get_model,
    latest_attempt,
    list_manifests,
    list_models,
    list_runs,
    stored_report,
)
from audit.service.reaudit import Reaudit, reaudit_after_policy_change
from audit.service.retention import Retained, delete_old_reports, reports_to_keep
from audit.service.withdrawals import Retraining, retrain_after_withdrawal

__all__ = [
    "AuditEnv",
    "AuditRun",
    "DueAudits",
    "DueOutcome",
    "Page",
    "Progress",
    "Reaudit",
    "Retained",
    "Retraining",
    "RunPlan",
    "audit_due",
    "dataset_manifests",
    "delete_old_reports",
    "due_for_audit",
    "enforce_withdrawals",
    "get_model",
    "known_specs",
    "latest_attempt",
    "list_manifests",
    "list_models",
    "list_runs",
    "plan_run",
    "reaudit_after_policy_change",
    "reports_to_keep",
    "require_approved",
    "retrain_after_withdrawal",
    "run_audit",
    "stored_report",
]
