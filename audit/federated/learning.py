"""Federated logistic regression: the nodes' updates, attacks for tests, the final model.

The column summaries and the global preprocessor live in :mod:`audit.federated.summaries`
and are re-exported here, so callers keep one import for the learning side of a run.

The model is scikit-learn's :class:`~sklearn.linear_model.LogisticRegression`, its
parameters a ``list`` of numpy arrays ``[coef, intercept]`` (Flower's ``ArrayRecord``
shape). :func:`local_fit` warm-starts the same estimator the central pipeline trains
(lbfgs, L2 penalty), rather than ``SGDClassifier``: a node then optimises the pooled
objective restricted to its rows, with no learning-rate schedule to tune, and the final
model is a ``LogisticRegression`` that :mod:`audit.models` already trusts and hashes.
:func:`to_model_artifact` turns the final parameters and preprocessor into a model that
:func:`audit.training.predict`, :func:`audit.models.save_model` and the gate accept.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from audit.errors import AuditError
from audit.federated.summaries import (
    CategoricalSummary,
    ColumnSummary,
    FrameSummary,
    InvalidNodeSummary,
    NumericSummary,
    combine,
    global_preprocessor,
    summarize,
)
from audit.training import MODEL_FORMAT, ModelArtifact
from core.errors import ErrorCategory

__all__ = [
    "SCALE_FACTOR",
    "Attack",
    "CategoricalSummary",
    "ColumnSummary",
    "FrameSummary",
    "InvalidNodeSummary",
    "InvalidNodeUpdate",
    "NodeLacksBothClasses",
    "NumericSummary",
    "Params",
    "attacked_fit",
    "check_params",
    "combine",
    "global_preprocessor",
    "initial_params",
    "local_fit",
    "predict",
    "predict_proba",
    "summarize",
    "to_model_artifact",
]

Params = list[np.ndarray[Any, Any]]
"""Logistic-regression parameters: ``[coef of shape (1, n_inputs), intercept of shape (1,)]``."""

SCALE_FACTOR = 10.0
"""How much the ``scale`` attack multiplies its node's update (params - global params)."""


class InvalidNodeUpdate(AuditError):
    """A node's model parameters have the wrong shape or are not finite numbers."""

    code: ClassVar[str] = "invalid_node_update"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"rejected a node's model update: {problem}; the node must run fairgov's client "
            "app of the same model version",
            problem=problem,
        )


class NodeLacksBothClasses(AuditError):
    """A node's training rows hold a single label, so logistic regression cannot fit them."""

    code: ClassVar[str] = "node_lacks_both_classes"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, label: int) -> None:
        super().__init__(
            f"every training row of this node has label {label}; a node needs rows of both "
            "labels to train (leave it out of training, or give it more rows)",
            label=label,
        )


def initial_params(n_inputs: int) -> Params:
    """Zero coefficients and intercept for ``n_inputs`` transformed inputs."""
    return [np.zeros((1, n_inputs)), np.zeros(1)]


def check_params(params: Sequence[Any], n_inputs: int) -> Params:
    """``params`` as float arrays of the model's shapes.

    Raises
    ------
    InvalidNodeUpdate
        Not two arrays of shapes ``(1, n_inputs)`` and ``(1,)``, or a value not finite.
    """
    if len(params) != 2:
        raise InvalidNodeUpdate(f"{len(params)} arrays instead of 2 (coef, intercept)")
    arrays = [np.asarray(array, dtype=np.float64) for array in params]
    shapes = [array.shape for array in arrays]
    if shapes != [(1, n_inputs), (1,)]:
        raise InvalidNodeUpdate(f"shapes {shapes} instead of {[(1, n_inputs), (1,)]}")
    if not all(np.isfinite(array).all() for array in arrays):
        raise InvalidNodeUpdate("a parameter is not a finite number")
    return arrays


def _estimator(params: Params, *, c: float = 1.0, seed: int = 0) -> LogisticRegression:
    coef, intercept = check_params(params, np.shape(params[0])[-1])
    model = LogisticRegression(C=c, max_iter=1000, random_state=seed)
    model.classes_ = np.array([0, 1])
    model.coef_ = coef.copy()
    model.intercept_ = intercept.copy()
    model.n_features_in_ = coef.shape[1]
    return model


