"""Metrics that counts cannot give: computed by Fairlearn itself.

A metric that is undefined in a group (ROC AUC where ``y_true`` has one class, say) raises
or warns there; the group is kept with the value NaN and the reason, never dropped.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from bias_checks._inputs import EncodedInput, Feature
from bias_checks._results import CustomMetricResult

GroupKey = tuple[tuple[str, Any], ...]


def _decoded(features: tuple[Feature, ...]) -> pd.DataFrame:
    return pd.DataFrame({f.name: np.asarray(f.levels, dtype=object)[f.codes] for f in features})


def _as_key(names: list[str], value: Any) -> GroupKey:
    values = value if isinstance(value, tuple) else (value,)
    return tuple(
        (name, v.item() if isinstance(v, np.generic) else v)
        for name, v in zip(names, values, strict=True)
    )


def _scalar(value: Any) -> float:
    return float(value)


class _Guarded:
    """A metric that returns NaN instead of raising or warning (MetricFrame would stop on the
    error, and turn a warning into an error under ``-W error``)."""

    def __init__(self, metric: Callable[..., float]) -> None:
        self.metric = metric

    def reason(self, *args: Any, **kwargs: Any) -> tuple[float, str | None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = _scalar(self.metric(*args, **kwargs))
            except (ValueError, ZeroDivisionError, FloatingPointError) as error:
                return math.nan, str(error) or type(error).__name__
        if math.isnan(value):
            message = str(caught[-1].message) if caught else "the metric returned NaN"
            return value, message
        return value, None

    def __call__(self, *args: Any, **kwargs: Any) -> float:
        return self.reason(*args, **kwargs)[0]


def _rows(frame: pd.DataFrame, names: list[str], index_value: Any) -> np.ndarray[Any, Any]:
    values = index_value if isinstance(index_value, tuple) else (index_value,)
    rows = np.ones(len(frame), dtype=bool)
    for name, value in zip(names, values, strict=True):
        rows &= (frame[name] == value).to_numpy()
    return rows


def _reason(
    guarded: _Guarded,
    rows: np.ndarray[Any, Any],
    *,
    y_true: np.ndarray[Any, Any],
    y_metric: np.ndarray[Any, Any],
    weights: np.ndarray[Any, Any] | None,
) -> str:
    kwargs = {} if weights is None else {"sample_weight": weights[rows]}
    reason = guarded.reason(y_true[rows], y_metric[rows], **kwargs)[1]
    return reason or "the metric returned NaN"


def custom_metric_results(
    metrics: Mapping[str, Callable[..., float]],
    y_true: Any,
    y_metric: Any,
    encoded: EncodedInput,
) -> tuple[CustomMetricResult, ...]:
    """Evaluate ``metrics`` with :class:`fairlearn.metrics.MetricFrame` on the same groups."""
    from fairlearn.metrics import MetricFrame

    sensitive = _decoded(encoded.sensitive)
    control = _decoded(encoded.control) if encoded.control else None
    sample_params = None
    if encoded.sample_weight is not None:
        sample_params = {name: {"sample_weight": encoded.sample_weight} for name in metrics}
    guarded = {name: _Guarded(metric) for name, metric in metrics.items()}
    truth, metric_input = np.asarray(y_true), np.asarray(y_metric)
    frame = MetricFrame(
        metrics=dict(guarded),
        y_true=truth,
        y_pred=metric_input,
        sensitive_features=sensitive,
        control_features=control,
        sample_params=sample_params,
    )
    control_names = [f.name for f in encoded.control]
    sensitive_names = [f.name for f in encoded.sensitive]
    names = control_names + sensitive_names
    rows_frame = pd.concat([control, sensitive], axis=1) if control is not None else sensitive
    results = []
    for name in sorted(metrics):
        by_group = frame.by_group[name]
        rows = []
        undefined = []
        for index_value, value in by_group.items():
            key = _as_key(names, index_value)
            control_key, group_key = key[: len(control_names)], key[len(control_names) :]
            members = _rows(rows_frame, names, index_value)
            if not members.any():  # a combination MetricFrame lists but the data lack
                continue
            rows.append((control_key, group_key, _scalar(value)))
            if math.isnan(_scalar(value)):
                reason = _reason(
                    guarded[name],
                    members,
                    y_true=truth,
                    y_metric=metric_input,
                    weights=encoded.sample_weight,
                )
                undefined.append((control_key, group_key, reason))
        if control is None:
            overall: list[tuple[GroupKey, float]] = [((), _scalar(frame.overall[name]))]
        else:
            overall = [
                (_as_key(control_names, k), _scalar(v))
                for k, v in frame.overall[name].dropna().items()
            ]
        disparities: list[tuple[str, str, GroupKey, float]] = []
        for transform in ("difference", "ratio"):
            for method in ("between_groups", "to_overall"):
                result = getattr(frame, transform)(method=method)
                if control is None:
                    disparities.append((transform, method, (), _scalar(result[name])))
                else:
                    for k, v in result[name].dropna().items():
                        disparities.append(
                            (transform, method, _as_key(control_names, k), _scalar(v))
                        )
        results.append(
            CustomMetricResult(
                name, tuple(rows), tuple(overall), tuple(disparities), tuple(undefined)
            )
        )
    return tuple(results)
