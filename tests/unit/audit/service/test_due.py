"""Deciding whether a model's last run used the same spec, and which specs are known."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from sqlmodel import Session

from audit.db_models import RunKind
from audit.service.due import _same_spec, known_specs
from audit.spec import ModelSpec
from core.db import session_scope
from tests.unit.audit.service.external_rows import external_audit
from tests.unit.audit.test_gate_withdrawals import trained


def test_a_row_written_with_the_old_ascii_escaped_spec_still_matches() -> None:
    spec = ModelSpec(name="modèle", dataset="prêts")
    legacy = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert "\\u00e8" in legacy
    assert _same_spec(legacy, spec)
    assert _same_spec(spec.canonical_json().decode("utf-8"), spec)


def test_another_spec_does_not_match() -> None:
    spec = ModelSpec(name="m", dataset="d", hyperparameters={"C": 1.0})
    other = ModelSpec(name="m", dataset="d", hyperparameters={"C": 1})
    assert not _same_spec(other.canonical_json().decode("utf-8"), spec)
    assert not _same_spec(ModelSpec(name="m", dataset="d", seed=1).canonical_json().decode(), spec)


def test_external_models_are_never_due_fairgov_cannot_train_them(engine: Engine) -> None:
    with session_scope(engine) as session:
        trained(session, "lr", ModelSpec(name="lr", dataset="loans"), policy_version=4)
        external_audit(session, "pipe", "loans")
        external_audit(session, "xgb", "loans", kind=RunKind.REAUDIT, n=2)
    with Session(engine) as session:
        assert [s.name for s in known_specs(session)] == ["lr"]
