"""Audit a third party's predictions file: read, binarise, check, and build the report."""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.db_models import RunKind
from audit.errors import (
    AmbiguousLabels,
    InputFileNotFound,
    InvalidPredictions,
    InvalidThresholdSpec,
    MissingColumn,
    MissingValues,
    UnknownMetricName,
    UnreadableFile,
    UnsupportedFileFormat,
)
from audit.report import Report, build_report
from audit.report_model import DatasetInfo
from bias_checks import (
    METRICS,
    EvidenceRule,
    OnInconclusive,
    Preset,
    Threshold,
    audit_predictions,
    group_counts,
    impact_ratio_table,
    preset_thresholds,
)
from core.canonical import canonical_json, file_sha256, sha256_hex

DEFAULT_THRESHOLDS = ("demographic_parity_difference<=0.1", "equalized_odds_difference<=0.1")
DEFAULT_THRESHOLDS_WARNING = (
    "No thresholds were given, so the defaults were checked: "
    "demographic_parity_difference <= 0.1 and equalized_odds_difference <= 0.1."
)
_SPEC = re.compile(
    r"^\s*([A-Za-z0-9_]+)\s*(<=|>=)\s*([^,\s]+)\s*((?:,\s*[a-z_]+\s*=\s*[^,\s]+\s*)*)$"
)
_RULE_KEYS = {
    "confidence": "confidence_level",
    "min_group_size": "min_group_size",
    "min_denominator": "min_denominator",
    "on_inconclusive": "on_inconclusive",
}
_PARQUET = (".parquet", ".pq")


@dataclass(frozen=True)
class PredictionsAudit:
    """The outcome of :func:`audit_predictions_file`: the report and what was checked."""

    report: Report
    thresholds: tuple[Threshold, ...]
    used_default_thresholds: bool


def _rule_override(spec: str, text: str, base: EvidenceRule) -> EvidenceRule | None:
    """``,confidence=0.99,min_group_size=50`` on top of ``base``; None when there is none."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if not pairs:
        return None
    fields: dict[str, Any] = base.to_dict()
    for key, raw in pairs:
        name = _RULE_KEYS.get(key.strip())
        if name is None:
            raise InvalidThresholdSpec(spec)
        value = raw.strip()
        try:
            fields[name] = (
                float(value)
                if name == "confidence_level"
                else int(value)
                if name.startswith("min_")
                else OnInconclusive(value)
            )
        except ValueError:
            raise InvalidThresholdSpec(spec) from None
    return EvidenceRule.from_dict(fields)


def parse_threshold(spec: str, *, evidence: EvidenceRule | None = None) -> Threshold:
    """Parse ``METRIC<=VALUE`` (an upper bound) or ``METRIC>=VALUE`` (a lower bound).

    An evidence rule for this check alone may follow, as ``,KEY=VALUE`` pairs with keys
    ``confidence``, ``min_group_size``, ``min_denominator`` and ``on_inconclusive``; keys not
    given keep the audit's rule (``evidence``).

    Raises
    ------
    InvalidThresholdSpec
        The text does not have that form, or the value is not a finite number.
    UnknownMetricName
        The metric is not in the bias_checks catalogue (the error names a close match).

    Examples
    --------
    >>> t = parse_threshold("equalized_odds_ratio>=0.8")
    >>> (t.metric, t.bound, t.direction)
    ('equalized_odds_ratio', 0.8, 'lower')
    >>> parse_threshold("selection_rate>=0.2,confidence=0.99").evidence.confidence_level
    0.99
    """
    match = _SPEC.match(spec)
    if match is None:
        raise InvalidThresholdSpec(spec)
    metric, operator, raw, rule_text = match.groups()
    try:
        bound = float(raw)
    except ValueError:
        raise InvalidThresholdSpec(spec) from None
    if not math.isfinite(bound):
        raise InvalidThresholdSpec(spec)
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, list(METRICS), n=1, cutoff=0.5)
        raise UnknownMetricName(metric, close[0] if close else None)
    rule = _rule_override(spec, rule_text, evidence or EvidenceRule())
    return Threshold(
        metric, bound, direction="upper" if operator == "<=" else "lower", evidence=rule
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV (or TSV, or parquet when pyarrow is installed) file into a data frame."""
    if not path.is_file():
        raise InputFileNotFound(str(path))
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        if importlib.util.find_spec("pyarrow") is None:
            raise UnsupportedFileFormat(
                str(path), "parquet needs pyarrow (pip install pyarrow); or export it to CSV"
            )
        return pd.read_parquet(path)
    try:
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UnreadableFile(str(path), reason) from None


