"""Group counts: split the rows anywhere, add the counts up, and audit the sum.

The audit of summed counts must equal the audit of the pooled rows: the same canonical
bytes when unweighted (the same seed gives the same bootstrap), every number to 1e-9 with
weights. Malformed counts from another party are refused with a code.
"""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bias_checks import (
    EvidenceRule,
    GroupCounts,
    IncompatibleCountsError,
    InvalidCountsError,
    Threshold,
    audit_counts,
    audit_predictions,
    group_counts,
)

THRESHOLDS = (
    Threshold("demographic_parity_difference", 0.1),
    Threshold("equalized_odds_difference", 0.1),
    Threshold("true_positive_rate_ratio", 0.8, direction="lower"),
)
LENIENT = EvidenceRule(min_group_size=1, min_denominator=1)


def _population(seed: int, n: int, *, classes: int = 2) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c"], n, p=[0.6, 0.3, 0.1])
    other = rng.choice([1, 2], n)
    y_true = rng.integers(0, classes, n)
    flip = rng.random(n) < 0.3 + 0.1 * (group == "a")
    y_pred = np.where(flip, rng.integers(0, classes, n), y_true)
    return {"y_true": y_true, "y_pred": y_pred, "sf": {"group": group, "other": other}}


def _split(data: dict[str, Any], cuts: list[int]) -> list[dict[str, Any]]:
    bounds = [0, *sorted(cuts), len(data["y_true"])]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        if hi > lo:
            parts.append(
                {
                    "y_true": data["y_true"][lo:hi],
                    "y_pred": data["y_pred"][lo:hi],
                    "sf": {k: v[lo:hi] for k, v in data["sf"].items()},
                    **({"w": data["w"][lo:hi]} if "w" in data else {}),
                }
            )
    return parts


def _counts(part: dict[str, Any], classes: tuple[int, ...] = (0, 1)) -> GroupCounts:
    counts = group_counts(
        part["y_true"],
        part["y_pred"],
        sensitive_features=part["sf"],
        sample_weight=part.get("w"),
        classes=classes,
    )
    # Every part crosses the wire.
    return GroupCounts.from_json(counts.to_json())


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(40, 600),
    cuts=st.lists(st.integers(1, 39), min_size=1, max_size=6),
)
def test_summed_counts_audit_is_the_pooled_audit_byte_for_byte(
    seed: int, n: int, cuts: list[int]
) -> None:
    data = _population(seed, n)
    pooled = audit_predictions(
        data["y_true"],
        data["y_pred"],
        sensitive_features=data["sf"],
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=50,
    )
    combined = GroupCounts.combine([_counts(p) for p in _split(data, cuts)])
    federated = audit_counts(combined, thresholds=THRESHOLDS, evidence=LENIENT, n_boot=50)
    assert federated.to_canonical_json() == pooled.to_canonical_json()


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


def test_weighted_counts_equal_the_pooled_audit_to_1e_9() -> None:
    data = _population(7, 3_000)
    data["w"] = np.random.default_rng(8).lognormal(0, 1, 3_000)
    pooled = audit_predictions(
        data["y_true"],
        data["y_pred"],
        sensitive_features=data["sf"],
        sample_weight=data["w"],
        thresholds=THRESHOLDS,
        evidence=LENIENT,
        n_boot=0,
    )
    combined = GroupCounts.combine([_counts(p) for p in _split(data, [500, 1700, 2900])])
    federated = audit_counts(combined, thresholds=THRESHOLDS, evidence=LENIENT, n_boot=0)
    ours = json.loads(federated.to_canonical_json())
    theirs = json.loads(pooled.to_canonical_json())
    assert [c["verdict"] for c in ours["checks"]] == [c["verdict"] for c in theirs["checks"]]
    a, b = _numbers(ours), _numbers(theirs)
    assert len(a) == len(b)
    assert all(math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9) for x, y in zip(a, b, strict=True))


def test_a_part_missing_a_class_still_adds_up() -> None:
    data = _population(3, 400)
    only_positive = {
        "y_true": np.ones(5, dtype=int),
        "y_pred": np.ones(5, dtype=int),
        "sf": {"group": np.array(["a"] * 5), "other": np.array([1] * 5)},
    }
    parts = [_counts(data), _counts(only_positive)]
    pooled = audit_predictions(
        np.concatenate([data["y_true"], only_positive["y_true"]]),
        np.concatenate([data["y_pred"], only_positive["y_pred"]]),
        sensitive_features={
            k: np.concatenate([data["sf"][k], only_positive["sf"][k]]) for k in data["sf"]
        },
        evidence=LENIENT,
        n_boot=0,
    )
    federated = audit_counts(GroupCounts.combine(parts), evidence=LENIENT, n_boot=0)
    assert federated.to_canonical_json() == pooled.to_canonical_json()


