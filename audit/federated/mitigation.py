"""Fairlearn's ThresholdOptimizer fitted from score histograms summed across nodes.

A node scores its training rows with the federated model and sends, per group, how many
rows of each label fall on each point of a score grid ``0, 1/bins, ..., 1`` (each score is
rounded to the nearest grid point). Counts add up, so :func:`combine` of the nodes'
histograms holds the pooled rows' rounded scores, labels and groups, without their order.
:func:`fit` expands the sum back into one row per count and fits Fairlearn's own
:class:`~fairlearn.postprocessing.ThresholdOptimizer` on it (Fairlearn takes no sample
weights here; its result depends only on the sorted scores, so row order does not matter).

Exactness: the fitted thresholds and mixing probabilities equal those of
``ThresholdOptimizer`` fitted on the pooled training rows with their scores rounded to the
grid (tested to the last digit). They are not those of a fit on the raw scores: rounding
merges scores closer than a grid step, so both the thresholds and the mixing probabilities
can move; a finer grid (more ``bins``) costs only bytes, ``2 * (bins + 1)`` counts per group.
:func:`thresholds` returns them in the form :func:`audit.training.predict` applies to the
model's raw scores.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.linear_model import LinearRegression

from audit.errors import AuditError, UnsupportedMitigation
from audit.training import ModelArtifact, thresholds_of
from core.errors import ErrorCategory

Constraint = Literal[
    "demographic_parity",
    "equalized_odds",
    "true_positive_rate_parity",
    "false_positive_rate_parity",
]
CONSTRAINTS: tuple[str, ...] = get_args(Constraint)
MAX_BINS = 100_000
Count = Annotated[int, Field(ge=0)]


class InvalidNodeHistogram(AuditError):
    """A node's score histogram is malformed or uses another grid than the others."""

    code: ClassVar[str] = "invalid_node_histogram"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"rejected a node's score histogram: {problem}; the node must run fairgov's "
            "client app of the same model version",
            problem=problem,
        )


