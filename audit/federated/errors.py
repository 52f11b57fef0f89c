"""Errors of federated runs: each carries its data, a stable ``code`` and a ``category``.

A node's refusal travels to the server as its ``code`` and one-line message (never data),
and is listed in the run's outcome; the same classes are raised to the caller when a whole
run cannot proceed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from audit.errors import AuditError
from core.errors import ErrorCategory

if TYPE_CHECKING:
    from audit.federated.outcome import NodeRefusal


class TooFewNodes(AuditError):
    """Fewer nodes were accepted, or remained at a later stage, than the voted minimum;
    ``refusals`` names the others.

    ``accepted`` is how many nodes remained at ``stage``; ``admitted``, how many were
    accepted at admission (the same number when the run stopped at admission).
    """

    code: ClassVar[str] = "too_few_nodes"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(
        self,
        accepted: int,
        min_nodes: int,
        refusals: tuple[NodeRefusal, ...] = (),
        *,
        admitted: int | None = None,
        stage: str = "admission",
    ) -> None:
        named = "; ".join(
            f"node {r.node_id} ({r.dataset_id or 'no verified dataset'}): {r.code}"
            for r in refusals
        )
        if admitted is None or stage == "admission":
            admitted, counted = accepted, f"only {accepted} node(s) were accepted at admission"
        else:
            counted = (
                f"{admitted} node(s) were accepted at admission but only {accepted} remained "
                f"at the {stage}"
            )
        super().__init__(
            f"{counted}, and the policy needs at least {min_nodes}: start more provider "
            "nodes, or fix the refused ones" + (f" ({named})" if named else ""),
            accepted=accepted,
            min_nodes=min_nodes,
            admitted=admitted,
            stage=stage,
        )
        self.refusals = refusals


class NodeNotProvider(AuditError):
    """The node's key is not the key of the provider who registered the dataset."""

    code: ClassVar[str] = "node_not_provider"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, dataset_id: str, provider: str, signer: str) -> None:
        super().__init__(
            f"dataset {dataset_id} was offered by {provider}, but this node signs as {signer}: "
            "run the node with the key of the provider that offered the dataset",
            dataset_id=dataset_id,
            provider=provider,
            signer=signer,
        )


class InvalidNodeReply(AuditError):
    """A node's reply is malformed: missing records, wrong shapes, or a bad signature."""

    code: ClassVar[str] = "invalid_node_reply"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"the node's reply was rejected: {problem}", problem=problem)


class NodeDroppedOut(AuditError):
    """A node did not answer in time; it is left out of everything that follows."""

    code: ClassVar[str] = "node_dropped_out"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, stage: str) -> None:
        super().__init__(f"the node did not answer the {stage} in time", stage=stage)


class InvalidNodeConfig(AuditError):
    """The node was started without a setting it needs, or with an unreadable one."""

    code: ClassVar[str] = "invalid_node_config"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFIGURATION

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"the provider node is misconfigured: {problem}; restart `fairgov provider serve` "
            "with the missing option",
            problem=problem,
        )


class FederatedRunFailed(AuditError):
    """A Flower process died, timed out, or the run ended without an outcome."""

    code: ClassVar[str] = "federated_run_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, problem: str) -> None:
        super().__init__(f"the federated run failed: {problem}", problem=problem)


class DuplicateDataset(AuditError):
    """A second node offered a dataset another node already holds in this run."""

    code: ClassVar[str] = "duplicate_dataset"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, first_node: int) -> None:
        super().__init__(
            f"dataset {dataset_id} is already held by node {first_node} in this run; a "
            "dataset joins a run once",
            dataset_id=dataset_id,
            first_node=first_node,
        )


class EpsilonMismatch(AuditError):
    """The server asked for audit counts at an epsilon the policy on chain does not vote."""

    code: ClassVar[str] = "epsilon_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, asked: str | None, voted: str | None) -> None:
        super().__init__(
            f"the server asked for counts at epsilon {asked or 'none'} but the policy votes "
            f"{voted or 'none'}: the node noises at the voted epsilon only; restart the run "
            "under the current policy",
            asked=asked,
            voted=voted,
        )


class PrivacyBudgetSpent(AuditError):
    """The node already spent this run's epsilon on other audit counts."""

    code: ClassVar[str] = "privacy_budget_spent"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self) -> None:
        super().__init__(
            "this node already answered another audit query in this run and spends epsilon "
            "once per run; start a new run for a new audit"
        )


class DatasetNotInSpec(AuditError):
    """A node offered an allowed dataset that the run's spec does not name."""

    code: ClassVar[str] = "dataset_not_in_spec"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, dataset_id: str, named: tuple[str, ...]) -> None:
        super().__init__(
            f"dataset {dataset_id} is not one the run's spec names ({', '.join(named)}); "
            "stop this node or add its dataset to the spec",
            dataset_id=dataset_id,
            named=list(named),
        )


class VotedManifestNotStored(AuditError):
    """The manifest a dataset was allowed with (its ``manifestHash``) is not stored here, so
    the privileged group it may name is unknown: the run cannot choose one itself."""

    code: ClassVar[str] = "voted_manifest_not_stored"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, dataset_id: str, manifest_hash: str) -> None:
        super().__init__(
            f"dataset {dataset_id}: the manifest the DAO allowed ({manifest_hash}) is not "
            "stored here; register it (POST /v1/datasets with its JSON, or fairgov datasets "
            "register) before the federated run",
            dataset_id=dataset_id,
            manifest_hash=manifest_hash,
        )
