"""The impact preview: what a policy proposal would do to the models that exist today.

A voter sees, before voting (or before proposing), each audited model's current verdict and
the verdict it would get if the proposal executed, with the chain's own classification of the
proposal, the majority it needs and how long the fairness guardian may cancel it.

- :func:`apply_actions`: the policy snapshot a proposal's actions would leave behind.
- :func:`rejudge`: a stored audit's verdict under other thresholds, by bias_checks' own rule,
  wherever the report's intervals decide it exactly.
- :func:`preview_draft`, :func:`preview_proposal`: the quick preview of every audited model,
  from its stored evidence, or its audit recomputed (no retraining) where a changed evidence
  rule makes the stored intervals unusable.
- :func:`full_preview`: the full preview audit, which re-runs each audit under the proposed
  policy (retraining if the mitigation changes) and anchors, records and gates nothing.
"""

from audit.impact._apply import ProposedPolicy, apply_actions
from audit.impact._errors import ActionNotApplicable
from audit.impact._full import FULL_STAGES, CheckOutcome, FullModelResult, FullPreview, full_preview
from audit.impact._preview import (
    NOT_ALLOWED_NOW,
    RECOMPUTED,
    AuditedModel,
    ImpactPreview,
    JudgedFrom,
    ModelImpact,
    VerdictChange,
    audited_models,
    model_impact,
    preview_draft,
    preview_proposal,
    verdict_change,
)
from audit.impact._rejudge import Rejudged, rejudge
from audit.impact._rules import (
    CANCELLABLE_STATES,
    ChainRules,
    VetoWindow,
    describe_rules,
    describe_veto_deadline,
)

__all__ = [
    "CANCELLABLE_STATES",
    "FULL_STAGES",
    "NOT_ALLOWED_NOW",
    "RECOMPUTED",
    "ActionNotApplicable",
    "AuditedModel",
    "ChainRules",
    "CheckOutcome",
    "FullModelResult",
    "FullPreview",
    "ImpactPreview",
    "JudgedFrom",
    "ModelImpact",
    "ProposedPolicy",
    "Rejudged",
    "VerdictChange",
    "VetoWindow",
    "apply_actions",
    "audited_models",
    "describe_rules",
    "describe_veto_deadline",
    "full_preview",
    "model_impact",
    "preview_draft",
    "preview_proposal",
    "rejudge",
    "verdict_change",
]
