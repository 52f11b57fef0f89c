"""Score statistics of a frame's groups from the two small tables its engine returns.

:func:`score_counts_from_cells` checks the scores with the counting pass's per-cell count of
finite scores and their extremes, and turns the distinct-score table (group, label, score,
rows) into :class:`~bias_checks._scores_counted.ScoreCounts`, keyed like the frame's
:class:`~bias_checks.GroupCounts`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bias_checks._counts import GroupCounts
from bias_checks._errors import INVALID_SCORES, InvalidParameterError, NanInLabelsError
from bias_checks._frame_cells import SCORE_OK
from bias_checks._inputs import IntArray, _python_scalar
from bias_checks._scores_counted import ScoreCounts, score_counts


def _check_scores_finite(cells: pd.DataFrame) -> None:
    """Every scored row has a finite score (the in-memory rule), else one line."""
    finite = cells[SCORE_OK].to_numpy(dtype=np.float64, na_value=0.0)
    if (finite != cells["n"].to_numpy(dtype=np.float64)).any():
        raise InvalidParameterError(INVALID_SCORES)


def _groups(table: pd.DataFrame, counts: GroupCounts) -> IntArray:
    """Each row's position in ``counts.keys``, from its feature values."""
    lookup = {key: g for g, key in enumerate(counts.keys)}
    names = [*counts.control, *counts.sensitive]
    combined = np.zeros(len(table), dtype=np.int64)
    for name in names:  # one integer per combination of values, without a Python row loop
        codes, levels = pd.factorize(table[name])
        combined = combined * max(len(levels), 1) + codes
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    columns = [table[name].to_numpy()[first] for name in names]
    found = [
        lookup[tuple(_python_scalar(column[i]) for column in columns)] for i in range(first.size)
    ]
    return np.asarray(found, dtype=np.intp)[inverse].reshape(len(table))


def _positive(table: pd.DataFrame, y_true: str, counts: GroupCounts) -> np.ndarray[Any, Any]:
    codes, values = pd.factorize(table[y_true])
    found = np.asarray([_python_scalar(v) == counts.pos_label for v in values], dtype=bool)
    return found[codes].reshape(len(table))


def score_counts_from_cells(
    cells: pd.DataFrame,
    table: pd.DataFrame,
    counts: GroupCounts,
    *,
    y_true: str,
    y_score: str,
    cutoff: float | None,
) -> ScoreCounts:
    """:class:`~bias_checks.ScoreCounts` from two tables of :func:`~bias_checks.frame_cells`.

    Parameters
    ----------
    cells : pandas.DataFrame
        The counting pass, grouped by the features and ``y_true`` (and more), with
        ``score_sums=``.
    table : pandas.DataFrame
        The distinct scores: grouped by the features, ``y_true`` and ``y_score``.
    counts : GroupCounts
        The counts built from ``cells`` (their keys and positive label are used).
    y_true, y_score : str
        The label and score columns.
    cutoff : float or None
        Recorded in the result.

    Returns
    -------
    ScoreCounts

    Raises
    ------
    InvalidParameterError
        A score is missing or not finite.

    Examples
    --------
    >>> import pandas as pd
    >>> from bias_checks import frame_cells, counts_from_cells
    >>> rows = pd.DataFrame({"y": [1, 0, 1], "s": [0.9, 0.3, 0.3], "g": ["a", "a", "a"]})
    >>> cells = frame_cells(rows, columns=["g", "y"], score_sums="s").assign(p=[0, 1])
    >>> counts = counts_from_cells(cells, y_true="y", y_pred="p", sensitive_features=["g"],
    ...                            weighted=False)
    >>> table = frame_cells(rows, columns=["g", "y", "s"])
    >>> scores = score_counts_from_cells(cells, table, counts, y_true="y", y_score="s",
    ...                                  cutoff=None)
    >>> scores.n_pos.tolist(), scores.table_score.size
    ([2], 3)
    """
    _check_scores_finite(cells)
    if pd.isna(table[y_true]).any():
        raise NanInLabelsError()
    counted = score_counts(
        counts.keys,
        group=_groups(table, counts),
        positive=_positive(table, y_true, counts),
        score=table[y_score].to_numpy(dtype=np.float64, na_value=np.nan),
        count=table["n"].to_numpy(dtype=np.int64),
        cutoff=cutoff,
    )
    if int(counted.sums[:, 0].sum()) != int(cells["n"].sum()):
        raise InvalidParameterError(INVALID_SCORES)
    return counted
