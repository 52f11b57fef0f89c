"""Training: the model spec, the scikit-learn pipeline and the voted Fairlearn mitigation.

A :class:`ModelSpec` says what to train; the policy snapshot says how to mitigate bias.
The pipeline one-hot encodes categorical columns and scales numeric ones, then fits the
estimator. Sensitive features are not model inputs unless the spec asks for them; the
mitigators see them as Fairlearn's ``sensitive_features``.

A trained model is a plain dict of scikit-learn objects, numpy arrays and builtins, so that
skops can store it without trusting any custom type. Fairlearn's own mitigator objects hold
closures and pandas objects that skops cannot store, so :func:`train` keeps what they
learned (per-group thresholds, or the predictors and their weights) and :func:`predict`
applies it exactly as Fairlearn does, with a seeded random state.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pandas.errors import Pandas4Warning
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audit.errors import InvalidModelSpec, UnsupportedMitigation
from audit.manifest import DatasetManifest
from core.canonical import canonical_json

MODEL_FORMAT = "fairgov-model/1"
Estimator = Literal["logistic_regression", "hist_gradient_boosting"]
ModelArtifact = dict[str, Any]
_ESTIMATORS: dict[str, Any] = {
    "logistic_regression": (LogisticRegression, {"max_iter": 1000}),
    "hist_gradient_boosting": (HistGradientBoostingClassifier, {}),
}
_GROUP_SEPARATOR = "|"


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


def model_inputs(spec: ModelSpec, manifest: DatasetManifest) -> list[str]:
    """The columns the model sees: the features, plus the sensitive ones if asked."""
    extra = manifest.sensitive_features if spec.include_sensitive else ()
    return list(dict.fromkeys([*manifest.features, *extra]))


def make_preprocessor(frame: pd.DataFrame) -> ColumnTransformer:
    """One-hot encode the categorical columns, impute and scale the numeric ones."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    return ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                categorical,
            ),
            (
                "numeric",
                Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                numeric,
            ),
        ]
    )


@dataclass(frozen=True)
class Split:
    """A seeded, stratified train/test split of inputs, labels and sensitive features."""

    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray[Any, Any]
    y_test: np.ndarray[Any, Any]
    a_train: pd.DataFrame
    a_test: pd.DataFrame


def labels(frame: pd.DataFrame, manifest: DatasetManifest) -> np.ndarray[Any, Any]:
    """The label column as 0/1, 1 where it equals the manifest's positive label."""
    column = frame[manifest.label].astype(str).str.strip()
    return (column == manifest.positive_label).to_numpy(dtype=np.int64)


def split(frame: pd.DataFrame, manifest: DatasetManifest, spec: ModelSpec) -> Split:
    """Split ``frame`` by ``spec.seed``, stratified on the label.

    Examples
    --------
    >>> s = split(frame, manifest, spec)  # doctest: +SKIP
    >>> len(s.x_test) / len(frame)  # doctest: +SKIP
    0.25
    """
    y = labels(frame, manifest)
    x = frame[model_inputs(spec, manifest)]
    a = frame[list(manifest.sensitive_features)].astype(str)
    x_tr, x_te, y_tr, y_te, a_tr, a_te = train_test_split(
        x, y, a, test_size=spec.test_size, random_state=spec.seed, stratify=y
    )
    return Split(x_tr, x_te, np.asarray(y_tr), np.asarray(y_te), a_tr, a_te)


def group_keys(sensitive: pd.DataFrame) -> np.ndarray[Any, Any]:
    """One string per row naming its intersectional group, as the mitigators see groups."""
    values = sensitive.astype(str).to_numpy()
    return np.array([_GROUP_SEPARATOR.join(row) for row in values], dtype=object)


def _moment(constraint: str) -> Any:
    from fairlearn import reductions

    moments = {
        "demographic_parity": reductions.DemographicParity,
        "equalized_odds": reductions.EqualizedOdds,
        "true_positive_rate_parity": reductions.TruePositiveRateParity,
        "false_positive_rate_parity": reductions.FalsePositiveRateParity,
        "error_rate_parity": reductions.ErrorRateParity,
    }
    if constraint not in moments:
        raise UnsupportedMitigation("exponentiated_gradient", constraint)
    return moments[constraint]()


def _threshold_optimizer(pipeline: Pipeline, data: Split, constraint: str, seed: int) -> Any:
    from fairlearn.postprocessing import ThresholdOptimizer

    constraints = ("demographic_parity", "equalized_odds", "true_positive_rate_parity")
    if constraint not in (*constraints, "false_positive_rate_parity"):
        raise UnsupportedMitigation("threshold_optimizer", constraint)
    optimizer = ThresholdOptimizer(
        estimator=pipeline, constraints=constraint, prefit=True, predict_method="predict_proba"
    )
    optimizer.fit(data.x_train, data.y_train, sensitive_features=group_keys(data.a_train))
    thresholds = {}
    for group, bunch in optimizer.interpolated_thresholder_.interpolation_dict.items():
        thresholds[str(group)] = [
            float(bunch.p0),
            bunch.operation0.operator,
            float(bunch.operation0.threshold),
            float(bunch.p1),
            bunch.operation1.operator,
            float(bunch.operation1.threshold),
            float(bunch.get("p_ignore", 0.0)),
            float(bunch.get("prediction_constant", 0.0)),
        ]
    return thresholds


