"""NYC Local Law 144 impact ratios, from per-group counts.

The DCWP rules (6 RCNY § 5-301) ask a bias audit of an automated employment decision tool for,
per category of each sensitive feature (sex, race/ethnicity) and per intersection of them:
the number of applicants, the selection rate (the share selected, or for a tool that scores,
the *scoring rate*: the share scoring above the median of the full sample) and the impact
ratio, the category's rate over the highest rate among the categories of the same feature
(or intersection). § 5-301(d) lets the auditor exclude a category under 2 % of the audited
data from the impact ratios; its counts and rate are still reported. Here such a category is
always excluded from the ratios (it neither gets one nor can be the highest) and marked so.
§ 5-301(b) also asks for the number of individuals not included in the calculations because
they fall within an unknown category: a row whose value of a feature is an unknown category
(``"unknown"`` by default, matched without regard to case; encode missing values as it) is
left out of that feature's table and of every intersection with it, and counted apart.

Everything is computed from :class:`bias_checks.GroupCounts`, so the table comes out of any
engine that counts (pandas, a dataframe backend, a federation of parties). Rows are
unweighted head counts, as the law counts applicants; control features are summed over.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import combinations
from typing import Any, Literal

import numpy as np

from bias_checks._checks import Threshold
from bias_checks._counts import GroupCounts, group_counts
from bias_checks._errors import BiasChecksInputError

MIN_SHARE = 0.02
"""Categories with fewer than this share of the rows are excluded from the impact ratios."""
RateKind = Literal["selection", "scoring"]
LL144_NEEDS_BINARY = (
    "LL144 impact ratios need binary selections (selected or not); count binary predictions, "
    "or pass scores to scoring_rate_table."
)
INVALID_MIN_SHARE = "min_share must be a number from 0 to 1 (the law's is 0.02)."
UNKNOWN_CATEGORIES = ("unknown",)
"""The category names (compared case-insensitively) that mean "unknown" in an LL144 table."""
GroupKey = tuple[tuple[str, Any], ...]
Preset = Literal["four_fifths", "ll144"]
FOUR_FIFTHS = Threshold("disparate_impact", 0.8)
"""The four-fifths rule (29 CFR 1607.4(D)): every group's selection rate at least 80 % of the
reference group's (the highest-rate group, unless a privileged group is named)."""
PRESETS: dict[str, tuple[Threshold, ...]] = {
    "four_fifths": (FOUR_FIFTHS,),
    "ll144": (FOUR_FIFTHS,),
}
"""The checks each report preset adds; ``ll144`` also renders the impact ratio table."""
UNKNOWN_PRESET = "Unknown preset; use one of: four_fifths, ll144."


class LL144InputError(BiasChecksInputError):
    """The counts cannot give an LL144 table."""

    code = "ll144_needs_binary"
    default_message = LL144_NEEDS_BINARY


@dataclass(frozen=True)
class ImpactRow:
    """One category of one grouping (a feature, or an intersection of features).

    ``impact_ratio`` is ``None`` when the category is excluded (under ``min_share`` of the
    rows) or when no included category of the grouping has a positive rate.
    """

    grouping: tuple[str, ...]
    category: GroupKey
    applicants: int
    selected: int
    rate: float
    impact_ratio: float | None
    excluded: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": list(self.grouping),
            "category": dict(self.category),
            "applicants": self.applicants,
            "selected": self.selected,
            "rate": self.rate,
            "impact_ratio": self.impact_ratio,
            "excluded": self.excluded,
        }


@dataclass(frozen=True)
class UnknownCount:
    """The applicants of one grouping left out because a feature's value is unknown."""

    grouping: tuple[str, ...]
    applicants: int
    selected: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": list(self.grouping),
            "applicants": self.applicants,
            "selected": self.selected,
        }


@dataclass(frozen=True)
class ImpactTable:
    """The LL144 summary table: every category of every feature and intersection.

    ``unknown`` holds, per grouping that has any, the applicants left out of it because
    their value of one of its features is an unknown category."""

    rate_kind: RateKind
    applicants: int
    min_share: float
    rows: tuple[ImpactRow, ...]
    unknown: tuple[UnknownCount, ...] = ()

    def lowest_ratio(self) -> float | None:
        """The smallest impact ratio over all included categories (``None`` if none)."""
        ratios = [r.impact_ratio for r in self.rows if r.impact_ratio is not None]
        return min(ratios) if ratios else None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "rate_kind": self.rate_kind,
            "applicants": self.applicants,
            "min_share": self.min_share,
            "rows": [r.to_dict() for r in self.rows],
        }
        if self.unknown:  # left out otherwise, so tables without unknowns keep their bytes
            data["unknown"] = [u.to_dict() for u in self.unknown]
        return data


def preset_thresholds(preset: str, features: Sequence[str] = ()) -> tuple[Threshold, ...]:
    """The checks a report preset adds: its bounds on the intersectional groups and, with
    two or more ``features``, on each feature's own groups too (as LL144 reports them).

    Examples
    --------
    >>> [(t.metric, t.features) for t in preset_thresholds("four_fifths", ["sex", "race"])]
    [('disparate_impact', None), ('disparate_impact', ('sex',)), ('disparate_impact', ('race',))]
    """
    if preset not in PRESETS:
        raise BiasChecksInputError(UNKNOWN_PRESET, preset=preset)
    singles = list(features) if len(features) > 1 else []
    return tuple(
        t if feature is None else replace(t, features=(feature,))
        for t in PRESETS[preset]
        for feature in (None, *singles)
    )


