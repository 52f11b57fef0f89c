"""The full preview audit: every audited model audited again under the proposed policy.

It runs the same train-and-audit core as an audit run (:func:`audit.runs.evaluate`) on the
same seeded split, retraining when the proposal changes the mitigation and otherwise reusing
the stored model file as a re-audit does. Nothing is written: no run row, no report, no
anchor, no gate decision, no model file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.db_models import ModelStatus
from audit.env import AuditEnv
from audit.impact._preview import (
    AuditedModel,
    ImpactPreview,
    ModelImpact,
    VerdictChange,
    audited_models,
    verdict_change,
)
from audit.impact._recompute import STAGES, recompute
from audit.runs import REFUSALS, Progress
from bias_checks import CheckResult, Verdict
from core.db import session_scope

#: The steps of one model's preview audit, as the progress callback names them.
FULL_STAGES = STAGES


@dataclass(frozen=True)
class CheckOutcome:
    """One threshold of the preview audit: its verdict and the interval judged."""

    metric: str
    verdict: Verdict
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class FullModelResult:
    """A model audited under the proposed policy, beside what the quick preview said."""

    model_name: str
    model_hash: str
    retrained: bool
    verdict: Verdict | None
    status: ModelStatus
    change: VerdictChange
    reason: str
    checks: tuple[CheckOutcome, ...]
    agrees_with_quick: bool | None


@dataclass(frozen=True)
class FullPreview:
    """The quick preview and the full preview audit of the same proposal."""

    quick: ImpactPreview
    models: tuple[FullModelResult, ...]


def _agrees(quick: ModelImpact | None, verdict: Verdict | None, retrained: bool) -> bool | None:
    if quick is None or retrained or quick.change == VerdictChange.UNKNOWN:
        return None
    return quick.previewed_verdict == verdict


def _reason(checks: Sequence[CheckResult], status: ModelStatus) -> str:
    failing = [c.threshold.metric for c in checks if c.verdict == Verdict.FAIL]
    if failing:
        return "would fail " + ", ".join(failing)
    undecided = [c.threshold.metric for c in checks if c.verdict == Verdict.INCONCLUSIVE]
    if undecided:
        outcome = "blocks" if status == ModelStatus.BLOCKED else "approves with a warning"
        return f"{', '.join(undecided)} INCONCLUSIVE, which the proposed evidence rule {outcome}"
    return "would pass every threshold of the proposed policy"


def _audit_one(
    env: AuditEnv,
    model: AuditedModel,
    preview: ImpactPreview,
    step: Progress,
) -> FullModelResult:
    version = model.version
    proposed = preview.proposed.snapshot
    quick = next((m for m in preview.models if m.model_hash == version.model_hash), None)
    current = None if model.run.verdict is None else Verdict(model.run.verdict)
    retrained = preview.proposed.mitigation_changed(preview.current) and not model.external
    try:
        recomputed = recompute(env, model.spec, version, proposed, retrain=retrained, step=step)
    except REFUSALS as exc:
        return FullModelResult(
            model_name=version.name,
            model_hash=version.model_hash,
            retrained=False,
            verdict=None,
            status=ModelStatus.BLOCKED,
            change=VerdictChange.REFUSED,
            reason=f"the audit would be refused: {exc.message}",
            checks=(),
            agrees_with_quick=None if quick is None else quick.change == VerdictChange.REFUSED,
        )
    result, status = recomputed.result, recomputed.status
    checks = tuple(
        CheckOutcome(
            metric=c.threshold.metric,
            verdict=c.verdict,
            value=c.value,
            low=None if c.ci is None else c.ci.low,
            high=None if c.ci is None else c.ci.high,
        )
        for c in result.checks
    )
    return FullModelResult(
        model_name=version.name,
        model_hash=version.model_hash,
        retrained=retrained,
        verdict=result.verdict,
        status=status,
        change=verdict_change(current, result.verdict),
        reason=_reason(result.checks, status),
        checks=checks,
        agrees_with_quick=_agrees(quick, result.verdict, retrained),
    )


def full_preview(
    env: AuditEnv,
    preview: ImpactPreview,
    *,
    models: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> FullPreview:
    """Audit every model of ``preview`` (or only those named) under the proposed policy.

    ``progress(stage, step, total)`` is called as each model's stages start, with the stage
    named ``"<model>: <stage>"`` and steps counted over all models.

    Examples
    --------
    >>> full = full_preview(env, preview_draft(env, actions))  # doctest: +SKIP
    >>> [(m.model_name, m.verdict, m.agrees_with_quick) for m in full.models]  # doctest: +SKIP
    [('loans-lr', <Verdict.PASS: 'PASS'>, True)]
    """
    with session_scope(env.engine) as session:
        audited = audited_models(session)
        session.expunge_all()
    if models is not None:
        audited = [m for m in audited if m.version.name in models]
    total = len(audited) * len(FULL_STAGES)
    results = []
    for index, model in enumerate(audited):

        def step(
            stage: str, offset: int, _: int, name: str = model.version.name, base: int = index
        ) -> None:
            if progress is not None:
                progress(f"{name}: {stage}", base * len(FULL_STAGES) + offset, total)

        results.append(_audit_one(env, model, preview, step))
    return FullPreview(preview, tuple(results))
