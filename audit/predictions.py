"""Audit a third party's predictions where they live: count, binarise, check, build the report."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import narwhals as nw
import numpy as np
import pandas as pd

from audit.db_models import RunKind
from audit.errors import (
    AmbiguousLabels,
    InvalidPredictions,
    MissingValues,
)
from audit.prediction_options import check_options
from audit.reference import Reference, resolve_reference
from audit.report import Report, build_report
from audit.report_model import DatasetInfo
from audit.source_files import DataSource, resolve_source
from audit.sources import (
    DEFAULT_DASK_TIMEOUT,
    OpenedSource,
    any_true,
    count_cells,
    first_null_row,
    first_values,
    open_source,
    require_columns,
)
from audit.threshold_text import DEFAULT_THRESHOLDS, DEFAULT_THRESHOLDS_WARNING, parse_threshold
from bias_checks import (
    MAX_GROUPS,
    EvidenceRule,
    GroupCounts,
    Preset,
    ScoreCounts,
    Threshold,
    audit_counts,
    counts_from_cells,
    impact_ratio_table,
    preset_thresholds,
    score_counts_from_cells,
)
from core.canonical import canonical_json, sha256_hex

# The binarised labels' columns in the cells table (apart from any column of the file).
_Y_TRUE = "__fairgov_y_true"
_Y_PRED = "__fairgov_y_pred"


@dataclass(frozen=True)
class PredictionsAudit:
    """The outcome of :func:`audit_predictions_file`: the report and what was checked."""

    report: Report
    thresholds: tuple[Threshold, ...]
    used_default_thresholds: bool
    counted_with: str = ""
    """Where the rows were counted: engine, files and (with Dask) partitions."""


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


def _check_positive_predictions(
    labels: pd.Series[Any], predictions: pd.Series[Any], name: str, positive: str
) -> None:
    """With ``--positive``, predictions none of which equals it must use the labels' values
    (say, a model that predicts "no" everywhere); 0/1 predictions beside "yes"/"no" labels
    would otherwise all count as negative, and a biased model PASS."""
    foreign = [v for v in _values(predictions) if not _positive_mask(labels, v).any()]
    if foreign:
        raise InvalidPredictions(
            name,
            f"no prediction equals --positive {positive!r}, and its values "
            f"{', '.join(foreign[:8])} are not the labels' ({', '.join(_values(labels)[:8])}): "
            "give the predictions the labels' values",
        )


def predictions_run_id(content_hash: str, options: dict[str, Any]) -> str:
    """``"0x"`` + sha256 of the file hash and the canonical options: same input, same id."""
    return sha256_hex(content_hash.encode("ascii") + canonical_json(options))


def _check_scores(opened: OpenedSource, name: str, cutoff: float | None) -> None:
    """Scores need a cutoff (refused before a column of distinct scores is grouped on), and a
    cutoff needs scores."""
    dtype = opened.frame.collect_schema()[name]
    if cutoff is not None:
        if not dtype.is_numeric():
            raise InvalidPredictions(name, "--cutoff needs numeric scores in this column")
    elif dtype.is_float() and any_true(opened, nw.col(name).round(0) != nw.col(name)):
        raise InvalidPredictions(
            name, "it holds scores, not labels: pass --cutoff X (score >= X is positive)"
        )


def _check_label(opened: OpenedSource, name: str) -> None:
    """Refuse non-integral numbers as labels before grouping on them (one row per value)."""
    if opened.frame.collect_schema()[name].is_float() and any_true(
        opened, nw.col(name).round(0) != nw.col(name)
    ):
        sample = first_values(opened, name, 9)
        raise AmbiguousLabels(
            name, _values(sample), "these are numbers, not class labels: pass a label column"
        )


def _check_complete(opened: OpenedSource, cells: pd.DataFrame, columns: Sequence[str]) -> None:
    """:class:`MissingValues` for the first of ``columns`` with an empty value."""
    schema = opened.frame.collect_schema()
    for name in columns:
        numbers = schema[name].is_float()
        empty = cells[name].isna().to_numpy()
        if numbers and cells[name].dtype.kind == "f":  # a --score column, grouped as it is
            empty = empty | np.isinf(cells[name].to_numpy())
        if empty.any():
            count = int(cells["n"].to_numpy()[empty].sum())
            first = first_null_row(opened, name)
            raise MissingValues(name, count, first, numbers=numbers)


def _count_predictions(
    opened: OpenedSource,
    *,
    label: str,
    prediction: str,
    sensitive: Sequence[str],
    positive: str | None,
    cutoff: float | None,
    score: str | None = None,
) -> tuple[GroupCounts, ScoreCounts | None]:
    """Count the cells where the data is, then apply the label rules to that small table.

    With ``score``, the same pass checks the scores and a second one counts each group's
    distinct scores (:func:`bias_checks.score_counts_from_cells`).
    """
    _check_label(opened, label)
    _check_scores(opened, prediction, cutoff)
    grouped = [label, *([] if cutoff is not None else [prediction]), *sensitive]
    cells = count_cells(
        opened,
        grouped,
        score=prediction if cutoff is not None else None,
        cutoff=cutoff,
        score_sums=score,
    )
    _check_complete(opened, cells, list(dict.fromkeys([label, prediction, *sensitive])))
    table = cells.drop(columns=list(dict.fromkeys([label, prediction]))).copy()
    table[_Y_TRUE] = _binary_truth(cells[label], label, positive)
    if cutoff is not None:
        table[_Y_PRED] = cells[prediction].to_numpy(dtype=bool).astype(int)
    else:
        table[_Y_PRED] = _binary_predictions(cells[prediction], prediction, positive, None)
        if positive is not None and not table[_Y_PRED].any():
            _check_positive_predictions(cells[label], cells[prediction], prediction, positive)
    counts = counts_from_cells(
        table,
        y_true=_Y_TRUE,
        y_pred=_Y_PRED,
        sensitive_features=sensitive,
        pos_label=1,
        weighted=False,
    )
    if score is None:
        return counts, None
    scored = count_cells(opened, list(dict.fromkeys([label, *sensitive, score])))
    _check_complete(opened, scored, [score])
    scored[_Y_TRUE] = _binary_truth(scored[label], label, positive)
    scores = score_counts_from_cells(
        table, scored, counts, y_true=_Y_TRUE, y_score=score, cutoff=cutoff
    )
    return counts, scores


def audit_predictions_file(
    path: str | os.PathLike[str] | DataSource,
    *,
    label: str,
    prediction: str,
    sensitive: Sequence[str],
    positive: str | None = None,
    thresholds: Sequence[str] = (),
    cutoff: float | None = None,
    score: str | None = None,
    evidence: EvidenceRule | None = None,
    n_boot: int = 1000,
    random_state: int = 0,
    preset: Preset | None = None,
    reference: Reference | None = None,
    dask: str | None = None,
    dask_timeout: float = DEFAULT_DASK_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    max_groups: int = MAX_GROUPS,
) -> PredictionsAudit:
    """Audit the predictions in CSV or Parquet files and build the report.

    The rows are counted where they are (Polars' streaming engine here, or a Dask cluster):
    only the distinct combinations of label, prediction and sensitive values, with their
    counts, come back, so the files may be larger than memory.

    Parameters
    ----------
    path : path-like or DataSource
        A CSV (``.tsv`` is tab-separated) or Parquet file, a folder of them, or a glob such
        as ``data/year=*/part-*.parquet`` (see :func:`audit.source_files.resolve_source`),
        or its files already resolved.
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
    score : str, optional
        A column of positive-class scores (with ``cutoff`` usually ``prediction`` itself):
        adds ROC AUC, Brier score and calibration error by group, their disparities and the
        cutoff sweep, so thresholds on them can be judged. Summed where the rows are; the
        AUC needs each group's distinct scores, counted by a second pass (that table is
        what it costs in memory). Recorded in the run id only when given.
    evidence : EvidenceRule, optional
        The audit's evidence rule (``EvidenceRule()`` by default); recorded in the report.
    n_boot, random_state : int
        Passed to :func:`bias_checks.audit_counts`.
    preset : {"four_fifths", "ll144"}, optional
        Adds ``disparate_impact >= 0.8`` against the highest-selection-rate group, or the
        ``reference`` (on the intersections and on each feature), instead of the default
        thresholds; ``ll144`` also adds the NYC Local Law 144 impact ratio table to the report.
    reference : "best", "majority" or mapping of str to str, optional
        The reference (privileged) group of the directional metrics (and the preset): the
        group with the best value of each metric, the largest group, or one value (as text,
        see :func:`audit.reference.parse_reference`) of every sensitive feature. Default:
        ``"best"`` with a preset, else ``"majority"``. Recorded in the report and, unless it
        is the default, in the run id.
    dask : str, optional
        Count on the Dask scheduler at this address, or ``"local"`` for a local cluster.
    dask_timeout : float
        Seconds the scheduler has to answer (:class:`audit.errors.DaskUnreachable`).
    progress : callable, optional
        Called with a line saying what is being done (and on which engine).
    max_groups : int, default :data:`bias_checks.MAX_GROUPS`
        More groups than this is :class:`bias_checks.TooManyGroupsError`, after counting
        and before any metric (an id column as a sensitive feature).

    Returns
    -------
    PredictionsAudit
        Its report's dataset hash is the file's sha256, or for several files the sha256 of
        the canonical JSON list of their sorted ``[relative path, sha256]`` pairs.

    Examples
    --------
    >>> result = audit_predictions_file("preds/*.parquet", label="y", prediction="y_hat",
    ...     sensitive=["sex"])  # doctest: +SKIP
    >>> result.report.verdict  # doctest: +SKIP
    'PASS'
    """
    say = progress or (lambda _line: None)
    sensitive = list(dict.fromkeys(sensitive))
    check_options(
        label=label,
        prediction=prediction,
        sensitive=sensitive,
        score=score,
        cutoff=cutoff,
        n_boot=n_boot,
        random_state=random_state,
    )
    rule = evidence or EvidenceRule()
    specs = tuple(thresholds) or (() if preset else DEFAULT_THRESHOLDS)
    parsed = tuple(parse_threshold(s, evidence=rule) for s in specs)
    if preset is not None:
        parsed += preset_thresholds(preset, sensitive)
    source = path if isinstance(path, DataSource) else resolve_source(os.fspath(path))
    wanted = {label: "--label", prediction: "--prediction"}
    if score is not None and score not in wanted:
        wanted[score] = "--score"
    require_columns(source, wanted | {n: "--sensitive" for n in sensitive if n not in wanted})
    with open_source(source, dask=dask, timeout=dask_timeout) as opened:
        counted_with = opened.describe()
        say(f"Counting rows by group with {counted_with}...")
        counts, scores = _count_predictions(
            opened,
            label=label,
            prediction=prediction,
            sensitive=sensitive,
            positive=positive,
            cutoff=cutoff,
            score=score,
        )
    default: Literal["best", "majority"] = "best" if preset else "majority"
    reference_group = resolve_reference(default if reference is None else reference, counts)
    say("Auditing: metrics by group and their intervals...")
    result = audit_counts(
        counts,
        thresholds=parsed,
        evidence=rule,
        n_boot=n_boot,
        random_state=random_state,
        reference_group=reference_group,
        scores=scores,
        max_groups=max_groups,
    )
    say("Hashing the data files...")
    content_hash = source.content_hash()
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
        **({"score": score} if score is not None else {}),  # earlier runs keep their ids
        # the default is left out: runs from before --reference keep their ids
        **({"reference_group": reference_group} if reference_group != default else {}),
    }
    report = build_report(
        kind=RunKind.PREDICTIONS,
        run_id=predictions_run_id(content_hash, options),
        audit=result,
        model=None,
        dataset=DatasetInfo(
            name=source.name,
            content_hash=content_hash,
            rows=counts.n_rows,
            label=label,
            positive_label="1" if positive is None else positive,
            sensitive_features=sensitive,
        ),
        policy=None,
        seeds={"bootstrap": random_state},
        warnings=() if thresholds or preset else (DEFAULT_THRESHOLDS_WARNING,),
    )
    if preset == "ll144":
        report = Report({**report.data, "ll144": impact_ratio_table(counts).to_dict()})
    return PredictionsAudit(report, parsed, not thresholds and preset is None, counted_with)
