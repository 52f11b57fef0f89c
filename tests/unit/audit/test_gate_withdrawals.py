"""The gate blocks a model from the first indexed withdrawal (or revocation) of a dataset it
trained on: rows as the indexer and the runs write them, in a real migrated database."""

from __future__ import annotations

import json
from itertools import count

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunKind, RunStatus
from audit.errors import ModelNotApproved
from audit.external import ExternalAuditSpec
from audit.gate import (
    NOTHING_LEFT_TO_RETRAIN,
    REAUDIT_ELSEWHERE,
    WITHDRAWAL_UNDONE,
    WITHDRAWN_AUDIT_DATA,
    WITHDRAWN_BY_PROVIDER,
    WITHDRAWN_DATA,
    enforce_withdrawals,
    record_audit,
    require_approved,
    withdrawals_since,
)
from audit.spec import ModelSpec
from bias_checks import Verdict
from core.db import session_scope
from governance.actions import dataset_id_of
from governance.index.models import PolicyEvent

PROVIDER = "0x" + "Ab" * 20
_blocks = count(100)


def trained(session: Session, name: str, spec: ModelSpec, *, policy_version: int) -> str:
    """A completed training run of ``spec`` and its approved model version."""
    model_hash = "0x" + f"{next(_blocks):064x}"
    session.add(
        AuditRunRecord(
            run_id=model_hash,
            model_name=name,
            dataset_name=" + ".join(spec.dataset_names),
            dataset_id=dataset_id_of(spec.dataset_names[0]),
            status=RunStatus.COMPLETED,
            spec_json=spec.canonical_json().decode(),
            chain_id=31337,
            policy_version=policy_version,
            policy_block=1,
            policy_snapshot_hash="0x" + "00" * 32,
            model_hash=model_hash,
        )
    )
    session.add(
        ModelVersion(
            name=name,
            model_hash=model_hash,
            artifact_path="/m",
            status=ModelStatus.APPROVED,
            latest_run_id=model_hash,
        )
    )
    return model_hash


def policy_event(session: Session, name: str, dataset: str, version: int, **args: object) -> None:
    dataset_id = dataset_id_of(dataset)
    block = next(_blocks)
    session.add(
        PolicyEvent(
            block_number=block,
            log_index=0,
            name=name,
            subject=dataset_id,
            policy_version=version,
            args=json.dumps({"datasetId": dataset_id, "policyVersion": version, **args}),
            tx_hash="0x" + f"{block:064x}",
        )
    )


def withdrawn(session: Session, dataset: str, version: int, *, revoked: bool = True) -> None:
    policy_event(
        session,
        "DatasetWithdrawn",
        dataset,
        version,
        provider=PROVIDER,
        issuedAt=5,
        revoked=revoked,
    )


def test_a_withdrawal_blocks_every_model_trained_on_the_dataset(engine: Engine) -> None:
    both = ModelSpec(name="both", datasets=("loans-a", "loans-b"))
    with session_scope(engine) as session:
        trained(session, "both", both, policy_version=4)
        trained(session, "only-a", ModelSpec(name="only-a", dataset="loans-a"), policy_version=4)
        trained(session, "only-b", ModelSpec(name="only-b", dataset="loans-b"), policy_version=4)
        assert require_approved(session, "both").name == "both"
        withdrawn(session, "loans-a", 5)
    with session_scope(engine) as session:
        blocked = {v.name: v.reason for v in enforce_withdrawals(session)}
        assert enforce_withdrawals(session) == []  # idempotent
    assert set(blocked) == {"both", "only-a"}
    assert (
        f"dataset 'loans-a' ({dataset_id_of('loans-a')}) {WITHDRAWN_BY_PROVIDER}"
        in (blocked["both"])
    )
    assert blocked["both"].endswith("to be retrained on the rest")
    assert blocked["only-a"].endswith(NOTHING_LEFT_TO_RETRAIN)
    with session_scope(engine) as session:
        assert require_approved(session, "only-b").name == "only-b"
        with pytest.raises(ModelNotApproved, match="withdrawn by its provider") as raised:
            require_approved(session, "both")
    assert raised.value.details["status"] == ModelStatus.BLOCKED


def test_the_gate_refuses_before_any_sync_blocked_the_model(engine: Engine) -> None:
    with session_scope(engine) as session:
        trained(session, "m", ModelSpec(name="m", dataset="loans-a"), policy_version=4)
        policy_event(session, "DatasetRevoked", "loans-a", 5)
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as raised:
        require_approved(session, "m")
    assert "revoked by a vote at block" in raised.value.message
    with Session(engine) as session:
        assert session.get(ModelVersion, 1).status == ModelStatus.BLOCKED  # type: ignore[union-attr]


