"""The model spec: what to train (name, datasets, estimator, hyperparameters, split, seed).

A spec is validated once (:func:`parse_spec`, which also builds its estimator so bad
hyperparameters fail before any run starts) and hashed as canonical JSON into the run id.

The estimator is one of the two built-ins (``logistic_regression``,
``hist_gradient_boosting``) or any scikit-learn classifier named by import path,
``module:Class`` (``sklearn.ensemble:RandomForestClassifier``). A named estimator is imported
only when its module is in the operator's allow-list of modules (``estimator_modules``: the
module itself or a package above it), which the caller passes in; otherwise
:class:`~audit.errors.EstimatorNotAllowed`, before anything is imported.

A spec trains on one dataset (``dataset: loans``) or on several with the same schema
(``datasets: [loans-a, loans-b]``), concatenated in the order named. One dataset is always
written as ``dataset``, even when given as a one-item ``datasets`` list, so a single-dataset
spec keeps the canonical JSON (and the run ids) it had before specs could name several.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from audit.errors import (
    EstimatorNotAllowed,
    EstimatorNotClassifier,
    EstimatorNotFound,
    InvalidModelSpec,
)
from core.canonical import canonical_json
from governance.actions import dataset_id_of

if TYPE_CHECKING:  # scikit-learn loads only when an estimator is built (the gate reads specs)
    from sklearn.base import ClassifierMixin

BuiltinEstimator = Literal["logistic_regression", "hist_gradient_boosting"]
_ESTIMATOR_PATTERN = (
    r"^(logistic_regression|hist_gradient_boosting|"
    r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*)$"
)
#: An estimator that is neither a built-in nor ``module:Class``: the error lists the choices,
#: where the pattern's read "String should match pattern '^(…)$'" (review, session 26).
UNKNOWN_ESTIMATOR = "unknown_estimator"
UNKNOWN_ESTIMATOR_MESSAGE = (
    "estimator '{estimator}' is not one of: logistic_regression, hist_gradient_boosting, or "
    "module:Class of a scikit-learn classifier whose module the operator allows, e.g. "
    "sklearn.ensemble:RandomForestClassifier"
)


def _known_estimator(value: str) -> str:
    if re.fullmatch(_ESTIMATOR_PATTERN, value) is None:
        raise PydanticCustomError(
            UNKNOWN_ESTIMATOR, UNKNOWN_ESTIMATOR_MESSAGE, {"estimator": value}
        )
    return value


#: A built-in estimator's name, or ``module:Class`` of an allow-listed scikit-learn classifier.
Estimator = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="logistic_regression, hist_gradient_boosting, or module:Class of a "
        "scikit-learn classifier whose module the operator allows",
        json_schema_extra={"pattern": _ESTIMATOR_PATTERN},
    ),
    AfterValidator(_known_estimator),
]
_ESTIMATORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "logistic_regression": ("sklearn.linear_model", "LogisticRegression", {"max_iter": 1000}),
    "hist_gradient_boosting": ("sklearn.ensemble", "HistGradientBoostingClassifier", {}),
}
DatasetName = Annotated[str, Field(min_length=1, max_length=200)]
MAX_DATASETS = 32
#: The most bootstrap replicates an audit takes (a spec's ``n_boot``, ``--n-boot``).
MAX_N_BOOT = 10_000
#: The most rounds (trees, iterations) a hyperparameter of these names may ask for: training
#: runs on a shared server, so a billion trees is refused before a run starts. The names
#: cover scikit-learn and the XGBoost, LightGBM and CatBoost aliases.
ROUND_CAPS: dict[str, int] = {
    "n_estimators": 2_000,
    "iterations": 2_000,
    "num_iterations": 2_000,
    "num_boost_round": 2_000,
    "max_iter": 10_000,
    "n_iter": 10_000,
}
#: Hyperparameters that set how many threads or processes train; only 1 (or None, which
#: scikit-learn reads as 1) is allowed, and an estimator from outside scikit-learn that has
#: ``n_jobs`` gets ``n_jobs=1`` (XGBoost and LightGBM read None as every core).
THREAD_PARAMETERS = frozenset(
    {"n_jobs", "nthread", "nthreads", "n_threads", "num_threads", "num_thread", "thread_count"}
)

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
    n_boot: int = Field(default=200, ge=0, le=MAX_N_BOOT, description="bootstrap replicates")

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
    n_boot: int = Field(default=200, ge=0, le=MAX_N_BOOT)

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


def parse_spec(data: Any, *, estimator_modules: Collection[str] | None = None) -> ModelSpec:
    """A :class:`ModelSpec` from parsed YAML or JSON; :class:`InvalidModelSpec` if bad.

    The estimator is built, so bad hyperparameters fail here. A ``module:Class`` estimator is
    built only when ``estimator_modules`` (the operator's allow-list) is given: a new spec is
    parsed with it; a stored spec, read again without it, is checked by the run that uses it
    (:func:`make_estimator` with the run environment's allow-list).

    Raises
    ------
    InvalidModelSpec
        The spec is malformed, or its hyperparameters are refused by the estimator.
    EstimatorNotAllowed
        The estimator's module is not in ``estimator_modules``.
    EstimatorNotFound, EstimatorNotClassifier
        The allowed ``module:Class`` does not import, or is not a classifier.

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
        if first["type"] == UNKNOWN_ESTIMATOR:  # its message names the field itself
            raise InvalidModelSpec(first["msg"]) from None
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise InvalidModelSpec(f"{where}: {first['msg']}") from None
    if estimator_modules is not None or spec.estimator in _ESTIMATORS:
        make_estimator(spec, estimator_modules=estimator_modules or ())
    return spec


def load_spec(path: Path, *, estimator_modules: Collection[str] | None = None) -> ModelSpec:
    """Read a model spec from a YAML (``.yaml``/``.yml``) or JSON file (see :func:`parse_spec`).

    Examples
    --------
    >>> load_spec(Path("model.yaml")).name  # doctest: +SKIP
    'loans-lr'
    """
    return parse_spec(read_spec_file(path), estimator_modules=estimator_modules)


def read_spec_file(path: Path) -> Any:
    """The parsed YAML (``.yaml``/``.yml``) or JSON of a spec file; InvalidModelSpec if not."""
    try:
        text = path.read_text("utf-8")
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except OSError as exc:
        raise InvalidModelSpec(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidModelSpec(f"{path} is not UTF-8 text: save it as UTF-8") from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidModelSpec(f"{path} is not valid YAML or JSON ({exc})") from None
    except RecursionError:
        raise InvalidModelSpec(f"{path} is nested too deeply to be a spec") from None


def estimator_module(estimator: str) -> str | None:
    """The module of a ``module:Class`` estimator; None for a built-in.

    Examples
    --------
    >>> estimator_module("sklearn.ensemble:RandomForestClassifier")
    'sklearn.ensemble'
    >>> estimator_module("logistic_regression") is None
    True
    """
    return None if estimator in _ESTIMATORS else estimator.partition(":")[0]


def module_allowed(module: str, estimator_modules: Collection[str]) -> bool:
    """Whether ``module`` is one of ``estimator_modules`` or inside a package among them.

    Examples
    --------
    >>> module_allowed("sklearn.ensemble", ["sklearn"]), module_allowed("sklearnx", ["sklearn"])
    (True, False)
    """
    return any(module == m or module.startswith(m + ".") for m in estimator_modules)


_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def estimator_class(estimator: str, *, estimator_modules: Collection[str]) -> type[Any]:
    """The class of ``estimator`` (a built-in name or an allowed ``module:Class``).

    The allow-list is checked before the module is imported.

    Raises
    ------
    EstimatorNotAllowed
        The module is not in ``estimator_modules``.
    EstimatorNotFound
        The module does not import or lacks the class.
    EstimatorNotClassifier
        The class is not a scikit-learn classifier with ``predict_proba``.

    Examples
    --------
    >>> estimator_class("sklearn.ensemble:RandomForestClassifier",
    ...                 estimator_modules=["sklearn.ensemble"]).__name__
    'RandomForestClassifier'
    """
    if estimator in _ESTIMATORS:
        module, class_name, _ = _ESTIMATORS[estimator]
        cls: type[Any] = getattr(importlib.import_module(module), class_name)
        return cls
    module, _, class_name = estimator.partition(":")
    if not _CLASS_NAME.match(class_name):
        raise InvalidModelSpec(f"estimator: {estimator} is not module:Class")
    if not module_allowed(module, estimator_modules):
        raise EstimatorNotAllowed(estimator, module)
    try:
        found = getattr(importlib.import_module(module), class_name)
    except ImportError as exc:
        raise EstimatorNotFound(estimator, f"no module {exc.name or module}") from None
    except AttributeError:
        raise EstimatorNotFound(estimator, f"{module} has no {class_name}") from None
    from sklearn.base import ClassifierMixin

    if not (
        isinstance(found, type)
        and issubclass(found, ClassifierMixin)
        and hasattr(found, "predict_proba")
    ):
        raise EstimatorNotClassifier(estimator)
    return found


def _check_resources(spec: ModelSpec) -> None:
    """Refuse hyperparameters that would take the shared server: rounds above
    :data:`ROUND_CAPS`, more than one thread (:data:`THREAD_PARAMETERS`)."""
    for key, value in spec.hyperparameters.items():
        if key in THREAD_PARAMETERS and value not in (None, 1):
            raise InvalidModelSpec(
                f"hyperparameters for {spec.estimator}: {key}={value!r} is not allowed: "
                "training uses one thread here; remove it or set it to 1"
            )
        cap = ROUND_CAPS.get(key)
        if (
            cap is not None
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and value > cap
        ):
            raise InvalidModelSpec(
                f"hyperparameters for {spec.estimator}: {key}={value!r} is above this "
                f"server's cap of {cap:,}; set {key} to {cap:,} or less"
            )


def make_estimator(spec: ModelSpec, *, estimator_modules: Collection[str] = ()) -> ClassifierMixin:
    """The unfitted estimator of ``spec``, seeded when it has randomness, on one thread.

    ``estimator_modules`` is the operator's allow-list for a ``module:Class`` estimator
    (:func:`estimator_class`); the built-ins need none.

    Raises
    ------
    InvalidModelSpec
        The estimator refuses the hyperparameters, or they ask for more rounds than
        :data:`ROUND_CAPS` or more than one thread (:data:`THREAD_PARAMETERS`).
    """
    cls = estimator_class(spec.estimator, estimator_modules=estimator_modules)
    defaults = _ESTIMATORS[spec.estimator][2] if spec.estimator in _ESTIMATORS else {}
    _check_resources(spec)
    params = {**defaults, **spec.hyperparameters}
    try:
        own = cls().get_params()
        if "random_state" in own:
            params.setdefault("random_state", spec.seed)
        if "n_jobs" in own and not cls.__module__.startswith("sklearn."):
            params.setdefault("n_jobs", 1)  # XGBoost and LightGBM read None as every core
        estimator: ClassifierMixin = cls(**params)
        if hasattr(estimator, "_parameter_constraints"):  # XGBoost and LightGBM have none
            estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise InvalidModelSpec(f"hyperparameters for {spec.estimator}: {exc}") from None
    return estimator
