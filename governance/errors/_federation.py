"""Errors of the federation policy (#16): the voted aggregation, privacy budget and minimum
number of nodes of federated runs, refused before anything is proposed."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError

AGGREGATIONS_HINT = "fedavg, fedmedian, fedtrimmedavg or krum"


class InvalidAggregation(GovernanceError):
    """The aggregation strategy is not one the TrainingPolicy knows."""

    code: ClassVar[str] = "invalid_aggregation"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: object) -> None:
        super().__init__(
            f"the aggregation strategy {value!r} is unknown: use {AGGREGATIONS_HINT}",
            value=str(value),
        )


class InvalidTrimBeta(GovernanceError):
    """FedTrimmedAvg's beta is not strictly between 0 and 0.5 with at most six decimals."""

    code: ClassVar[str] = "invalid_trim_beta"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: object, problem: str) -> None:
        super().__init__(
            f"trim_beta {value} is invalid: {problem}; use the fraction FedTrimmedAvg cuts from "
            "each end, strictly between 0 and 0.5 with at most six decimals, for example 0.2",
            value=str(value),
            problem=problem,
        )


class InvalidKrumF(GovernanceError):
    """Krum's f is not a whole number that fits, or is given with another strategy."""

    code: ClassVar[str] = "invalid_krum_f"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: object, problem: str) -> None:
        super().__init__(
            f"krum_f {value!r} is invalid: {problem}", value=str(value), problem=problem
        )


class InvalidEpsilon(GovernanceError):
    """The privacy budget is not a positive number with at most six decimals (or none)."""

    code: ClassVar[str] = "invalid_epsilon"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: object, problem: str) -> None:
        super().__init__(
            f"epsilon {value} is invalid: {problem}; use a positive number with at most six "
            "decimals (for example 1.0), or none (0) for counts without noise",
            value=str(value),
            problem=problem,
        )


class InvalidMinNodes(GovernanceError):
    """Too few nodes for the strategy (at least 1; Krum needs 2 * krum_f + 3)."""

    code: ClassVar[str] = "invalid_min_nodes"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: object, problem: str) -> None:
        super().__init__(
            f"min_nodes {value!r} is invalid: {problem}", value=str(value), problem=problem
        )


class PolicyLacksFederationPolicy(GovernanceError):
    """The deployed TrainingPolicy predates the federation policy (an older contract)."""

    code: ClassVar[str] = "policy_lacks_federation_policy"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, policy: str, path: Path | None = None) -> None:
        where = "the data directory's deployment.json" if path is None else str(path)
        super().__init__(
            f"the TrainingPolicy {policy} predates the federation policy, so its rules cannot "
            f"be read: move {where} aside and run `fairgov run` to deploy the current "
            "contracts, then propose the datasets and thresholds again",
            policy=policy,
        )
