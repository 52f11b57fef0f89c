"""The policy a proposal would leave behind: its actions applied to a snapshot, in order.

This mirrors what each TrainingPolicy setter stores (and refuses), not what the classifier
decides: whether a change is loosening is read from the chain (:mod:`governance.protection`).
Actions outside the TrainingPolicy (governor settings, auditors, raw calls, kinds this
version does not know) change nothing the preview can judge models by; they are listed, so
the preview says what it did not model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.impact._errors import ActionNotApplicable
from governance.actions import (
    Action,
    AllowDataset,
    ClearEvidenceRule,
    ClearThreshold,
    RevokeDataset,
    SetEvidenceRule,
    SetFederationPolicy,
    SetMitigation,
    SetThreshold,
    confidence_to_fixed,
    describe,
    from_fixed,
    to_fixed,
)
from governance.policy.models import (
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
)

NO_THRESHOLD = "there is no threshold on {metric} to clear"
NO_OVERRIDE = "{metric} has no evidence rule of its own to clear"
UNKNOWN_DATASET = "dataset {dataset_id} is not registered"
NOT_ALLOWED = "dataset {dataset_id} is not allowed, so it cannot be revoked"
NOT_MODELLED = "{summary}: not a change of the fairness policy, so it changes no verdict here"


@dataclass(frozen=True)
class ProposedPolicy:
    """The snapshot after a proposal's actions, and what the preview did not model."""

    snapshot: PolicySnapshot
    unmodelled: tuple[str, ...]
    revoked: tuple[str, ...]

    def mitigation_changed(self, current: PolicySnapshot) -> bool:
        """Whether the proposal trains models differently from now on."""
        return self.snapshot.mitigation != current.mitigation


def _threshold(action: SetThreshold) -> ThresholdEntry:
    value = str(from_fixed(to_fixed(action.value)))
    return ThresholdEntry(metric=action.metric, value=value, direction=action.direction)


def _rule(action: SetEvidenceRule) -> EvidenceRuleEntry:
    return EvidenceRuleEntry(
        metric=action.metric,
        confidence_level=str(from_fixed(confidence_to_fixed(action.confidence_level))),
        min_group_size=action.min_group_size,
        min_denominator=action.min_denominator,
        on_inconclusive=action.on_inconclusive,
    )


class _Policy:
    """A mutable working copy of a snapshot's contents."""

    def __init__(self, snapshot: PolicySnapshot) -> None:
        self.datasets = {d.dataset_id: d for d in snapshot.datasets}
        self.thresholds = {t.metric: t for t in snapshot.thresholds}
        self.overrides = {r.metric: r for r in snapshot.evidence_overrides}
        self.evidence = snapshot.evidence
        self.mitigation = snapshot.mitigation
        self.federation = snapshot.federation
        self.revoked: list[str] = []

    def apply(self, action: Action) -> str | None:
        """Apply one action; the problem if the contract would revert it, else None."""
        if isinstance(action, SetThreshold):
            self.thresholds[action.metric] = _threshold(action)
        elif isinstance(action, ClearThreshold):
            if self.thresholds.pop(action.metric, None) is None:
                return NO_THRESHOLD.format(metric=action.metric)
        elif isinstance(action, SetMitigation):
            self.mitigation = Mitigation(strategy=action.strategy, constraint=action.constraint)
        elif isinstance(action, SetEvidenceRule):
            if action.metric is None:
                self.evidence = _rule(action)
            else:
                self.overrides[action.metric] = _rule(action)
        elif isinstance(action, ClearEvidenceRule):
            if self.overrides.pop(action.metric, None) is None:
                return NO_OVERRIDE.format(metric=action.metric)
        elif isinstance(action, RevokeDataset):
            return self._revoke(action.dataset_id.lower())
        elif isinstance(action, AllowDataset):
            self.datasets[action.dataset_id] = DatasetEntry.from_offer(action.offer)
        elif isinstance(action, SetFederationPolicy):
            # Central audits do not read it; the snapshot (and its version) still change.
            self.federation = FederationPolicy.from_action(action)
        return None

    def _revoke(self, dataset_id: str) -> str | None:
        entry = self.datasets.get(dataset_id)
        if entry is None:
            return UNKNOWN_DATASET.format(dataset_id=dataset_id)
        if not entry.allowed:
            return NOT_ALLOWED.format(dataset_id=dataset_id)
        self.datasets[dataset_id] = entry.model_copy(update={"allowed": False})
        self.revoked.append(dataset_id)
        return None


_POLICY_ACTIONS = (
    SetThreshold,
    ClearThreshold,
    SetMitigation,
    SetEvidenceRule,
    ClearEvidenceRule,
    RevokeDataset,
    AllowDataset,
    SetFederationPolicy,
)


def apply_actions(snapshot: PolicySnapshot, actions: Sequence[Action]) -> ProposedPolicy:
    """The policy after ``actions`` execute in order on ``snapshot``.

    The result keeps the snapshot's chain, contract and block (it is not on chain yet) and
    raises ``policy_version`` by one per policy change, as the contract does.

    Raises
    ------
    ActionNotApplicable
        An action the TrainingPolicy would revert at that point (clearing a threshold or an
        evidence rule that is not there, revoking a dataset that is not allowed).

    Examples
    --------
    >>> proposed = apply_actions(snapshot, [ClearThreshold(metric="accuracy")])  # doctest: +SKIP
    >>> [t.metric for t in proposed.snapshot.thresholds]  # doctest: +SKIP
    []
    """
    policy = _Policy(snapshot)
    unmodelled: list[str] = []
    changes = 0
    for index, action in enumerate(actions, start=1):
        if not isinstance(action, _POLICY_ACTIONS):
            unmodelled.append(NOT_MODELLED.format(summary=describe(action)))
            continue
        problem = policy.apply(action)
        if problem is not None:
            raise ActionNotApplicable(index, describe(action), problem)
        changes += 1
    proposed = snapshot.model_copy(
        update={
            "policy_version": snapshot.policy_version + changes,
            "datasets": tuple(sorted(policy.datasets.values(), key=lambda d: d.dataset_id)),
            "thresholds": tuple(sorted(policy.thresholds.values(), key=lambda t: t.metric)),
            "mitigation": policy.mitigation,
            "evidence": policy.evidence,
            "evidence_overrides": tuple(
                sorted(policy.overrides.values(), key=lambda r: r.metric or "")
            ),
            "federation": policy.federation,
        }
    )
    return ProposedPolicy(proposed, tuple(unmodelled), tuple(policy.revoked))
