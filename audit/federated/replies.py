"""What the server accepts from a node: its histogram and counts replies, checked against
the run and the node's signed admission (#16).

A reply must hold exactly the record its question asks for. Counts must be of the run's
task, classes, positive label and sensitive columns; without a voted epsilon they are
exact counts of exactly the held-out rows the node admitted to, and with one they carry
the voted epsilon's noise variance and lie within :data:`NOISE_SIGMAS` noise standard
deviations of those rows. Anything else refuses that node, never the run.
"""

from __future__ import annotations

import json
import math

import numpy as np
from flwr.app import RecordDict

from audit.federated.errors import InvalidNodeReply
from audit.federated.mitigation import InvalidNodeHistogram, ScoreHistogram
from audit.federated.privacy import discrete_laplace_variance
from audit.federated.protocol import COUNTS, HISTOGRAM, RunPlan
from bias_checks import GroupCounts, InvalidCountsError


def read_histogram(content: RecordDict, *, bins: int) -> ScoreHistogram:
    """A node's histogram reply: exactly one ``histogram`` record holding JSON text, on the
    grid of ``bins`` steps the server asked for.

    Raises
    ------
    InvalidNodeReply, InvalidNodeHistogram
    """
    if set(content.keys()) != {HISTOGRAM} or set(content.config_records[HISTOGRAM]) != {"json"}:
        raise InvalidNodeReply("a histogram reply must hold the histogram record only")
    raw = content.config_records[HISTOGRAM]["json"]
    if not isinstance(raw, str):
        raise InvalidNodeReply("the histogram is not text")
    histogram = ScoreHistogram.from_json(raw)
    if histogram.bins != bins:
        raise InvalidNodeHistogram(f"a grid of {histogram.bins} steps, not {bins}")
    return histogram


def check_histogram(histogram: ScoreHistogram, train_rows: int) -> ScoreHistogram:
    """``histogram`` if it counts exactly the ``train_rows`` training rows of the node's
    signed admission (a histogram carries no noise): a node scaling its histogram would move
    the pooled thresholds as if it held that many more rows (review, session 26).

    Raises
    ------
    InvalidNodeHistogram
    """
    total = sum(sum(per_label[0]) + sum(per_label[1]) for per_label in histogram.counts.values())
    if total != train_rows:
        raise InvalidNodeHistogram(
            f"it counts {total} rows, and the node's admission declared {train_rows} training rows"
        )
    return histogram


#: How far a node's noisy counts may lie from its admitted rows, in noise standard
#: deviations (a node whose honest noise strays this far is a 1e-15 event).
NOISE_SIGMAS = 8.0
#: What :func:`audit.federated.node.audit_counts` counts: the settings every node shares.
_SETTINGS = ("binary", (0, 1), 1)


def check_counts(counts: GroupCounts, plan: RunPlan, heldout_rows: int) -> GroupCounts:
    """``counts`` if they are what an honest node sends in this run: the run's task,
    classes, positive label and sensitive columns, unweighted, no more groups than rows;
    without a voted epsilon, exact counts of exactly ``heldout_rows`` rows (the node's
    signed admission); with one, every cell's noise variance is the voted epsilon's, no
    cell lies :data:`NOISE_SIGMAS` noise standard deviations below zero, and the total
    lies within that many standard deviations of the total's noise from ``heldout_rows``.

    Raises
    ------
    InvalidCountsError
    """
    settings = (*_SETTINGS, tuple(plan.schema.sensitive), ())
    if json.dumps(counts.settings()) != json.dumps(settings) or counts.weighted:
        raise _invalid("the counts are not of this run's classes, label and sensitive columns")
    if len(counts.keys) > heldout_rows:
        raise _invalid(f"{len(counts.keys)} groups among {heldout_rows} admitted rows")
    epsilon = plan.policy.epsilon_value
    if epsilon is None:
        if counts.noise_variance is not None:
            raise _invalid("the policy votes no noise, yet the counts claim noise")
        if (counts.counts < 0).any() or counts.n_rows != heldout_rows:
            raise _invalid(f"{counts.n_rows} rows counted, {heldout_rows} admitted")
        return counts
    variance = discrete_laplace_variance(1.0 / float(epsilon))
    claimed = counts.noise_variance
    if claimed is None or not np.allclose(claimed, variance, rtol=1e-9, atol=0.0):
        raise _invalid(f"the noise variance is not the voted epsilon {epsilon}'s")
    spread = NOISE_SIGMAS * math.sqrt(variance)
    if (counts.counts < -spread).any():
        raise _invalid("a cell lies further below zero than the noise allows")
    if abs(counts.n_rows - heldout_rows) > spread * math.sqrt(counts.counts.size):
        raise _invalid(f"{counts.n_rows} rows counted, {heldout_rows} admitted")
    return counts


def _invalid(problem: str) -> InvalidCountsError:
    return InvalidCountsError(f"the node's counts were refused: {problem}", reason=problem)


def read_counts(content: RecordDict) -> GroupCounts:
    """A node's audit reply as counts: exactly one ``counts`` record holding JSON bytes.

    Raises
    ------
    InvalidNodeReply, InvalidCountsError
    """
    if set(content.keys()) != {COUNTS} or set(content.config_records[COUNTS]) != {"json"}:
        raise InvalidNodeReply("an audit reply must hold the counts record only")
    raw = content.config_records[COUNTS]["json"]
    if not isinstance(raw, bytes):
        raise InvalidNodeReply("the counts are not bytes")
    return GroupCounts.from_json(raw)