def test_multiclass_counts_with_control_features_equal_the_pooled_audit() -> None:
    data = _population(11, 900, classes=3)
    control = np.random.default_rng(2).choice(["north", "south"], 900)
    pooled = audit_predictions(
        data["y_true"],
        data["y_pred"],
        sensitive_features=data["sf"],
        control_features={"region": control},
        evidence=LENIENT,
        n_boot=20,
    )
    parts = [
        group_counts(
            data["y_true"][i::2],
            data["y_pred"][i::2],
            sensitive_features={k: v[i::2] for k, v in data["sf"].items()},
            control_features={"region": control[i::2]},
            classes=(0, 1, 2),
        )
        for i in range(2)
    ]
    federated = audit_counts(GroupCounts.combine(parts), evidence=LENIENT, n_boot=20)
    assert federated.to_canonical_json() == pooled.to_canonical_json()


def test_counts_from_different_settings_do_not_add_up() -> None:
    data = _population(1, 100)
    binary = _counts(data)
    renamed = group_counts(data["y_true"], data["y_pred"], sensitive_features=data["sf"]["group"])
    with pytest.raises(IncompatibleCountsError) as caught:
        GroupCounts.combine([binary, renamed])
    assert caught.value.code == "incompatible_counts"
    with pytest.raises(IncompatibleCountsError):
        GroupCounts.combine([])


def test_labels_outside_the_declared_classes_are_refused() -> None:
    with pytest.raises(ValueError, match="outside `classes`"):
        group_counts([0, 2], [0, 1], sensitive_features=["a", "b"], classes=(0, 1))


def _valid() -> dict[str, Any]:
    return _counts(_population(5, 200)).to_dict()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(format="other/1"), "format"),
        (lambda d: d.pop("keys"), "fields"),
        (lambda d: d.update(task="regression"), "task"),
        (lambda d: d.update(classes=[0, 0]), "distinct"),
        (lambda d: d.update(pos_label=7), "pos_label"),
        (lambda d: d.update(sensitive=[]), "sensitive"),
        (lambda d: d.update(keys=d["keys"][:1] * 2, counts=d["counts"][:2]), "twice"),
        (lambda d: d["keys"][0].append("extra"), "one value per"),
        (lambda d: d.update(counts=d["counts"][:1]), "shape"),
        (lambda d: d["counts"][0][0].__setitem__(0, -1), "non-negative"),
        (lambda d: d["counts"][0][0].__setitem__(0, 1.5), "whole"),
        (lambda d: d["counts"][0][0].__setitem__(0, "x"), "numbers"),
        (lambda d: d.update(weights=d["counts"]), "together"),
        (lambda d: d["keys"][0].__setitem__(0, {"a": 1}), "strings, numbers"),
    ],
)
def test_malformed_counts_are_refused_with_a_code(change: Any, reason: str) -> None:
    document = _valid()
    change(document)
    with pytest.raises(InvalidCountsError, match="malformed") as caught:
        GroupCounts.from_dict(document)
    assert caught.value.code == "invalid_counts"
    assert reason in caught.value.details["reason"]


def test_counts_that_are_not_json_are_refused() -> None:
    with pytest.raises(InvalidCountsError):
        GroupCounts.from_json(b"\xff not json")


def test_noisy_counts_may_go_below_zero_and_widen_every_rate_interval() -> None:
    data = _population(9, 2_000)
    exact = _counts(data)
    variance = np.full(exact.counts.shape, 50.0)
    noisy = GroupCounts.from_dict({**exact.to_dict(), "noise_variance": variance.tolist()})
    plain = audit_counts(exact, thresholds=THRESHOLDS, evidence=LENIENT, n_boot=0)
    widened = audit_counts(noisy, thresholds=THRESHOLDS, evidence=LENIENT, n_boot=0)
    for before, after in zip(plain.checks, widened.checks, strict=True):
        assert before.value == after.value
        assert before.ci is not None
        assert after.ci is not None
        assert after.ci.high - after.ci.low > before.ci.high - before.ci.low
    negative = exact.to_dict()
    negative["counts"][0][0][0] = -3
    negative["noise_variance"] = variance.tolist()
    assert GroupCounts.from_dict(negative).counts[0, 0, 0] == -3
