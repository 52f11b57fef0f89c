"""Stand-ins until ``bias_checks.group_counts`` and ``audit.federated.learning`` land.

Only the interface the federated runtime relies on, with the same names: counts with
``to_json``, ``from_json`` (raising code ``invalid_counts``) and ``combine``; column
summaries, the global preprocessor and logistic-regression updates. Deleted on merge.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from core.errors import ErrorCategory, FairgovError


class InvalidCountsError(FairgovError):
    """Bytes that are not per-group confusion counts."""

    code: ClassVar[str] = "invalid_counts"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"not per-group confusion counts: {problem}", problem=problem)


_CELLS = ("tp", "fp", "tn", "fn")


@dataclass(frozen=True)
class GroupCounts:
    """Weighted confusion counts per group: ``{group: {tp, fp, tn, fn}}``."""

    groups: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(
            {"groups": {g: dict(c) for g, c in self.groups.items()}}, sort_keys=True
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> GroupCounts:
        try:
            data = json.loads(raw)
            groups = data["groups"]
            parsed = {str(g): {k: float(c[k]) for k in _CELLS} for g, c in dict(groups).items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InvalidCountsError(str(exc)) from None
        if any(v < 0 or not np.isfinite(v) for c in parsed.values() for v in c.values()):
            raise InvalidCountsError("a count is negative or not finite")
        return cls(parsed)

    @classmethod
    def combine(cls, parts: Sequence[GroupCounts]) -> GroupCounts:
        total: dict[str, dict[str, float]] = {}
        for part in parts:
            for g, c in part.groups.items():
                cell = total.setdefault(g, dict.fromkeys(_CELLS, 0.0))
                for k in _CELLS:
                    cell[k] += c[k]
        return cls(total)


def group_counts(y_true: ArrayLike, y_pred: ArrayLike, sensitive: ArrayLike) -> GroupCounts:
    """Unweighted confusion counts of ``y_pred`` against ``y_true`` per sensitive group."""
    t, p, s = (np.asarray(a) for a in (y_true, y_pred, sensitive))
    groups: dict[str, Any] = {}
    for g in sorted({str(v) for v in s}):
        m = s.astype(str) == g
        groups[g] = {
            "tp": float(np.sum((t[m] == 1) & (p[m] == 1))),
            "fp": float(np.sum((t[m] == 0) & (p[m] == 1))),
            "tn": float(np.sum((t[m] == 0) & (p[m] == 0))),
            "fn": float(np.sum((t[m] == 1) & (p[m] == 0))),
        }
    return GroupCounts(groups)


# -- learning: the interface of ``audit.federated.learning`` (numeric inputs only) ----------


class FrameSummary(BaseModel):
    """Per numeric column: count, sum and sum of squares; mergeable across nodes."""

    model_config = ConfigDict(frozen=True)
    rows: int
    columns: list[tuple[str, dict[str, float]]]

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> FrameSummary:
        return cls.model_validate_json(text)


def summarize(frame: pd.DataFrame) -> FrameSummary:
    columns = []
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=np.float64)
        columns.append(
            (
                str(name),
                {
                    "count": float(len(values)),
                    "total": math.fsum(values),
                    "squares": math.fsum(values * values),
                },
            )
        )
    return FrameSummary(rows=len(frame), columns=columns)


def combine(parts: Iterable[FrameSummary]) -> FrameSummary:
    parts = list(parts)
    columns = [
        (name, {k: sum(p.columns[i][1][k] for p in parts) for k in stats})
        for i, (name, stats) in enumerate(parts[0].columns)
    ]
    return FrameSummary(rows=sum(p.rows for p in parts), columns=columns)


def global_preprocessor(summary: FrameSummary) -> ColumnTransformer:
    names = [name for name, _ in summary.columns]
    count = np.array([s["count"] for _, s in summary.columns])
    mean = np.array([s["total"] for _, s in summary.columns]) / count
    variance = np.array([s["squares"] for _, s in summary.columns]) / count - mean * mean
    skeleton = pd.DataFrame([[0.0] * len(names), [1.0] * len(names)], columns=names)
    pre = ColumnTransformer([("numeric", StandardScaler(), names)]).fit(skeleton)
    scaler = pre.named_transformers_["numeric"]
    scaler.mean_, scaler.var_ = mean, variance
    scaler.scale_ = np.sqrt(np.maximum(variance, 1e-12))
    return pre


Params = list[NDArray[Any]]


def initial_params(n_inputs: int) -> Params:
    return [np.zeros((1, n_inputs)), np.zeros(1)]


def check_params(params: Sequence[Any], n_inputs: int) -> Params:
    arrays = [np.asarray(a, dtype=np.float64) for a in params]
    if [a.shape for a in arrays] != [(1, n_inputs), (1,)]:
        raise ValueError(f"shapes {[a.shape for a in arrays]}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("a parameter is not a finite number")
    return arrays


def _estimator(params: Params) -> LogisticRegression:
    model = LogisticRegression(max_iter=1000)
    model.classes_ = np.array([0, 1])
    model.coef_, model.intercept_ = params[0].copy(), params[1].copy()
    model.n_features_in_ = params[0].shape[1]
    return model


def local_fit(
    params: Params, x: NDArray[Any], y: NDArray[Any], *, epochs: int, seed: int, c: float = 1.0
) -> Params:
    model = _estimator(params)
    model.set_params(max_iter=epochs, warm_start=True, C=c, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return [model.coef_.copy(), model.intercept_.copy()]


def predict(params: Params, x: NDArray[Any]) -> NDArray[Any]:
    predictions: NDArray[Any] = _estimator(params).predict(x).astype(np.int64)
    return predictions


def add_noise(counts: GroupCounts, epsilon: float) -> GroupCounts:
    """Placeholder for :func:`audit.federated.privacy.add_noise` (OpenDP): refuses."""
    raise InvalidCountsError(f"noise with epsilon {epsilon} needs audit.federated.privacy")
