"""Fairness checks: exact Fairlearn metrics by group, disparities, uncertainty and verdicts.

An audit splits the rows into groups by one or more *sensitive features* (the intersections
present in the data, plus each feature's marginal groups), optionally within levels of
*control features*. For each group it computes Fairlearn's base metrics (selection rate,
true/false positive rates, accuracy, ...); *disparities* compare groups with each other
(``between_groups``), with the overall population (``to_overall``) or with a reference group
(``to_reference``), as differences or ratios.

Numbers equal Fairlearn's :class:`~fairlearn.metrics.MetricFrame` on the same inputs wherever
they are defined (a rate with an empty denominator is NaN here, where Fairlearn says 0), and are
derived from per-group weighted confusion counts computed in one pass.

A :class:`Threshold` bounds one catalogue metric; an :class:`EvidenceRule` says at what
confidence, and on which groups (enough rows, and enough rows in each rate's own denominator),
it is judged. Rates get closed-form intervals (Wilson; Newcombe for differences; Miettinen-
Nurminen score for ratios) that hold simultaneously over the groups a disparity compares; other
metrics get a stratified bootstrap. Each threshold gets a :class:`Verdict`: PASS when the whole
interval lies within the bound, FAIL when it lies wholly beyond, INCONCLUSIVE otherwise, with
the rows per group that would decide it. The evidence shown is the evidence judged; a group
that cannot be judged is listed with its size and never counted as showing no disparity.

Results are immutable dataclasses; :meth:`AuditResult.to_canonical_json` gives the bytes that
report hashes are computed over (sorted keys, UTF-8, no whitespace, shortest round-trip
floats, non-finite floats as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``).

Only numpy, pandas, scipy and fairlearn are used at run time, plus narwhals for the dataframe
engines (:func:`audit_frame`: the group counts are computed by the frame's own library, which
narwhals imports); nothing here touches a database, a chain or the network.
"""

from typing import TYPE_CHECKING

from bias_checks._errors import (
    MAX_GROUPS,
    BiasChecksError,
    BiasChecksInputError,
    ConfidenceLevelMistake,
    EmptyInputError,
    InvalidConfidenceLevelError,
    InvalidMinimumSizeError,
    InvalidOnInconclusiveError,
    InvalidParameterError,
    InvalidSampleWeightError,
    InvalidThresholdError,
    LengthMismatchError,
    MetricHasNoIntervalError,
    MetricNotApplicableError,
    MinimumSizeMistake,
    MissingColumnError,
    NanInControlFeaturesError,
    NanInLabelsError,
    NanInSensitiveFeaturesError,
    NoIntervalMistake,
    NonBinaryLabelsError,
    OnInconclusiveMistake,
    PosLabelError,
    ScoresWithoutCutoffError,
    TooManyGroupsError,
    UnknownMetricError,
    UnknownMetricMistake,
    UnknownReferenceGroupError,
)
from bias_checks._evidence import EvidenceRule, OnInconclusive
from bias_checks.catalogue import METRICS, MetricInfo, is_known_metric, metric_info
from core.canonical import canonical_json
from core.lazy import lazy_attributes

if TYPE_CHECKING:
    from bias_checks._audit import audit_counts, audit_predictions
    from bias_checks._checks import (
        Judgement,
        Measurement,
        Threshold,
        Verdict,
        judge,
        overall_verdict,
    )
    from bias_checks._counts import (
        GroupCounts,
        IncompatibleCountsError,
        InvalidCountsError,
        group_counts,
    )
    from bias_checks._frame_audit import audit_frame
    from bias_checks._frame_cells import frame_cells
    from bias_checks._frame_scores import score_counts_from_cells
    from bias_checks._frames import counts_from_cells, frame_counts, frame_scores
    from bias_checks._ll144 import (
        FOUR_FIFTHS,
        PRESETS,
        ImpactRow,
        ImpactTable,
        LL144InputError,
        Preset,
        UnknownCount,
        impact_ratio_table,
        preset_thresholds,
        scoring_rate_table,
    )
    from bias_checks._results import (
        AuditResult,
        AuditWarning,
        CheckResult,
        CustomMetricResult,
        Disparity,
        GroupMetric,
        GroupRef,
        GroupSize,
        Interval,
        OverallMetric,
    )
    from bias_checks._score_sweep import CutoffSweep, GroupSweep, cutoff_sweep
    from bias_checks._scores_counted import ScoreCounts, score_counts