def local_fit(
    params: Params,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    *,
    epochs: int,
    seed: int,
    c: float = 1.0,
) -> Params:
    """Train ``params`` on a node's transformed rows for ``epochs`` lbfgs iterations.

    Parameters
    ----------
    params : list of ndarray
        The global parameters to start from.
    x, y : ndarray
        The node's preprocessed inputs and 0/1 labels.
    epochs : int
        lbfgs iterations (``max_iter``); stopping before convergence is expected.
    seed : int
        ``random_state`` of the estimator (lbfgs itself draws nothing).
    c : float, default 1.0
        Inverse L2 strength. ``C * rows_pooled / rows_node`` gives every node the pooled
        model's regularisation per row.

    Raises
    ------
    NodeLacksBothClasses
        Every label of ``y`` is the same.

    Examples
    --------
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> coef, _ = local_fit(initial_params(1), x, np.array([0, 0, 1, 1]), epochs=5, seed=0)
    >>> bool(coef[0, 0] > 0)
    True
    """
    labels = np.unique(y)
    if len(labels) < 2:
        raise NodeLacksBothClasses(int(labels[0]) if len(labels) else 0)
    model = _estimator(params, c=c, seed=seed)
    model.set_params(max_iter=epochs, warm_start=True)
    with warnings.catch_warnings():
        # A few iterations per round stop short of convergence on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    return [model.coef_.copy(), model.intercept_.copy()]


def predict_proba(params: Params, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Class probabilities of shape ``(n, 2)``, as ``LogisticRegression.predict_proba``."""
    probabilities: np.ndarray[Any, Any] = _estimator(params).predict_proba(x)
    return probabilities


def predict(params: Params, x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """0/1 predictions, as ``LogisticRegression.predict``."""
    predictions: np.ndarray[Any, Any] = _estimator(params).predict(x).astype(np.int64)
    return predictions


class Attack(StrEnum):
    """What a poisoning node does, for tests and benchmarks."""

    NONE = "none"
    LABEL_FLIP = "label_flip"
    """Train on ``1 - y``."""
    SCALE = "scale"
    """Send ``global + SCALE_FACTOR * (params - global)``."""


def attacked_fit(
    attack: Attack,
    params: Params,
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    *,
    epochs: int,
    seed: int,
    c: float = 1.0,
) -> Params:
    """:func:`local_fit` as an attacking node runs it.

    Examples
    --------
    >>> x, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> coef, _ = attacked_fit(Attack.LABEL_FLIP, initial_params(1), x, y, epochs=5, seed=0)
    >>> bool(coef[0, 0] < 0)
    True
    """
    labels = 1 - y if attack is Attack.LABEL_FLIP else y
    fitted = local_fit(params, x, labels, epochs=epochs, seed=seed, c=c)
    if attack is Attack.SCALE:
        return [g + SCALE_FACTOR * (p - g) for g, p in zip(params, fitted, strict=True)]
    return fitted


def to_model_artifact(
    params: Params,
    preprocessor: ColumnTransformer,
    *,
    inputs: Sequence[str],
    sensitive: Sequence[str],
    seed: int,
    c: float = 1.0,
) -> ModelArtifact:
    """The federated model as a fairgov model artifact (kind ``none``: no mitigation).

    Its pipeline is the fitted ``preprocessor`` and a ``LogisticRegression`` holding
    ``params``, so :func:`audit.training.predict` runs it, and
    :func:`audit.models.save_model` stores and hashes it, like a centrally trained model.

    Add the voted ThresholdOptimizer with :func:`audit.federated.mitigation.with_thresholds`.

    Raises
    ------
    InvalidNodeUpdate
        ``params`` do not fit the preprocessor's outputs.
    """
    width = len(preprocessor.get_feature_names_out())
    estimator = _estimator(check_params(params, width), c=c, seed=seed)
    pipeline = Pipeline([("preprocess", preprocessor), ("estimator", estimator)])
    return {
        "format": MODEL_FORMAT,
        "kind": "none",
        "constraint": "",
        "inputs": list(inputs),
        "sensitive": list(sensitive),
        "seed": seed,
        "pipeline": pipeline,
    }
