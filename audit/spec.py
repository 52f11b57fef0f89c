"""The model spec: what to train (name, dataset, estimator, hyperparameters, split, seed).

A spec is validated once (:func:`parse_spec`, which also builds its estimator so bad
hyperparameters fail before any run starts) and hashed as canonical JSON into the run id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from audit.errors import InvalidModelSpec
from core.canonical import canonical_json

Estimator = Literal["logistic_regression", "hist_gradient_boosting"]
_ESTIMATORS: dict[str, Any] = {
    "logistic_regression": (LogisticRegression, {"max_iter": 1000}),
    "hist_gradient_boosting": (HistGradientBoostingClassifier, {}),
}

#: Evidence settings a spec may not choose: a governed run takes them from the voted rule.
_VOTED_FIELDS = frozenset({"min_group_size", "min_denominator", "confidence_level"})


class ModelSpec(BaseModel):
    """What to train: the model's name, the dataset, the estimator and how to split.

    Examples
    --------
    >>> ModelSpec(name="loans-lr", dataset="loans").estimator
    'logistic_regression'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    dataset: str = Field(min_length=1, max_length=200)
    estimator: Estimator = "logistic_regression"
    hyperparameters: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    test_size: float = Field(default=0.25, gt=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    include_sensitive: bool = False
    n_boot: int = Field(default=200, ge=0, le=10_000, description="bootstrap replicates")

    @model_validator(mode="before")
    @classmethod
    def _no_evidence_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in _VOTED_FIELDS.intersection(data):
                raise ValueError(f"{key} is voted policy (the evidence rule), not part of a spec")
        return data

    def canonical_json(self) -> bytes:
        """The spec as canonical JSON (:func:`core.canonical.canonical_json`: sorted keys,
        UTF-8, no whitespace): part of the run id."""
        return canonical_json(self.model_dump(mode="json"))


def parse_spec(data: Any) -> ModelSpec:
    """A :class:`ModelSpec` from parsed YAML or JSON; :class:`InvalidModelSpec` if bad.

    Examples
    --------
    >>> parse_spec({"name": "m", "dataset": "loans", "seed": 3}).seed
    3
    """
    try:
        spec = ModelSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise InvalidModelSpec(f"{where}: {first['msg']}") from None
    make_estimator(spec)
    return spec


def load_spec(path: Path) -> ModelSpec:
    """Read a model spec from a YAML (``.yaml``/``.yml``) or JSON file.

    Examples
    --------
    >>> load_spec(Path("model.yaml")).name  # doctest: +SKIP
    'loans-lr'
    """
    try:
        text = path.read_text("utf-8")
        data = yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except OSError as exc:
        raise InvalidModelSpec(f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidModelSpec(f"{path} is not valid YAML or JSON ({exc})") from None
    return parse_spec(data)


def make_estimator(spec: ModelSpec) -> ClassifierMixin:
    """The unfitted estimator of ``spec``, seeded when it has randomness."""
    cls, defaults = _ESTIMATORS[spec.estimator]
    params = {**defaults, **spec.hyperparameters}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", spec.seed)
    try:
        estimator: ClassifierMixin = cls(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise InvalidModelSpec(f"hyperparameters for {spec.estimator}: {exc}") from None
    return estimator