def _groupings(features: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each feature alone, then every intersection of two or more, in feature order."""
    return [c for size in range(1, len(features) + 1) for c in combinations(features, size)]


def impact_ratio_table(
    counts: GroupCounts,
    *,
    min_share: float = MIN_SHARE,
    rate_kind: RateKind = "selection",
    unknown: Sequence[str] = UNKNOWN_CATEGORIES,
) -> ImpactTable:
    """LL144 impact ratios of every category and intersection, from group counts.

    Parameters
    ----------
    counts : GroupCounts
        Binary counts whose *predicted* positive class is "selected"
        (:func:`bias_checks.group_counts`).
    min_share : float, default 0.02
        Categories with fewer rows than this share of all rows are reported but excluded
        from the impact ratios (6 RCNY § 5-301(d)).
    rate_kind : {"selection", "scoring"}, default "selection"
        What the rate is called in the report (``scoring`` for the share above the median).
    unknown : sequence of str, default ("unknown",)
        Category names, compared case-insensitively with each value's text, that mean the
        value is unknown: such rows are left out of the groupings with that feature and
        counted in :attr:`ImpactTable.unknown` (6 RCNY § 5-301(b)). ``()`` keeps every value.

    Returns
    -------
    ImpactTable

    Raises
    ------
    LL144InputError
        If the counts are not binary.

    Examples
    --------
    >>> counts = group_counts([0, 1, 1, 0], [1, 1, 0, 0], sensitive_features={"sex": list("mmff")})
    >>> [(r.category, r.impact_ratio) for r in impact_ratio_table(counts, min_share=0).rows]
    [((('sex', 'f'),), 0.0), ((('sex', 'm'),), 1.0)]
    """
    if counts.task != "binary" or counts.pos_label not in counts.classes:
        raise LL144InputError()
    if not 0.0 <= min_share <= 1.0:
        raise LL144InputError(INVALID_MIN_SHARE, min_share=min_share)
    n_control = len(counts.control)
    positive = counts.classes.index(counts.pos_label)
    applicants = counts.counts.sum(axis=(1, 2))
    selected = counts.counts[:, :, positive].sum(axis=1)
    total = int(applicants.sum())
    unknown_names = {name.casefold() for name in unknown}
    rows: list[ImpactRow] = []
    left_out: list[UnknownCount] = []
    for grouping in _groupings(counts.sensitive):
        columns = [n_control + counts.sensitive.index(name) for name in grouping]
        tally: dict[tuple[Hashable, ...], list[int]] = {}
        missing = [0, 0]
        for key, n, s in zip(counts.keys, applicants, selected, strict=True):
            values = tuple(key[c] for c in columns)
            is_unknown = any(str(v).casefold() in unknown_names for v in values)
            entry = missing if is_unknown else tally.setdefault(values, [0, 0])
            entry[0] += int(n)
            entry[1] += int(s)
        rows += _grouping_rows(grouping, tally, total, min_share)
        if missing[0]:
            left_out.append(UnknownCount(grouping, missing[0], missing[1]))
    return ImpactTable(rate_kind, total, float(min_share), tuple(rows), tuple(left_out))


def _grouping_rows(
    grouping: tuple[str, ...],
    tally: dict[tuple[Hashable, ...], list[int]],
    total: int,
    min_share: float,
) -> list[ImpactRow]:
    keys = sorted(tally, key=repr)
    # Exact: min_share as the decimal the user wrote (0.07 is 7/100, not 0.07000000000000001),
    # so a category at exactly the share is kept.
    share = Fraction(str(min_share))
    excluded = {k: tally[k][0] < share * total for k in keys}
    rates = {k: tally[k][1] / tally[k][0] if tally[k][0] else float("nan") for k in keys}
    included = [rates[k] for k in keys if not excluded[k] and not np.isnan(rates[k])]
    highest = max(included, default=0.0)
    return [
        ImpactRow(
            grouping=grouping,
            category=tuple(zip(grouping, k, strict=True)),
            applicants=tally[k][0],
            selected=tally[k][1],
            rate=rates[k],
            impact_ratio=None if excluded[k] or highest <= 0 else rates[k] / highest,
            excluded=excluded[k],
        )
        for k in keys
    ]


def scoring_rate_table(
    scores: Any,
    *,
    sensitive_features: Any,
    min_share: float = MIN_SHARE,
    unknown: Sequence[str] = UNKNOWN_CATEGORIES,
) -> ImpactTable:
    """LL144 impact ratios of a tool that scores: the scoring rate is the share of a category
    scoring above the median score of the full sample (6 RCNY § 5-301(c)).

    Parameters
    ----------
    scores : array-like of float
        One score per applicant.
    sensitive_features : mapping of str to array-like, or DataFrame
        As for :func:`bias_checks.group_counts`.
    min_share : float, default 0.02
    unknown : sequence of str, default ("unknown",)
        As for :func:`impact_ratio_table`. The median is that of every applicant's score,
        unknown categories included.

    Returns
    -------
    ImpactTable

    Examples
    --------
    >>> table = scoring_rate_table([1, 2, 3, 4], sensitive_features={"sex": list("mfmf")},
    ...     min_share=0)
    >>> [r.rate for r in table.rows]
    [0.5, 0.5]
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0 or not np.isfinite(values).all():
        raise LL144InputError(
            "Scores must be finite numbers, one per applicant; drop or impute missing scores."
        )
    above = (values > np.median(values)).astype(np.int64)
    counts = group_counts(
        above, above, sensitive_features=sensitive_features, classes=(0, 1), pos_label=1
    )
    return impact_ratio_table(counts, min_share=min_share, rate_kind="scoring", unknown=unknown)