def _column(frame: pd.DataFrame, name: str, option: str) -> pd.Series[Any]:
    if name not in frame.columns:
        raise MissingColumn(name, option, [str(c) for c in frame.columns])
    column = frame[name]
    missing = column.isna().to_numpy()
    if missing.any():
        raise MissingValues(name, int(missing.sum()), int(np.flatnonzero(missing)[0]) + 1)
    return column


def _values(column: pd.Series[Any]) -> list[str]:
    return sorted({str(v) for v in column.unique()})


def _positive_mask(column: pd.Series[Any], positive: str) -> np.ndarray[Any, Any]:
    as_text = column.astype(str).to_numpy()
    mask = as_text == positive
    if not mask.any() and pd.api.types.is_numeric_dtype(column):
        with contextlib.suppress(ValueError):
            mask = column.to_numpy(dtype=float) == float(positive)
    return np.asarray(mask)


def _binary_truth(column: pd.Series[Any], name: str, positive: str | None) -> Any:
    if positive is not None:
        mask = _positive_mask(column, positive)
        if not mask.any():
            raise AmbiguousLabels(
                name, _values(column), f"none equals --positive {positive!r}; pass one of them"
            )
        return mask.astype(int)
    values = set(column.unique().tolist())
    if pd.api.types.is_numeric_dtype(column) and (values <= {0, 1} or values <= {-1, 1}):
        return (column.to_numpy() == 1).astype(int)
    problem = "pass --positive VALUE to say which value is the positive outcome"
    raise AmbiguousLabels(name, _values(column), problem)


def _binary_predictions(
    column: pd.Series[Any], name: str, positive: str | None, cutoff: float | None
) -> Any:
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if cutoff is not None:
        if not numeric:
            raise InvalidPredictions(name, "--cutoff needs numeric scores in this column")
        return (column.to_numpy(dtype=float) >= cutoff).astype(int)
    if numeric and not np.all(np.mod(column.to_numpy(dtype=float), 1) == 0):
        raise InvalidPredictions(
            name, "it holds scores, not labels: pass --cutoff X (score >= X is positive)"
        )
    if positive is not None:
        return _positive_mask(column, positive).astype(int)
    values = set(column.unique().tolist())
    if numeric and (values <= {0, 1} or values <= {-1, 1}):
        return (column.to_numpy() == 1).astype(int)
    raise InvalidPredictions(
        name,
        f"values {', '.join(_values(column)[:8])} are not 0/1 labels: pass --positive VALUE "
        "(or --cutoff X for scores)",
    )


def predictions_run_id(content_hash: str, options: dict[str, Any]) -> str:
    """``"0x"`` + sha256 of the file hash and the canonical options: same input, same id."""
    return sha256_hex(content_hash.encode("ascii") + canonical_json(options))


