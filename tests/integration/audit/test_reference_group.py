"""A voted privileged group on anvil: the four-fifths rule judged against the group the
dataset's manifest names, not against the largest group.

The data: loan approvals biased against group B (:func:`audit.synthetic.make_loans`), with
most of group A's rows left out, so the favoured group A is the minority. Against the
largest group (B) the disparate impact is above 1 and the four-fifths rule passes; against
the privileged group the DAO voted with the manifest (A) it is well under 0.8 and fails.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.anchor import read_anchor
from audit.db_models import AuditRunRecord, ModelVersion
from audit.env import AuditEnv
from audit.external import ExternalAuditSpec, register_onnx, run_external_audit
from audit.impact import JudgedFrom, full_preview, preview_draft
from audit.manifest import DatasetManifest, build_manifest, latest_manifest, store_manifest
from audit.models import load_model
from audit.report import Report
from audit.runs import evaluate, reaudit_model, run_audit
from audit.spec import ModelSpec
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, make_loans
from audit.verify import frozen_snapshot
from bias_checks import UnknownReferenceGroupError, Verdict
from core.db import session_scope
from governance.actions import Action, SetEvidenceRule, SetThreshold
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import audit_env, govern
from tests.unit.audit.external import onnx_models as models

pytestmark = [pytest.mark.chain, pytest.mark.slow]
DI = "disparate_impact"
SPEC = ModelSpec(name="loans-di", dataset="loans", n_boot=20)
FOUR_FIFTHS = SetThreshold(metric=DI, value=Decimal("0.8"), direction="lower")


def _privileged_minority(path: Path) -> Path:
    """Group B's rows and a third as many of group A's: A is the favoured minority."""
    frame = make_loans(4000, seed=0)
    b = frame[frame["group"] == "B"]
    a = frame[frame["group"] == "A"].iloc[: len(b) // 3]
    pd.concat([a, b]).sort_index().to_csv(path, index=False, lineterminator="\n")
    return path


def _register(engine: Engine, data_dir: Path, privileged: str | None) -> DatasetManifest:
    """Store the loans' manifest, with ``group=<privileged>`` as its privileged group."""
    data_dir.mkdir(parents=True, exist_ok=True)
    csv = data_dir / "loans.csv"
    if not csv.exists():
        _privileged_minority(csv)
    manifest = build_manifest(
        csv,
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        salts_path=data_dir / f"loans-{privileged}.salts",
        reference_group=None if privileged is None else {"group": privileged},
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    return manifest


def _govern_loans(
    w3: Web3, deployment: Deployment, engine: Engine, data_dir: Path, privileged: str | None
) -> AuditEnv:
    """Register the loans (:func:`_register`) and allow them with the four-fifths rule,
    through a real proposal."""
    manifest = _register(engine, data_dir, privileged)
    govern(w3, deployment, [signed_offer(w3, deployment, manifest), FOUR_FIFTHS], "four fifths")
    return audit_env(engine, w3, deployment, data_dir)


def _check(report: Report) -> dict[str, object]:
    (check,) = report.data["audit"]["checks"]
    assert check["threshold"]["metric"] == DI
    return dict(check)


def _stored_manifest(env: AuditEnv) -> DatasetManifest:
    with session_scope(env.engine) as session:
        return latest_manifest(session, "loans")


def test_the_four_fifths_rule_is_judged_against_the_voted_privileged_group(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged="A")
    run = run_audit(env, SPEC)
    report = Report.from_bytes((run.report_dir / "report.json").read_bytes())
    assert report.hash == run.report_hash
    assert run.verdict == Verdict.FAIL
    assert report.data["audit"]["config"]["reference_group"] == {"group": "A"}
    check = _check(report)
    assert check["verdict"] == "FAIL"
    assert float(check["value"]) < 0.8  # type: ignore[arg-type]
    assert {"group": "A"} in [side["group"] for side in check["pair"]]  # type: ignore[union-attr]
    named = "privileged group the voted dataset manifest names: group=A"
    assert named in (run.report_dir / "report.html").read_text()
    assert named in (run.report_dir / "model-card.md").read_text()

    # The same model on the same held-out rows, against the largest group (B): it passes.
    (model_file,) = (tmp_path / "models" / SPEC.name).glob("*.skops")
    model = load_model(model_file, expected_hash=run.model_hash)
    snapshot = frozen_snapshot(isolated_chain, deployment.addresses.training_policy)
    unnamed = _stored_manifest(env).model_copy(update={"reference_group": None})
    largest = evaluate(SPEC, (unnamed,), snapshot, model=model).result
    assert dict(largest.config)["reference_group"] == "majority"
    assert largest.checks[0].value > 1
    assert largest.verdict == Verdict.PASS


def test_a_privileged_group_without_held_out_rows_stops_the_run_before_training(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged="C")
    with pytest.raises(UnknownReferenceGroupError) as raised:
        run_audit(env, SPEC)
    assert raised.value.message == (
        "The reference group group=C does not occur: column 'group' holds A, B."
    )
    with session_scope(engine) as session:
        (row,) = session.exec(select(AuditRunRecord)).all()
    assert (row.status, row.error_code, row.report_hash) == (
        "failed",
        "unknown_reference_group",
        None,
    )
    assert read_anchor(isolated_chain, deployment.addresses.audit_registry, row.run_id) is None
    assert not (tmp_path / "models").exists()


#: A draft, how the quick preview judges it, and the verdict against the privileged group (A)
#: and against the largest group (B): the preview must give the first.
DRAFTS: list[tuple[str, list[Action], JudgedFrom, Verdict, Verdict]] = [
    (
        "bound disparate impact from above",  # A's ratio is under 1.25, B's is over it
        [SetThreshold(metric=DI, value=Decimal("1.25"), direction="upper")],
        JudgedFrom.STORED_EVIDENCE,
        Verdict.PASS,
        Verdict.FAIL,
    ),
    (
        "a looser confidence level",
        [SetEvidenceRule(confidence_level=Decimal("0.9"))],
        JudgedFrom.RECOMPUTED,
        Verdict.FAIL,
        Verdict.PASS,
    ),
]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("draft", DRAFTS, ids=[d[0] for d in DRAFTS])
def test_a_preview_judges_against_the_privileged_group_as_the_reaudit_does(
    isolated_chain: Web3,
    deployment: Deployment,
    engine: Engine,
    tmp_path: Path,
    draft: tuple[str, list[Action], JudgedFrom, Verdict, Verdict],
) -> None:
    label, actions, judged_from, privileged, largest = draft
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged="A")
    run_audit(env, SPEC)
    preview = preview_draft(env, actions)
    (quick,) = preview.models
    assert quick.judged_from == judged_from
    (full,) = full_preview(env, preview).models

    govern(isolated_chain, deployment, actions, label)
    with session_scope(engine) as session:
        version = session.exec(select(ModelVersion)).one()
        session.expunge(version)
    again = reaudit_model(env, version, SPEC)
    report = Report.from_bytes((again.report_dir / "report.json").read_bytes())
    assert report.data["audit"]["config"]["reference_group"] == {"group": "A"}
    assert again.verdict == privileged
    assert (quick.previewed_verdict, quick.previewed_status) == (again.verdict, again.model_status)
    assert (full.verdict, full.status) == (again.verdict, again.model_status)

    # Had the audits compared with the largest group, the verdict would be the other one.
    model = load_model(Path(version.artifact_path), expected_hash=version.model_hash)
    snapshot = frozen_snapshot(isolated_chain, deployment.addresses.training_policy)
    unnamed = _stored_manifest(env).model_copy(update={"reference_group": None})
    assert evaluate(SPEC, (unnamed,), snapshot, model=model).result.verdict == largest


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_voting_a_manifest_that_names_the_privileged_group_is_previewed_and_applied(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged=None)
    first = run_audit(env, SPEC)
    assert first.verdict == Verdict.PASS  # against the largest group, B
    named = _register(engine, tmp_path, "A")  # the same file; the manifest now names A
    allow_named = [signed_offer(isolated_chain, deployment, named)]
    (quick,) = preview_draft(env, allow_named).models
    assert quick.judged_from == JudgedFrom.RECOMPUTED
    assert quick.reasons[0].startswith("the proposal allows another manifest for dataset loans")

    govern(isolated_chain, deployment, allow_named, "name the privileged group")
    with session_scope(engine) as session:
        version = session.exec(select(ModelVersion)).one()
        session.expunge(version)
    again = reaudit_model(env, version, SPEC)
    assert again.verdict == Verdict.FAIL
    assert (quick.previewed_verdict, quick.previewed_status) == (again.verdict, again.model_status)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_external_model_is_judged_against_the_voted_privileged_group(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged="A")
    biased = models.sklearn_pipeline(*models.loans(3000, seed=7)).data
    registered = register_onnx(env, name="loans-pipe", data=biased)
    spec = ExternalAuditSpec(name="loans-pipe", model_hash=registered.model_hash, dataset="loans")
    run = run_external_audit(env, spec)
    report = Report.from_bytes((run.report_dir / "report.json").read_bytes())
    assert report.data["audit"]["config"]["reference_group"] == {"group": "A"}
    rates = {
        m["group"]["group"]: float(m["value"])
        for m in report.data["audit"]["metrics"]
        if m["metric"] == "selection_rate" and m["grouping"] == ["group"]
    }
    check = _check(report)
    assert float(check["value"]) == pytest.approx(rates["B"] / rates["A"])  # type: ignore[arg-type]
    assert "group=A" in (run.report_dir / "report.html").read_text()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_preview_never_rejudges_an_audit_made_against_another_privileged_group(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    """Review #18: the manifest voted after the audit names group A, the stored audit compared
    with the largest group (B). A draft that leaves the manifest alone must not re-judge that
    evidence as if it were A's: the preview compared the proposal with the current policy."""
    env = _govern_loans(isolated_chain, deployment, engine, tmp_path, privileged=None)
    assert run_audit(env, SPEC).verdict == Verdict.PASS  # against B
    named = _register(engine, tmp_path, "A")
    govern(isolated_chain, deployment, [signed_offer(isolated_chain, deployment, named)], "A")
    draft = [SetThreshold(metric="demographic_parity_difference", value=Decimal("0.99"),
        direction="upper")]  # fmt: skip
    (quick,) = preview_draft(env, draft).models
    assert quick.reasons[0].startswith("the proposal allows another manifest for dataset loans")
    assert quick.judged_from == JudgedFrom.RECOMPUTED

    govern(isolated_chain, deployment, draft, "bound demographic parity")
    with session_scope(engine) as session:
        version = session.exec(select(ModelVersion)).one()
        session.expunge(version)
    again = reaudit_model(env, version, SPEC)
    assert again.verdict == Verdict.FAIL  # the four-fifths rule, against A
    assert (quick.previewed_verdict, quick.previewed_status) == (again.verdict, again.model_status)
