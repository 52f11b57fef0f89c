"""Federated models (#16) at the gate: a withdrawal of any node's dataset blocks them, and a
policy change blocks them until their nodes re-audit them; the scheduler's spec readers
skip them instead of failing. Rows as the runs and the indexer write them, in a real
migrated database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import InvalidModelSpec
from audit.gate import enforce_withdrawals, require_approved, trained_on
from audit.service.due import known_specs
from audit.service.reaudit import reaudit_after_policy_change
from audit.spec import FederatedSpec, ModelSpec, parse_spec
from core.db import session_scope
from governance.actions import dataset_id_of
from tests.unit.audit.test_gate_withdrawals import policy_event, trained, withdrawn

NODES = ("clinic-a", "clinic-b")


def federated_spec(name: str = "fed") -> FederatedSpec:
    return FederatedSpec(
        name=name,
        federated=True,
        datasets=tuple(dataset_id_of(n) for n in NODES),
        label="approved",
        features=("income",),
        sensitive_features=("group",),
    )


def trained_federated(session: Session, spec: FederatedSpec, *, policy_version: int) -> None:
    model_hash = "0x" + "fe" * 32
    session.add(
        AuditRunRecord(
            run_id=model_hash,
            kind=RunKind.TRAINING_RUN,
            model_name=spec.name,
            dataset_name=spec.name,
            dataset_id="0x" + "11" * 32,
            status=RunStatus.COMPLETED,
            spec_json=json.dumps(spec.model_dump(mode="json")),
            chain_id=31337,
            policy_version=policy_version,
            policy_block=1,
            policy_snapshot_hash="0x" + "00" * 32,
            model_hash=model_hash,
        )
    )
    session.add(
        ModelVersion(
            name=spec.name,
            model_hash=model_hash,
            artifact_path="/m",
            status=ModelStatus.APPROVED,
            latest_run_id=model_hash,
        )
    )


def test_a_federated_run_trained_on_each_nodes_dataset(engine: Engine) -> None:
    with session_scope(engine) as session:
        trained_federated(session, federated_spec(), policy_version=4)
    with Session(engine) as session:
        run = session.exec(select(AuditRunRecord)).one()
        assert list(trained_on(run)) == [dataset_id_of(n) for n in NODES]


def test_withdrawing_one_nodes_dataset_blocks_the_federated_model(engine: Engine) -> None:
    # Regression: the gate read only central specs, so a federated model trained on a
    # withdrawn dataset stayed approved.
    with session_scope(engine) as session:
        trained_federated(session, federated_spec(), policy_version=4)
        withdrawn(session, NODES[1], 5)
    with session_scope(engine) as session:
        (blocked,) = enforce_withdrawals(session)
    assert blocked.name == "fed"
    assert dataset_id_of(NODES[1]) in (blocked.reason or "")


def test_a_policy_change_blocks_federated_models_and_reaudits_the_rest(
    engine: Engine, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        trained_federated(session, federated_spec("old"), policy_version=4)
        policy_event(session, "ThresholdSet", "unrelated", 6)
    env = AuditEnv(engine=engine, w3=None, deployment=None, data_dir=tmp_path)  # type: ignore[arg-type]
    (outcome,) = reaudit_after_policy_change(env)
    assert (outcome.model_name, outcome.status) == ("old", ModelStatus.BLOCKED)
    assert "fairgov audit federated" in outcome.reason
    with Session(engine) as session, pytest.raises(Exception, match="only its nodes"):
        require_approved(session, "old")


def test_a_federated_model_audited_under_the_current_policy_stays_approved(
    engine: Engine, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        policy_event(session, "ThresholdSet", "unrelated", 6)
        trained_federated(session, federated_spec("new"), policy_version=6)
    env = AuditEnv(engine=engine, w3=None, deployment=None, data_dir=tmp_path)  # type: ignore[arg-type]
    assert reaudit_after_policy_change(env) == []
    with Session(engine) as session:
        assert require_approved(session, "new").status == ModelStatus.APPROVED


def test_spec_readers_skip_federated_specs(engine: Engine) -> None:
    with session_scope(engine) as session:
        trained_federated(session, federated_spec(), policy_version=4)
        trained(session, "central", ModelSpec(name="central", dataset="loans"), policy_version=4)
    with Session(engine) as session:
        assert [s.name for s in known_specs(session)] == ["central"]
    with pytest.raises(InvalidModelSpec, match="fairgov audit federated"):
        parse_spec(federated_spec().model_dump(mode="json"))


def test_a_federated_spec_names_each_dataset_once_by_id_or_name() -> None:
    # Regression (#16 review): a spec naming one dataset twice made the server wait for a
    # node that could never be admitted.
    spec = federated_spec()
    by_name = FederatedSpec.model_validate(spec.model_dump() | {"datasets": list(NODES)})
    assert by_name.dataset_ids == spec.dataset_ids
    for twice in ([NODES[0], NODES[0]], [NODES[0], dataset_id_of(NODES[0])]):
        with pytest.raises(ValueError, match="named twice"):
            FederatedSpec.model_validate(spec.model_dump() | {"datasets": twice})