class ScoreHistogram(BaseModel):
    """Per group: ``[rows of label 0, rows of label 1]`` on each of ``bins + 1`` grid points."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    bins: int = Field(ge=1, le=MAX_BINS)
    counts: dict[str, tuple[list[Count], list[Count]]]

    @model_validator(mode="after")
    def _on_the_grid(self) -> ScoreHistogram:
        for group, per_label in self.counts.items():
            for counts in per_label:
                if len(counts) != self.bins + 1:
                    raise ValueError(
                        f"group {group!r} has {len(counts)} grid points, not {self.bins + 1}"
                    )
        return self

    def to_json(self) -> str:
        """The histogram as JSON, for :meth:`from_json` on the server."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> ScoreHistogram:
        """Read a histogram a node sent.

        Raises
        ------
        InvalidNodeHistogram
            The JSON is not a histogram, a count is negative, or a group is off the grid.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"]) or "histogram"
            raise InvalidNodeHistogram(f"{where}: {error['msg']}") from None


def grid_index(scores: np.ndarray[Any, Any], bins: int) -> np.ndarray[Any, Any]:
    """The grid point nearest each score in [0, 1] (halves round to even, as ``np.rint``)."""
    index: np.ndarray[Any, Any] = np.clip(np.rint(np.asarray(scores) * bins), 0, bins)
    return index.astype(np.int64)


def rounded(scores: np.ndarray[Any, Any], bins: int) -> np.ndarray[Any, Any]:
    """Scores rounded to the grid, as the histogram holds them."""
    values: np.ndarray[Any, Any] = grid_index(scores, bins) / bins
    return values


def histogram(
    scores: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    groups: np.ndarray[Any, Any],
    *,
    bins: int,
) -> ScoreHistogram:
    """A node's histogram of its rows' positive-class scores, per group and label.

    Parameters
    ----------
    scores : ndarray of shape (n,)
        Positive-class probabilities of the node's training rows.
    y : ndarray of shape (n,)
        Their 0/1 labels.
    groups : ndarray of shape (n,)
        Their group keys (:func:`audit.training.group_keys`).
    bins : int
        Grid steps between 0 and 1; the same on every node.

    Examples
    --------
    >>> h = histogram(np.array([0.1, 0.8]), np.array([0, 1]), np.array(["A", "A"]), bins=10)
    >>> h.counts["A"][1][8]
    1
    """
    index = grid_index(scores, bins)
    labels = np.asarray(y, dtype=np.int64)
    keys = np.asarray(groups).astype(str)
    counts: dict[str, tuple[list[int], list[int]]] = {}
    for group in sorted(set(keys.tolist())):
        rows = keys == group
        per_label = [
            np.bincount(index[rows & (labels == label)], minlength=bins + 1).tolist()
            for label in (0, 1)
        ]
        counts[group] = (per_label[0], per_label[1])
    return ScoreHistogram(bins=bins, counts=counts)


def combine(parts: Iterable[ScoreHistogram]) -> ScoreHistogram:
    """The pooled histogram: the sum of the nodes' histograms.

    Raises
    ------
    InvalidNodeHistogram
        No histograms, or nodes on different grids.
    """
    parts = list(parts)
    if not parts:
        raise InvalidNodeHistogram("no node sent a histogram")
    bins = parts[0].bins
    if any(part.bins != bins for part in parts):
        raise InvalidNodeHistogram(f"grids of {sorted({p.bins for p in parts})} steps")
    total: dict[str, np.ndarray[Any, Any]] = {}
    for part in parts:
        for group, per_label in part.counts.items():
            total[group] = total.get(group, 0) + np.array(per_label, dtype=np.int64)
    counts = {g: (c[0].tolist(), c[1].tolist()) for g, c in sorted(total.items())}
    return ScoreHistogram(bins=bins, counts=counts)


def expand(pooled: ScoreHistogram) -> tuple[np.ndarray[Any, Any], ...]:
    """One row per count: rounded scores of shape (n, 1), labels and group keys."""
    grid = np.arange(pooled.bins + 1) / pooled.bins
    scores, labels, groups = [], [], []
    for group, per_label in pooled.counts.items():
        for label, counts in enumerate(per_label):
            repeated = np.repeat(grid, counts)
            scores.append(repeated)
            labels.append(np.full(len(repeated), label, dtype=np.int64))
            groups.append(np.full(len(repeated), group, dtype=object))
    return np.concatenate(scores)[:, None], np.concatenate(labels), np.concatenate(groups)


def score_passthrough() -> LinearRegression:
    """A fitted estimator whose ``predict`` returns its single input column unchanged."""
    identity = LinearRegression()
    identity.coef_ = np.array([1.0])
    identity.intercept_ = 0.0
    identity.n_features_in_ = 1
    return identity


def fit(pooled: ScoreHistogram, *, constraint: str) -> Any:
    """Fairlearn's ``ThresholdOptimizer`` fitted on the pooled histogram's rows.

    Its estimator passes the score column through, so it predicts from scores:
    ``optimizer.predict(scores[:, None], sensitive_features=keys, random_state=0)``.

    Raises
    ------
    UnsupportedMitigation
        ``constraint`` is not one ThresholdOptimizer supports.
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    if constraint not in CONSTRAINTS:
        raise UnsupportedMitigation("threshold_optimizer", constraint)
    x, y, groups = expand(pooled)
    optimizer = ThresholdOptimizer(
        estimator=score_passthrough(), constraints=constraint, prefit=True, predict_method="predict"
    )
    return optimizer.fit(x, y, sensitive_features=groups)


def thresholds(pooled: ScoreHistogram, *, constraint: str) -> dict[str, list[Any]]:
    """The per-group thresholds of :func:`fit`, as a model artifact stores them."""
    return thresholds_of(fit(pooled, constraint=constraint))


def with_thresholds(
    model: ModelArtifact, pooled: ScoreHistogram, *, constraint: str
) -> ModelArtifact:
    """A federated model (see :func:`audit.federated.learning.to_model_artifact`) with the
    voted ThresholdOptimizer fitted from the pooled histogram, as :func:`audit.training.train`
    stores a centrally mitigated one.

    Examples
    --------
    >>> mitigated = with_thresholds(model, combine(parts),
    ...                             constraint="demographic_parity")  # doctest: +SKIP
    """
    return thresholded(model, thresholds(pooled, constraint=constraint), constraint=constraint)


def thresholded(
    model: ModelArtifact, fitted: dict[str, list[Any]], *, constraint: str
) -> ModelArtifact:
    """``model`` applying the per-group ``fitted`` thresholds (:func:`thresholds`), as
    :func:`audit.training.train` stores a centrally mitigated one."""
    return {**model, "kind": "threshold_optimizer", "constraint": constraint, "thresholds": fitted}
