"""Metrics that counts cannot give (ROC AUC on scores, say): computed by Fairlearn itself."""

from __future__ import annotations

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
    frame = MetricFrame(
        metrics=dict(metrics),
        y_true=np.asarray(y_true),
        y_pred=np.asarray(y_metric),
        sensitive_features=sensitive,
        control_features=control,
        sample_params=sample_params,
    )
    control_names = [f.name for f in encoded.control]
    sensitive_names = [f.name for f in encoded.sensitive]
    names = control_names + sensitive_names
    results = []
    for name in sorted(metrics):
        by_group = frame.by_group[name].dropna()
        rows = []
        for index_value, value in by_group.items():
            key = _as_key(names, index_value)
            rows.append((key[: len(control_names)], key[len(control_names) :], _scalar(value)))
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
        results.append(CustomMetricResult(name, tuple(rows), tuple(overall), tuple(disparities)))
    return tuple(results)