def train(
    spec: ModelSpec, data: Split, *, strategy: str = "none", constraint: str = ""
) -> ModelArtifact:
    """Fit the pipeline of ``spec`` with the policy's mitigation.

    Parameters
    ----------
    spec : ModelSpec
    data : Split
    strategy : {"none", "threshold_optimizer", "exponentiated_gradient"}
        The on-chain mitigation strategy.
    constraint : str
        The on-chain constraint name (``demographic_parity``, ``equalized_odds``, ...).

    Returns
    -------
    dict
        The model, ready for :func:`predict` and :func:`audit.models.save_model`.

    Examples
    --------
    >>> model = train(spec, data, strategy="threshold_optimizer",
    ...               constraint="demographic_parity")  # doctest: +SKIP
    """
    base: ModelArtifact = {
        "format": MODEL_FORMAT,
        "kind": strategy,
        "constraint": constraint,
        "inputs": list(data.x_train.columns),
        "sensitive": list(data.a_train.columns),
        "seed": spec.seed,
    }
    preprocessor = make_preprocessor(data.x_train)
    if strategy == "exponentiated_gradient":
        from fairlearn.reductions import ExponentiatedGradient

        x_train = preprocessor.fit_transform(data.x_train)
        mitigator = ExponentiatedGradient(make_estimator(spec), constraints=_moment(constraint))
        with warnings.catch_warnings():
            # fairlearn 0.15's reductions use pandas patterns that pandas 3 deprecates.
            warnings.filterwarnings("ignore", category=Pandas4Warning, module=r"fairlearn\.")
            mitigator.fit(x_train, data.y_train, sensitive_features=group_keys(data.a_train))
        weights = mitigator.weights_
        kept = [int(i) for i in weights.index if weights[i] > 0]
        return {
            **base,
            "preprocessor": preprocessor,
            "predictors": [mitigator.predictors_[i] for i in kept],
            "weights": np.array([float(weights[i]) for i in kept]),
        }
    pipeline = Pipeline([("preprocess", preprocessor), ("estimator", make_estimator(spec))])
    pipeline.fit(data.x_train, data.y_train)
    if strategy == "none":
        return {**base, "pipeline": pipeline}
    if strategy == "threshold_optimizer":
        thresholds = _threshold_optimizer(pipeline, data, constraint, spec.seed)
        return {**base, "pipeline": pipeline, "thresholds": thresholds}
    raise UnsupportedMitigation(strategy, constraint)


def _apply(operator: str, threshold: float, scores: np.ndarray[Any, Any]) -> Any:
    return scores > threshold if operator == ">" else scores < threshold


def positive_probability(model: ModelArtifact, x: pd.DataFrame, sensitive: pd.DataFrame) -> Any:
    """The probability that :func:`predict` says 1 for each row (Fairlearn's pmf)."""
    kind = model["kind"]
    if kind == "exponentiated_gradient":
        xt = model["preprocessor"].transform(x[model["inputs"]])
        total = np.zeros(len(x))
        for weight, predictor in zip(model["weights"], model["predictors"], strict=True):
            total = total + weight * predictor.predict(xt)
        return total
    pipeline = model["pipeline"]
    if kind == "none":
        return pipeline.predict(x[model["inputs"]]).astype(float)
    scores = pipeline.predict_proba(x[model["inputs"]])[:, 1]
    keys = group_keys(sensitive[model["sensitive"]])
    probability = np.zeros(len(x))
    for group, (p0, op0, t0, p1, op1, t1, p_ignore, constant) in model["thresholds"].items():
        rows = keys == group
        mixed = p0 * _apply(op0, t0, scores[rows]) + p1 * _apply(op1, t1, scores[rows])
        probability[rows] = p_ignore * constant + (1 - p_ignore) * mixed
    return probability


def predict(
    model: ModelArtifact, x: pd.DataFrame, sensitive: pd.DataFrame, *, random_state: int
) -> np.ndarray[Any, Any]:
    """0/1 predictions; randomized mitigators draw from ``random_state``, as Fairlearn does.

    Examples
    --------
    >>> y_pred = predict(model, data.x_test, data.a_test, random_state=0)  # doctest: +SKIP
    """
    probability = positive_probability(model, x, sensitive)
    if model["kind"] == "none":
        return np.asarray(probability, dtype=np.int64)
    draws = np.random.RandomState(random_state).rand(len(probability))
    drawn: np.ndarray[Any, Any] = (probability >= draws).astype(np.int64)
    return drawn


def describe_estimator(model: ModelArtifact) -> str:
    """A short name of the model's estimator, for reports."""
    if model["kind"] == "exponentiated_gradient":
        inner = type(model["predictors"][0]).__name__ if model["predictors"] else "none"
        return f"ExponentiatedGradient({inner}, {len(model['predictors'])} predictors)"
    return type(model["pipeline"].named_steps["estimator"]).__name__
