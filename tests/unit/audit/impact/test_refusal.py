"""Why the quick preview says a model's next audit would be refused: for each dataset it
trained on, and whether the proposal or the current policy does it (review, session 26)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from audit.impact._apply import apply_actions
from audit.impact._preview import (
    CONTENT_CHANGED,
    CONTENT_CHANGED_NOW,
    NOT_ALLOWED_NOW,
    REVOKED,
    _refusal,
)
from audit.report_model import DatasetInfo, DatasetPart
from governance.actions import RevokeDataset
from governance.policy.models import PolicySnapshot
from tests.unit.audit.federated.test_protocol import _snapshot

OTHER = "0x" + "cd" * 32


def _two_datasets() -> PolicySnapshot:
    snapshot = _snapshot()
    first = snapshot.datasets[0]
    second = first.model_copy(update={"dataset_id": OTHER, "content_hash": "0x" + "ee" * 32})
    return snapshot.model_copy(update={"datasets": (first, second)})


def _model(snapshot: PolicySnapshot) -> Any:
    """A model audited on both datasets as ``snapshot`` allows them (the report's parts)."""
    parts = [
        DatasetPart(
            name=f"part-{i}",
            dataset_id=e.dataset_id,
            content_hash=e.content_hash,
            manifest_hash=e.manifest_hash,
            rows=100,
        )
        for i, e in enumerate(snapshot.datasets)
    ]
    dataset = DatasetInfo(
        name="part-0 + part-1",
        dataset_id="0x" + "99" * 32,  # combined: no policy holds it
        content_hash="0x" + "98" * 32,
        rows=200,
        label="y",
        sensitive_features=["group"],
        datasets=parts,
    )
    return SimpleNamespace(report=SimpleNamespace(model=SimpleNamespace(dataset=dataset)))


def test_a_model_on_two_allowed_datasets_is_not_refused() -> None:
    snapshot = _two_datasets()
    # It was: its combined id is allowed by no policy, so it read "already withdrawn".
    assert _refusal(_model(snapshot), snapshot, apply_actions(snapshot, [])) is None


def test_each_dataset_is_checked_and_the_cause_named() -> None:
    snapshot = _two_datasets()
    model = _model(snapshot)
    revoked = apply_actions(snapshot, [RevokeDataset(dataset_id=OTHER)])
    assert _refusal(model, snapshot, revoked) == REVOKED.format(dataset="part-1")
    # Revoked before: the same draft of nothing blames the current policy.
    later = revoked.snapshot
    assert _refusal(model, later, apply_actions(later, [])) == NOT_ALLOWED_NOW.format(
        dataset="part-1"
    )
    other_content = snapshot.datasets[1].model_copy(update={"content_hash": "0x" + "ef" * 32})
    changed = snapshot.model_copy(update={"datasets": (snapshot.datasets[0], other_content)})
    assert _refusal(model, changed, apply_actions(changed, [])) == CONTENT_CHANGED_NOW.format(
        dataset="part-1"
    )
    proposed = SimpleNamespace(snapshot=changed, revoked=())
    assert _refusal(model, snapshot, proposed) == CONTENT_CHANGED.format(dataset="part-1")  # type: ignore[arg-type]
