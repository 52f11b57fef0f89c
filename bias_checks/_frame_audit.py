"""``audit_frame``: the audit of the rows of a dataframe, counted where the data lives.

:mod:`bias_checks._frames` has the frame's engine count (and, with ``y_score``, sum the score
statistics of) each group; :func:`~bias_checks.audit_counts` audits those small tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from bias_checks._audit import audit_counts
from bias_checks._checks import Threshold
from bias_checks._evidence import EvidenceRule
from bias_checks._frames import frame_scores
from bias_checks._groups import ReferenceMode
from bias_checks._results import AuditResult


def audit_frame(
    frame: Any,
    *,
    y_true: str,
    y_pred: str,
    sensitive_features: Sequence[str],
    control_features: Sequence[str] = (),
    sample_weight: str | None = None,
    classes: Sequence[Hashable] | None = None,
    pos_label: Hashable | None = None,
    cutoff: float | None = None,
    y_score: str | None = None,
    thresholds: Sequence[Threshold] = (),
    evidence: EvidenceRule | None = None,
    reference_group: ReferenceMode = "majority",
    n_boot: int = 1000,
    random_state: int | None = 0,
) -> AuditResult:
    """Audit the predictions in a dataframe, counting where the data lives.

    Equals :func:`~bias_checks.audit_predictions` on the same rows (byte-equal canonical
    JSON unweighted, 1e-9 weighted): the frame's engine computes the per-group confusion
    counts and :func:`~bias_checks.audit_counts` audits them. With ``y_score`` it equals
    ``audit_predictions(..., y_score=...)`` (with ``cutoff``, ``audit_predictions(scores,
    cutoff=...)``) to 1e-9: ROC AUC, Brier score and calibration error by group with their
    intervals and disparities, and the cutoff sweep, from sums and distinct-score counts
    computed by the engine (:func:`~bias_checks.frame_scores`).

    Parameters
    ----------
    frame, y_true, y_pred, sensitive_features, control_features, sample_weight, classes,
    pos_label, cutoff
        As in :func:`frame_counts`.
    y_score : str, optional
        A numeric column of positive-class scores: adds the score metrics, so thresholds
        on them can be judged. With ``cutoff`` it is usually ``y_pred`` itself. Without it,
        a ``cutoff`` audit has no score metrics (as before they came to frames).
    thresholds, evidence, reference_group, n_boot, random_state
        As in :func:`~bias_checks.audit_predictions`.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> import polars as pl
    >>> rows = pl.LazyFrame({"y": [1, 0, 1, 0], "score": [0.8, 0.6, 0.3, 0.1],
    ...                      "sex": ["F", "F", "M", "M"]})
    >>> result = audit_frame(rows, y_true="y", y_pred="score", sensitive_features=["sex"],
    ...                      cutoff=0.5, n_boot=0)
    >>> result.disparity("demographic_parity_difference")[0].value
    1.0
    >>> scored = audit_frame(rows, y_true="y", y_pred="score", y_score="score",
    ...                      sensitive_features=["sex"], cutoff=0.5, n_boot=0)
    >>> [m.value for m in scored.group_metrics("roc_auc")]
    [1.0, 1.0]
    """
    counts, scores = frame_scores(
        frame,
        y_true=y_true,
        y_pred=y_pred,
        y_score=y_score,
        sensitive_features=sensitive_features,
        control_features=control_features,
        sample_weight=sample_weight,
        classes=classes,
        pos_label=pos_label,
        cutoff=cutoff,
    )
    return audit_counts(
        counts,
        thresholds=thresholds,
        evidence=evidence,
        reference_group=reference_group,
        n_boot=n_boot,
        random_state=random_state,
        scores=scores,
    )