def test_only_withdrawals_after_training_that_revoked_count(engine: Engine) -> None:
    with session_scope(engine) as session:
        withdrawn(session, "loans-a", 3)  # before the model was trained: it trained on new consent
        withdrawn(session, "loans-a", 6, revoked=False)  # a withdrawal of an offer not in force
        policy_event(session, "DatasetAllowed", "loans-a", 7)
        trained(session, "m", ModelSpec(name="m", dataset="loans-a"), policy_version=4)
    with session_scope(engine) as session:
        assert enforce_withdrawals(session) == []
        assert require_approved(session, "m").status == ModelStatus.APPROVED
        withdrawn(session, "loans-a", 8)
        withdrawn(session, "loans-a", 9)
    with Session(engine) as session:
        run = session.get(AuditRunRecord, 1)
        assert run is not None
        found = withdrawals_since(session, run)
    assert [(w.dataset, w.by, w.provider, w.policy_version) for w in found] == [
        ("loans-a", "provider", PROVIDER, 8)
    ]


def audited_external(
    session: Session, name: str, dataset: str, *, policy_version: int, model_hash: str
) -> None:
    """A completed external audit of a registered ONNX file on ``dataset``, and its approved
    version (created, or approved again, as the gate records an audit)."""
    spec = ExternalAuditSpec(name=name, model_hash=model_hash, dataset=dataset)
    run_id = "0x" + f"{next(_blocks):064x}"
    session.add(
        AuditRunRecord(
            run_id=run_id,
            kind=RunKind.EXTERNAL,
            model_name=name,
            dataset_name=dataset,
            dataset_id=dataset_id_of(dataset),
            status=RunStatus.COMPLETED,
            spec_json=spec.canonical_json().decode(),
            chain_id=31337,
            policy_version=policy_version,
            policy_block=1,
            policy_snapshot_hash="0x" + "00" * 32,
            model_hash=model_hash,
            verdict=Verdict.PASS,
            anchor_tx="0x" + "11" * 32,
        )
    )
    session.flush()
    record_audit(
        session,
        name=name,
        model_hash=model_hash,
        artifact_path="/m.onnx",
        run_id=run_id,
        verdict=Verdict.PASS,
        anchored=True,
        policy_version=policy_version,
    )


ONNX_HASH = "0x" + "cd" * 32


def test_a_withdrawal_blocks_an_external_model_audited_on_it_until_a_reaudit_elsewhere(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        audited_external(session, "ext", "loans-a", policy_version=4, model_hash=ONNX_HASH)
        trained(session, "only-b", ModelSpec(name="only-b", dataset="loans-b"), policy_version=4)
        withdrawn(session, "loans-a", 5)
    with session_scope(engine) as session:
        blocked = {v.name: v.reason for v in enforce_withdrawals(session)}
    assert set(blocked) == {"ext"}
    assert blocked["ext"].startswith(f"{WITHDRAWN_AUDIT_DATA}: dataset 'loans-a'")
    assert blocked["ext"].endswith(REAUDIT_ELSEWHERE)
    assert "fairgov audit external SPEC" in blocked["ext"]
    with session_scope(engine) as session:
        with pytest.raises(ModelNotApproved, match="its audit data was withdrawn"):
            require_approved(session, ONNX_HASH)
        # a re-audit on an allowed dataset approves the same file again, and it stays so
        audited_external(session, "ext", "loans-b", policy_version=6, model_hash=ONNX_HASH)
    with session_scope(engine) as session:
        assert enforce_withdrawals(session) == []
        assert require_approved(session, "ext").model_hash == ONNX_HASH


def test_the_gate_refuses_an_external_model_before_any_sync_and_a_reorg_reinstates_it(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        audited_external(session, "ext", "loans-a", policy_version=4, model_hash=ONNX_HASH)
        policy_event(session, "DatasetRevoked", "loans-a", 5)
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as raised:
        require_approved(session, "ext")
    assert raised.value.message.count("revoked by a vote at block") == 1
    with session_scope(engine) as session:  # a reorganisation drops the revocation
        for event in session.exec(select(PolicyEvent)).all():
            session.delete(event)
    with session_scope(engine) as session:
        assert enforce_withdrawals(session) == []
        version = require_approved(session, "ext")
        assert version.reason is not None
        assert version.reason.endswith(WITHDRAWAL_UNDONE)


def test_a_central_reaudit_is_not_taken_for_an_external_audit(engine: Engine) -> None:
    spec = ModelSpec(name="m", dataset="loans-a")
    with session_scope(engine) as session:
        model_hash = trained(session, "m", spec, policy_version=4)
        session.add(
            AuditRunRecord(
                run_id="0x" + "ee" * 32,
                kind=RunKind.REAUDIT,
                model_name="m",
                dataset_name="loans-a",
                dataset_id=dataset_id_of("loans-a"),
                status=RunStatus.COMPLETED,
                spec_json=spec.canonical_json().decode(),
                chain_id=31337,
                policy_version=9,
                policy_block=1,
                policy_snapshot_hash="0x" + "00" * 32,
                model_hash=model_hash,
            )
        )
        withdrawn(session, "loans-a", 5)
    with session_scope(engine) as session:
        (blocked,) = enforce_withdrawals(session)
    assert blocked.reason is not None
    assert blocked.reason.startswith(WITHDRAWN_DATA)
