"""The impact preview agrees with what really happens once the proposal executes.

Each test makes two real audits (``loans-fair``: PASS, demographic parity about 0.006 in
[0, 0.067]; ``loans-plain``: FAIL, about 0.25 in [0.19, 0.30]), previews a draft, then
passes and executes the draft on chain and audits every model again: the preview's
verdicts and gate statuses are the real ones.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.db_models import ModelStatus
from audit.impact import (
    NOT_ALLOWED_NOW,
    RECOMPUTED,
    JudgedFrom,
    VerdictChange,
    audited_models,
    full_preview,
    preview_draft,
)
from audit.runs import run_audit
from audit.service import reaudit_after_policy_change
from bias_checks import Verdict
from core.db import session_scope
from governance.actions import Action, RevokeDataset, SetEvidenceRule, SetThreshold, dataset_id_of
from governance.chain.deploy import Deployment
from tests.integration.audit.audit_support import dp_threshold, govern, mitigate
from tests.integration.audit.impact_support import (
    FAIR,
    PLAIN,
    reaudit_all,
    two_audited_models,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]
EO = "equalized_odds_difference"
SPD = "statistical_parity_difference"
PASS, FAIL, INCONCLUSIVE = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE
UNKNOWN = VerdictChange.UNKNOWN
APPROVED, BLOCKED = ModelStatus.APPROVED, ModelStatus.BLOCKED


def _outcomes(preview):  # type: ignore[no-untyped-def]
    return {m.model_name: (m.previewed_verdict, m.previewed_status) for m in preview.models}


DRAFTS: list[tuple[str, list[Action], dict[str, VerdictChange]]] = [
    (
        "raise the parity bound",
        [dp_threshold("0.35")],
        {FAIR.name: VerdictChange.UNCHANGED, PLAIN.name: VerdictChange.FAIL_TO_PASS},
    ),
    (
        "tighten parity until the fair model's interval straddles it",
        [dp_threshold("0.05")],
        {FAIR.name: VerdictChange.TO_INCONCLUSIVE, PLAIN.name: VerdictChange.UNCHANGED},
    ),
    (
        "bound equalized odds tightly",
        [SetThreshold(metric=EO, value=Decimal("0.01"), direction="upper")],
        {FAIR.name: VerdictChange.PASS_TO_FAIL, PLAIN.name: VerdictChange.UNCHANGED},
    ),
]


@pytest.mark.parametrize("draft", DRAFTS, ids=[d[0] for d in DRAFTS])
def test_the_quick_preview_is_what_executing_and_reauditing_gives(
    isolated_chain: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    draft: tuple[str, list[Action], dict[str, VerdictChange]],
) -> None:
    label, actions, changes = draft
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    preview = preview_draft(models.env, actions)
    assert {m.model_name: m.change for m in preview.models} == changes
    assert not any(m.needs_full_preview for m in preview.models)
    assert {m.judged_from for m in preview.models} == {JudgedFrom.STORED_EVIDENCE}
    full = full_preview(models.env, preview)

    govern(isolated_chain, deployment, actions, label)
    real = reaudit_all(models.env)

    expected = {name: (run.verdict, run.model_status) for name, run in real.items()}
    assert _outcomes(preview) == expected
    assert {m.model_name: (m.verdict, m.status) for m in full.models} == expected
    assert all(m.agrees_with_quick for m in full.models)


def _spd_floor(bound: str) -> SetThreshold:
    return SetThreshold(metric=SPD, value=Decimal(bound), direction="lower")


#: A signed bound the stored evidence does not hold (it keeps the folded disparities), so the
#: quick preview recomputes it from the stored predictions.
SIGNED_DRAFTS: list[tuple[str, list[Action], dict[str, VerdictChange]]] = [
    (
        "raise the parity bound but floor the signed difference at -0.1",
        [dp_threshold("0.35"), _spd_floor("-0.1")],
        {FAIR.name: VerdictChange.UNCHANGED, PLAIN.name: VerdictChange.UNCHANGED},
    ),
    (
        "raise the parity bound and floor the signed difference at -0.35",
        [dp_threshold("0.35"), _spd_floor("-0.35")],
        {FAIR.name: VerdictChange.UNCHANGED, PLAIN.name: VerdictChange.FAIL_TO_PASS},
    ),
]


@pytest.mark.parametrize("draft", SIGNED_DRAFTS, ids=[d[0] for d in SIGNED_DRAFTS])
def test_a_signed_bound_is_previewed_as_executing_and_reauditing_judges_it(
    isolated_chain: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    draft: tuple[str, list[Action], dict[str, VerdictChange]],
) -> None:
    label, actions, changes = draft
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    preview = preview_draft(models.env, actions)
    assert {m.model_name: m.change for m in preview.models} == changes
    full = full_preview(models.env, preview)

    govern(isolated_chain, deployment, actions, label)
    real = reaudit_all(models.env)

    expected = {name: (run.verdict, run.model_status) for name, run in real.items()}
    assert _outcomes(preview) == expected
    assert {m.model_name: (m.verdict, m.status) for m in full.models} == expected


def test_a_revocation_names_the_models_trained_on_the_data_and_blocks_them(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    revoke = [RevokeDataset(dataset_id=dataset_id_of("loans"))]
    preview = preview_draft(models.env, revoke)
    assert sorted(preview.trained_on_revoked) == [FAIR.name, PLAIN.name]
    assert {m.change for m in preview.models} == {VerdictChange.REFUSED}
    assert preview.rules.classification.loosening is False
    full = full_preview(models.env, preview)
    assert {(m.status, m.agrees_with_quick) for m in full.models} == {(BLOCKED, True)}

    govern(isolated_chain, deployment, revoke, "revoke loans")
    (outcome,) = reaudit_after_policy_change(models.env)  # the one approved model
    assert (outcome.model_name, outcome.status) == (FAIR.name, BLOCKED)
    assert _outcomes(preview)[FAIR.name] == (None, BLOCKED)


def test_a_new_evidence_rule_is_recomputed_by_the_quick_preview_as_it_happens(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    stricter = [SetEvidenceRule(confidence_level=Decimal("0.999"))]
    preview = preview_draft(models.env, stricter)
    for model in preview.models:
        assert (model.judged_from, model.needs_full_preview) == (JudgedFrom.RECOMPUTED, False)
        assert model.change != VerdictChange.UNKNOWN
        assert "judged under another evidence rule (0.999 confidence" in model.reasons[0]
        assert model.reasons[-1] == RECOMPUTED
    steps: list[tuple[str, int, int]] = []
    full = full_preview(models.env, preview, progress=lambda *s: steps.append(s))
    assert steps[0] == (f"{FAIR.name}: verify", 0, 6)
    assert steps[-1] == (f"{PLAIN.name}: audit", 5, 6)

    govern(isolated_chain, deployment, stricter, "stricter evidence")
    real = reaudit_all(models.env)
    expected = {name: (run.verdict, run.model_status) for name, run in real.items()}
    assert _outcomes(preview) == expected
    assert {m.model_name: (m.verdict, m.status) for m in full.models} == expected
    assert {m.agrees_with_quick for m in full.models} == {True}


def test_without_the_model_files_only_the_evidence_rule_change_is_left_unknown(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    with session_scope(engine) as session:
        paths = [Path(m.version.artifact_path) for m in audited_models(session)]
    assert len(paths) == 2
    for path in paths:
        path.unlink()  # a recompute could not load them
    threshold = preview_draft(models.env, [dp_threshold("0.35")])
    assert {(m.judged_from, m.needs_full_preview) for m in threshold.models} == {
        (JudgedFrom.STORED_EVIDENCE, False)
    }
    assert _outcomes(threshold) == {FAIR.name: (PASS, APPROVED), PLAIN.name: (PASS, APPROVED)}
    rule = preview_draft(models.env, [SetEvidenceRule(confidence_level=Decimal("0.999"))])
    for model in rule.models:
        assert (model.judged_from, model.change) == (JudgedFrom.STORED_EVIDENCE, UNKNOWN)
        assert model.needs_full_preview
        assert model.reasons[-1].startswith("the audit cannot be recomputed: ")


def test_a_mitigation_change_is_previewed_by_retraining(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    draft = [mitigate("threshold_optimizer")]
    preview = preview_draft(models.env, draft)
    plain = next(m for m in preview.models if m.model_name == PLAIN.name)
    assert plain.needs_full_preview
    assert plain.previewed_verdict == FAIL  # the current file, as a re-audit would judge it
    full = full_preview(models.env, preview, models=[PLAIN.name])
    (retrained,) = full.models
    assert retrained.retrained

    govern(isolated_chain, deployment, draft, "mitigate again")
    trained = run_audit(models.env, PLAIN)  # the next training run under the new policy
    assert (retrained.verdict, retrained.status) == (trained.verdict, trained.model_status)
    assert retrained.verdict == PASS


def test_a_dataset_the_policy_already_disallows_is_not_blamed_on_the_proposal(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    """New-user review (session 26): a draft that only changed a bound was said to disallow
    a dataset its provider had withdrawn before."""
    models = two_audited_models(isolated_chain, deployment, engine, tmp_path)
    revoke = [RevokeDataset(dataset_id=dataset_id_of("loans"))]
    govern(isolated_chain, deployment, revoke, "revoke loans")
    preview = preview_draft(models.env, [dp_threshold("0.2")])
    assert {m.reasons for m in preview.models} == {(NOT_ALLOWED_NOW.format(dataset="loans"),)}
    assert {m.previewed_status for m in preview.models} == {BLOCKED}
