"""Deciding whether a model's last run used the same spec."""

from __future__ import annotations

import json

from audit.service.due import _same_spec
from audit.spec import ModelSpec


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