#: The names whose modules import pandas, scipy or fairlearn, by module: imported on first use
#: (PEP 562), so that a caller needing only the catalogue, the evidence rule or an error class
#: (the CLI, the API's schemas, the governance encoder) does not pay 1.5 s of imports for them.
_LAZY: dict[str, str] = {
    "audit_counts": "bias_checks._audit",
    "audit_predictions": "bias_checks._audit",
    "Judgement": "bias_checks._checks",
    "Measurement": "bias_checks._checks",
    "Threshold": "bias_checks._checks",
    "Verdict": "bias_checks._checks",
    "judge": "bias_checks._checks",
    "overall_verdict": "bias_checks._checks",
    "GroupCounts": "bias_checks._counts",
    "IncompatibleCountsError": "bias_checks._counts",
    "InvalidCountsError": "bias_checks._counts",
    "group_counts": "bias_checks._counts",
    "audit_frame": "bias_checks._frame_audit",
    "frame_cells": "bias_checks._frame_cells",
    "score_counts_from_cells": "bias_checks._frame_scores",
    "counts_from_cells": "bias_checks._frames",
    "frame_counts": "bias_checks._frames",
    "frame_scores": "bias_checks._frames",
    "FOUR_FIFTHS": "bias_checks._ll144",
    "PRESETS": "bias_checks._ll144",
    "ImpactRow": "bias_checks._ll144",
    "ImpactTable": "bias_checks._ll144",
    "LL144InputError": "bias_checks._ll144",
    "Preset": "bias_checks._ll144",
    "UnknownCount": "bias_checks._ll144",
    "impact_ratio_table": "bias_checks._ll144",
    "preset_thresholds": "bias_checks._ll144",
    "scoring_rate_table": "bias_checks._ll144",
    "AuditResult": "bias_checks._results",
    "AuditWarning": "bias_checks._results",
    "CheckResult": "bias_checks._results",
    "CustomMetricResult": "bias_checks._results",
    "Disparity": "bias_checks._results",
    "GroupMetric": "bias_checks._results",
    "GroupRef": "bias_checks._results",
    "GroupSize": "bias_checks._results",
    "Interval": "bias_checks._results",
    "OverallMetric": "bias_checks._results",
    "CutoffSweep": "bias_checks._score_sweep",
    "GroupSweep": "bias_checks._score_sweep",
    "cutoff_sweep": "bias_checks._score_sweep",
    "ScoreCounts": "bias_checks._scores_counted",
    "score_counts": "bias_checks._scores_counted",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "FOUR_FIFTHS",
    "MAX_GROUPS",
    "METRICS",
    "PRESETS",
    "AuditResult",
    "AuditWarning",
    "BiasChecksError",
    "BiasChecksInputError",
    "CheckResult",
    "ConfidenceLevelMistake",
    "CustomMetricResult",
    "CutoffSweep",
    "Disparity",
    "EmptyInputError",
    "EvidenceRule",
    "GroupCounts",
    "GroupMetric",
    "GroupRef",
    "GroupSize",
    "GroupSweep",
    "ImpactRow",
    "ImpactTable",
    "IncompatibleCountsError",
    "Interval",
    "InvalidConfidenceLevelError",
    "InvalidCountsError",
    "InvalidMinimumSizeError",
    "InvalidOnInconclusiveError",
    "InvalidParameterError",
    "InvalidSampleWeightError",
    "InvalidThresholdError",
    "Judgement",
    "LL144InputError",
    "LengthMismatchError",
    "Measurement",
    "MetricHasNoIntervalError",
    "MetricInfo",
    "MetricNotApplicableError",
    "MinimumSizeMistake",
    "MissingColumnError",
    "NanInControlFeaturesError",
    "NanInLabelsError",
    "NanInSensitiveFeaturesError",
    "NoIntervalMistake",
    "NonBinaryLabelsError",
    "OnInconclusive",
    "OnInconclusiveMistake",
    "OverallMetric",
    "PosLabelError",
    "Preset",
    "ScoreCounts",
    "ScoresWithoutCutoffError",
    "Threshold",
    "TooManyGroupsError",
    "UnknownCount",
    "UnknownMetricError",
    "UnknownMetricMistake",
    "UnknownReferenceGroupError",
    "Verdict",
    "audit_counts",
    "audit_frame",
    "audit_predictions",
    "canonical_json",
    "counts_from_cells",
    "cutoff_sweep",
    "frame_cells",
    "frame_counts",
    "frame_scores",
    "group_counts",
    "impact_ratio_table",
    "is_known_metric",
    "judge",
    "metric_info",
    "overall_verdict",
    "preset_thresholds",
    "score_counts",
    "score_counts_from_cells",
    "scoring_rate_table",
]
