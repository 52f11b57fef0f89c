"""Training: the scikit-learn pipeline and the voted Fairlearn mitigation.

A :class:`~audit.spec.ModelSpec` says what to train; the policy snapshot says how to
mitigate bias.
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

import warnings
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from pandas.errors import Pandas4Warning
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from audit.errors import AmbiguousLabels, InvalidManifest, MissingValues, UnsupportedMitigation
from audit.evidence import governed_reference
from audit.manifest import DatasetManifest
from audit.manifest_data import check_csv_rows, load_frame
from audit.spec import ModelSpec, make_estimator
from bias_checks import MAX_GROUPS, TooManyGroupsError, UnknownReferenceGroupError

MODEL_FORMAT = "fairgov-model/1"
ModelArtifact = dict[str, Any]
_GROUP_SEPARATOR = "|"
#: The group of rows whose sensitive value is missing (pandas' text for a missing value).
MISSING_GROUP = "nan"
_LONGEST_NUMBER = 40
#: A privileged group whose value is not in its column; an empty cell is said as such, not
#: as :data:`MISSING_GROUP` (a user reads "holds F, M, nan" as a value written "nan").
REFERENCE_NOT_IN_COLUMN = (
    "The reference group {feature}={value} does not occur: column {feature!r} holds {shown}."
)
EMPTY_VALUES = "empty values"
_SHOWN_VALUES = 8


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


def category_text(value: object) -> str:
    """The text of a label or group value, the same whether its column was read as text or
    parsed as numbers: a number is written in its shortest form, so a whole number is ``"1"``
    whether the file says ``1``, ``1.0`` or pandas made the column float. A missing value
    is :data:`MISSING_GROUP`; any other text is kept as it is.

    Examples
    --------
    >>> [category_text(v) for v in (1, 1.0, "1.0", "2.50", " A", float("nan"))]
    ['1', '1', '1', '2.5', ' A', 'nan']
    """
    if value is None or (isinstance(value, float | np.floating) and np.isnan(value)):
        return MISSING_GROUP
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    text = str(value)
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return text
    if not number.is_finite() or abs(number.adjusted()) > _LONGEST_NUMBER:
        return text
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def sensitive_groups(frame: pd.DataFrame) -> pd.DataFrame:
    """The sensitive columns as group names (:func:`category_text`); a missing value is the
    group :data:`MISSING_GROUP`, audited like any other rather than dropped."""
    columns = {name: frame[name].map(category_text) for name in frame.columns}
    return pd.DataFrame(columns, index=frame.index)


def binary_labels(column: pd.Series[Any], positive_label: str) -> np.ndarray[Any, Any]:
    """``column`` as 0/1: 1 where its text (:func:`category_text`, stripped) is the positive
    label's.

    Raises
    ------
    MissingValues
        A label is empty: it is neither positive nor negative, so the rows are refused.
    """
    missing = column.isna().to_numpy() | (column.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise MissingValues(
            str(column.name), int(missing.sum()), int(np.flatnonzero(missing)[0]) + 1
        )
    text = column.map(category_text).str.strip()
    return (text == category_text(positive_label).strip()).to_numpy(dtype=np.int64)


def labels(frame: pd.DataFrame, manifest: DatasetManifest) -> np.ndarray[Any, Any]:
    """The label column as 0/1, 1 where it equals the manifest's positive label
    (:func:`binary_labels`)."""
    return binary_labels(frame[manifest.label], manifest.positive_label)


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
    a = sensitive_groups(frame[list(manifest.sensitive_features)])
    x_tr, x_te, y_tr, y_te, a_tr, a_te = train_test_split(
        x, y, a, test_size=spec.test_size, random_state=spec.seed, stratify=y
    )
    return Split(x_tr, x_te, np.asarray(y_tr), np.asarray(y_te), a_tr, a_te)


def check_registration(manifest: DatasetManifest) -> None:
    """Check, before anyone votes on the manifest, what every governed run of it will need
    of its data: at least one data row, a label on every row, both outcomes among the labels
    (the positive label and another, compared as :func:`binary_labels` compares them), and
    rows of the privileged group, its groups read as a run reads them
    (:func:`sensitive_groups`; an empty sensitive value is a group of its own, as in a run).
    Every CSV row must have one field a column (:func:`audit.manifest_data.check_csv_rows`);
    of the data only the label and sensitive columns are loaded.

    Raises
    ------
    InvalidManifest
        The data has no rows.
    UnreadableFile
        A CSV row with another number of fields than the header, a header naming a column
        twice, a file that cannot be parsed.
    MissingValues
        A label is empty.
    AmbiguousLabels
        No label, or every label, is the positive one.
    bias_checks.UnknownReferenceGroupError
        The privileged group does not occur (the message lists the values that do).
    bias_checks.TooManyGroupsError
        The sensitive columns make more than :data:`bias_checks.MAX_GROUPS` groups (an id).

    Examples
    --------
    >>> check_registration(manifest)  # doctest: +SKIP
    """
    sensitive = list(manifest.sensitive_features)
    check_csv_rows(manifest)  # pandas reads a ragged CSV file without a word
    frame = load_frame(manifest, only=[manifest.label, *sensitive])
    if frame.empty:
        raise InvalidManifest(f"{manifest.name!r} has no data rows: register a file with data")
    column = frame[manifest.label]
    positive = binary_labels(column, manifest.positive_label)
    if not positive.any() or positive.all():
        values = sorted(set(column.map(category_text).str.strip()))
        problem = (
            f"none equals the positive label {manifest.positive_label!r}; name one of them"
            if not positive.any()
            else f"all equal the positive label {manifest.positive_label!r}: a model needs "
            "rows of both outcomes to be trained and audited"
        )
        raise AmbiguousLabels(manifest.label, values, problem)
    groups = sensitive_groups(frame[sensitive])
    count = len(groups.drop_duplicates())
    if count > MAX_GROUPS:  # every governed run would refuse it after the vote
        raise TooManyGroupsError.of(sensitive, count, MAX_GROUPS)
    if manifest.reference_group is not None:
        _check_reference_values(manifest.reference_group, frame[sensitive], groups)
        governed_reference(manifest.reference_group, groups)


def _check_reference_values(
    reference: dict[str, str], sensitive: pd.DataFrame, groups: pd.DataFrame
) -> None:
    """Refuse a privileged value its column does not hold, listing the values it does; an
    empty cell (a group of its own in a run) is listed as :data:`EMPTY_VALUES`."""
    for feature, value in reference.items():
        empty = sensitive[feature].isna().to_numpy()
        levels = sorted(set(groups[feature][~empty]))
        if value in levels or (value == MISSING_GROUP and empty.any()):
            continue
        shown = ", ".join(levels[:_SHOWN_VALUES]) + (", ..." if len(levels) > _SHOWN_VALUES else "")
        if empty.any():
            shown = f"{shown} and {EMPTY_VALUES}" if shown else EMPTY_VALUES
        raise UnknownReferenceGroupError(
            REFERENCE_NOT_IN_COLUMN.format(feature=feature, value=value, shown=shown),
            feature=feature,
        )


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
    return thresholds_of(optimizer)


def thresholds_of(optimizer: Any) -> dict[str, list[Any]]:
    """What a fitted Fairlearn ``ThresholdOptimizer`` learned, per group, as :func:`predict`
    applies it: ``[p0, operator0, threshold0, p1, operator1, threshold1, p_ignore,
    prediction_constant]``."""
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
    spec: ModelSpec,
    data: Split,
    *,
    strategy: str = "none",
    constraint: str = "",
    estimator_modules: Collection[str] = (),
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
    estimator_modules : collection of str
        The operator's allow-list for a ``module:Class`` estimator
        (:func:`audit.spec.make_estimator`).

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
        mitigator = ExponentiatedGradient(
            make_estimator(spec, estimator_modules=estimator_modules),
            constraints=_moment(constraint),
        )
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
    estimator = make_estimator(spec, estimator_modules=estimator_modules)
    pipeline = Pipeline([("preprocess", preprocessor), ("estimator", estimator)])
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


def model_scores(model: ModelArtifact, x: pd.DataFrame) -> np.ndarray[Any, Any] | None:
    """The model's positive-class probability for each row, for the score metrics.

    Without mitigation and with ThresholdOptimizer it is the fitted pipeline's
    ``predict_proba`` (for ThresholdOptimizer the underlying estimator's score, before the
    per-group thresholds: the mitigated model's own output is a randomized 0/1); with
    ExponentiatedGradient the weighted mean of its predictors' probabilities. ``None`` when
    an estimator has no ``predict_proba``.

    Examples
    --------
    >>> model_scores(model, data.x_test)[:2]  # doctest: +SKIP
    array([0.12, 0.87])
    """
    if model["kind"] == "exponentiated_gradient":
        if not all(hasattr(p, "predict_proba") for p in model["predictors"]):
            return None
        xt = model["preprocessor"].transform(x[model["inputs"]])
        total = np.zeros(len(x))
        for weight, predictor in zip(model["weights"], model["predictors"], strict=True):
            total = total + weight * predictor.predict_proba(xt)[:, 1]
        return np.asarray(total / max(float(np.sum(model["weights"])), 1e-300))
    pipeline = model["pipeline"]
    if not hasattr(pipeline, "predict_proba"):
        return None
    return np.asarray(pipeline.predict_proba(x[model["inputs"]])[:, 1], dtype=np.float64)


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
