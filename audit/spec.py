"""The model spec: what to train (name, datasets, estimator, hyperparameters, split, seed).

A spec is validated once (:func:`parse_spec`, which also builds its estimator so bad
hyperparameters fail before any run starts) and hashed as canonical JSON into the run id.

A spec trains on one dataset (``dataset: loans``) or on several with the same schema
(``datasets: [loans-a, loans-b]``), concatenated in the order named. One dataset is always
written as ``dataset``, even when given as a one-item ``datasets`` list, so a single-dataset
spec keeps the canonical JSON (and the run ids) it had before specs could name several.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)

from audit.errors import InvalidModelSpec
from core.canonical import canonical_json
from governance.actions import dataset_id_of

if TYPE_CHECKING:  # scikit-learn loads only when an estimator is built (the gate reads specs)
    from sklearn.base import ClassifierMixin

Estimator = Literal["logistic_regression", "hist_gradient_boosting"]
_ESTIMATORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression", {"max_iter": 1000}),
    "hist_gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingClassifier", {}),
}
DatasetName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_DATASETS = 32

#: Evidence settings a spec may not choose: a governed run takes them from the voted rule.
_VOTED_FIELDS = frozenset({"min_group_size", "min_denominator", "confidence_level"})


class ModelSpec(BaseModel):
    """What to train: the model's name, its datasets, the estimator and how to split.

    Exactly one of ``dataset`` (one dataset) and ``datasets`` (two or more, same schema,
    concatenated in this order) is set; :attr:`dataset_names` gives them either way.

    Examples
    --------
    >>> ModelSpec(name="loans-lr", dataset="loans").estimator
    'logistic_regression'
    >>> ModelSpec(name="loans-lr", datasets=["loans-a", "loans-b"]).dataset_names
    ('loans-a', 'loans-b')
    >>> ModelSpec(name="loans-lr", datasets=["loans"]).dataset
    'loans'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    dataset: DatasetName | None = None
    datasets: tuple[DatasetName, ...] | None = Field(
        default=None, min_length=2, max_length=MAX_DATASETS
    )
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
            many = data.get("datasets")
            if isinstance(many, list | tuple) and len(many) == 1 and data.get("dataset") is None:
                data = {k: v for k, v in data.items() if k != "datasets"} | {"dataset": many[0]}
        return data

    @model_validator(mode="after")
    def _one_way_to_name_datasets(self) -> ModelSpec:
        if (self.dataset is None) == (self.datasets is None):
            raise ValueError("name the training data with either `dataset` or `datasets`")
        if self.datasets is not None and len(set(self.datasets)) != len(self.datasets):
            raise ValueError("`datasets` names a dataset twice")
        return self

    @model_serializer(mode="wrap")
    def _omit_the_unused_form(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k not in ("dataset", "datasets") or v is not None}

    @property
    def dataset_names(self) -> tuple[str, ...]:
        """The datasets to train on, in order (one for a ``dataset`` spec)."""
        return self.datasets if self.datasets is not None else (str(self.dataset),)

    def on_datasets(self, names: tuple[str, ...]) -> ModelSpec:
        """This spec trained on ``names`` instead (one name gives a ``dataset`` spec)."""
        data = self.model_dump(mode="json")
        data.pop("dataset", None)
        data.pop("datasets", None)
        return ModelSpec.model_validate(data | {"datasets": list(names)})

    def canonical_json(self) -> bytes:
        """The spec as canonical JSON (:func:`core.canonical.canonical_json`: sorted keys,
        UTF-8, no whitespace): part of the run id."""
        return canonical_json(self.model_dump(mode="json"))


class FederatedSpec(BaseModel):
    """A federated model (#16): logistic regression trained where the data lives, on the
    nodes holding the named allowed datasets (by id); see :mod:`audit.federated.governed`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    federated: Literal[True]
    datasets: tuple[str, ...] = Field(
        min_length=1, max_length=MAX_DATASETS, description="allowed dataset ids or names"
    )
    label: str
    positive_label: str = "1"
    features: tuple[str, ...] = Field(min_length=1)
    sensitive_features: tuple[str, ...] = Field(min_length=1)
    test_size: float = Field(default=0.25, gt=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    rounds: int = Field(default=5, ge=1, le=1000)
    epochs: int = Field(default=5, ge=1, le=1000)
    n_boot: int = Field(default=200, ge=0, le=10_000)

    @field_validator("datasets")
    @classmethod
    def _distinct_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        ids = [_as_dataset_id(d) for d in value]
        if len(set(ids)) != len(ids):
            raise ValueError("a dataset is named twice; each dataset is held by one node")
        return value

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        """The dataset ids: ``0x`` ids as given (lower case), names as their policy ids."""
        return tuple(_as_dataset_id(d) for d in self.datasets)

    def model_spec(self) -> ModelSpec:
        """The spec as a report's model block shows it (its name, seed and replicates)."""
        return ModelSpec(name=self.name, dataset=self.name, seed=self.seed, n_boot=self.n_boot)


def _as_dataset_id(value: str) -> str:
    if value.startswith("0x") and len(value) == 66:
        return value.lower()
    return dataset_id_of(value)


def is_federated(data: Any) -> bool:
    """Whether parsed spec data (or a stored spec's JSON object) is a federated spec."""
    return isinstance(data, dict) and data.get("federated") is True


def parse_federated_spec(data: Any) -> FederatedSpec:
    """A :class:`FederatedSpec` from parsed YAML or JSON; :class:`InvalidModelSpec` if bad."""
    try:
        return FederatedSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise InvalidModelSpec(f"{where}: {first['msg']}") from None


def parse_spec(data: Any) -> ModelSpec:
    """A :class:`ModelSpec` from parsed YAML or JSON; :class:`InvalidModelSpec` if bad.

    Examples
    --------
    >>> parse_spec({"name": "m", "dataset": "loans", "seed": 3}).seed
    3
    """
    if is_federated(data):
        raise InvalidModelSpec(
            "this spec is federated (federated: true): run it with "
            "`fairgov audit federated SPEC --superlink HOST:PORT`"
        )
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
    return parse_spec(read_spec_file(path))


def read_spec_file(path: Path) -> Any:
    """The parsed YAML (``.yaml``/``.yml``) or JSON of a spec file; InvalidModelSpec if not."""
    try:
        text = path.read_text("utf-8")
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except OSError as exc:
        raise InvalidModelSpec(f"cannot read {path}: {exc.strerror}") from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidModelSpec(f"{path} is not valid YAML or JSON ({exc})") from None


def make_estimator(spec: ModelSpec) -> ClassifierMixin:
    """The unfitted estimator of ``spec``, seeded when it has randomness."""
    module, class_name, defaults = _ESTIMATORS[spec.estimator]
    cls = getattr(importlib.import_module(module), class_name)
    params = {**defaults, **spec.hyperparameters}
    if "random_state" in cls().get_params():
        params.setdefault("random_state", spec.seed)
    try:
        estimator: ClassifierMixin = cls(**params)
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise InvalidModelSpec(f"hyperparameters for {spec.estimator}: {exc}") from None
    return estimator