def audit_predictions_file(
    path: str | os.PathLike[str],
    *,
    label: str,
    prediction: str,
    sensitive: Sequence[str],
    positive: str | None = None,
    thresholds: Sequence[str] = (),
    cutoff: float | None = None,
    evidence: EvidenceRule | None = None,
    n_boot: int = 1000,
    random_state: int = 0,
    preset: Preset | None = None,
) -> PredictionsAudit:
    """Audit the predictions in a CSV or parquet file and build the report.

    Parameters
    ----------
    path : path-like
        CSV (``.tsv`` is tab-separated) or parquet (needs pyarrow).
    label, prediction : str
        The true-label column, and the predicted-label or score column.
    sensitive : sequence of str
        Sensitive feature columns; groups are their intersections (and each one alone).
    positive : str, optional
        The positive outcome; needed unless the labels are 0/1 or -1/1. Other values are
        negative (one-vs-rest).
    thresholds : sequence of str, default ()
        ``METRIC<=VALUE`` or ``METRIC>=VALUE``, optionally followed by an evidence rule for
        that check (see :func:`parse_threshold`); none means :data:`DEFAULT_THRESHOLDS`.
    cutoff : float, optional
        Treat ``prediction`` as scores: ``score >= cutoff`` is a positive prediction.
    evidence : EvidenceRule, optional
        The audit's evidence rule (``EvidenceRule()`` by default); recorded in the report.
    n_boot, random_state : int
        Passed to :func:`bias_checks.audit_predictions`.
    preset : {"four_fifths", "ll144"}, optional
        Adds ``disparate_impact >= 0.8`` against the highest-selection-rate group (on the
        intersections and on each feature), instead of the default thresholds; ``ll144`` also
        adds the NYC Local Law 144 impact ratio table to the report.

    Returns
    -------
    PredictionsAudit

    Examples
    --------
    >>> result = audit_predictions_file("preds.csv", label="y", prediction="y_hat",
    ...     sensitive=["sex"])  # doctest: +SKIP
    >>> result.report.verdict  # doctest: +SKIP
    'PASS'
    """
    rule = evidence or EvidenceRule()
    specs = tuple(thresholds) or (() if preset else DEFAULT_THRESHOLDS)
    parsed = tuple(parse_threshold(s, evidence=rule) for s in specs)
    sensitive = list(dict.fromkeys(sensitive))
    if preset is not None:
        parsed += preset_thresholds(preset, sensitive)
    file = Path(path)
    frame = read_table(file)
    y_true = _binary_truth(_column(frame, label, "--label"), label, positive)
    y_pred = _binary_predictions(
        _column(frame, prediction, "--prediction"), prediction, positive, cutoff
    )
    groups = {name: _column(frame, name, "--sensitive").to_numpy() for name in sensitive}
    result = audit_predictions(
        y_true,
        y_pred,
        sensitive_features=groups,
        thresholds=parsed,
        task="binary",
        pos_label=1,
        evidence=rule,
        n_boot=n_boot,
        random_state=random_state,
        reference_group="best" if preset else "majority",
    )
    content_hash = file_sha256(file)
    options = {
        "label": label,
        "prediction": prediction,
        "sensitive": sensitive,
        "positive": positive,
        "thresholds": [t.to_dict() for t in parsed],
        "cutoff": cutoff,
        "evidence": rule.to_dict(),
        "n_boot": n_boot,
        "random_state": random_state,
        **({"preset": preset} if preset else {}),
    }
    report = build_report(
        kind=RunKind.PREDICTIONS,
        run_id=predictions_run_id(content_hash, options),
        audit=result,
        model=None,
        dataset=DatasetInfo(
            name=file.name,
            content_hash=content_hash,
            rows=len(frame),
            label=label,
            positive_label="1" if positive is None else positive,
            sensitive_features=sensitive,
        ),
        policy=None,
        seeds={"bootstrap": random_state},
        warnings=() if thresholds or preset else (DEFAULT_THRESHOLDS_WARNING,),
    )
    if preset == "ll144":
        counts = group_counts(y_true, y_pred, sensitive_features=groups, classes=(0, 1))
        report = Report({**report.data, "ll144": impact_ratio_table(counts).to_dict()})
    return PredictionsAudit(report, parsed, not thresholds and preset is None)
