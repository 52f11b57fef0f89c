"""Searches remembered within an audit and run together across its numbers: the same bits as
each search alone."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pytest

import bias_checks._assemble as assemble
from bias_checks import Threshold, audit_predictions
from bias_checks._batched import remembered, remembering, run_batched, run_entries
from bias_checks._intervals import outer_difference_ends, score_ratio_at


def _cases(seed: int) -> list[dict[str, Any]]:
    """Comparisons of many shapes and sizes, some with no events, one with none at all."""
    rng = np.random.default_rng(seed)
    out = []
    for size in (1, 3, 6, 0, 10):
        n1, n2 = rng.integers(1, 400, size), rng.integers(1, 4000, size)
        p1 = rng.integers(0, n1 + 1) / n1
        p2 = np.where(rng.random(size) < 0.2, 0.0, rng.integers(0, n2 + 1) / n2)
        tail = float(rng.choice([0.025, 0.005, 0.0125 / 3]))
        out.append({"p1": p1, "n1": n1.astype(float), "p2": p2, "n2": n2.astype(float), "t": tail})
    return out


def _difference(case: dict[str, Any]) -> tuple[np.ndarray, ...]:
    return outer_difference_ends(
        case["p1"], case["n1"], case["p2"], case["n2"], low_tail=case["t"], high_tail=0.025
    )


def _ratio(case: dict[str, Any]) -> tuple[np.ndarray, ...]:
    ends = score_ratio_at(
        case["p1"], case["n1"], case["p2"], case["n2"], (0.025, case["t"]), outer=(True, True)
    )
    return tuple(end for pair in ends for end in pair)


def _same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> bool:
    return len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("seed", range(4))
def test_limits_searched_together_are_the_bits_of_each_search_alone(seed: int) -> None:
    cases = _cases(seed)
    alone = [_difference(c) for c in cases] + [_ratio(c) for c in cases]
    tasks = [lambda c=c: _difference(c) for c in cases] + [lambda c=c: _ratio(c) for c in cases]
    together = run_batched(tasks)
    assert all(_same(a, b) for a, b in zip(alone, together, strict=True))
    with remembering():
        assert all(_same(a, b) for a, b in zip(alone, run_batched(tasks), strict=True))


def test_an_audit_with_its_numbers_run_together_equals_one_run_one_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    n = 6_000
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.05, 0.15, 0.3, 0.5])
    y = rng.random(n) < 0.4
    pred = (rng.random(n) < np.where(y, 0.7, 0.2) + (group == "a") * 0.08).astype(int)
    checks = [
        Threshold("demographic_parity_difference", 0.1),
        Threshold("equalized_odds_ratio", 0.8),
        Threshold("true_positive_rate_difference", 0.1, method="to_reference"),
    ]

    def audit() -> bytes:
        result = audit_predictions(
            y.astype(int),
            pred,
            sensitive_features=group,
            n_boot=50,
            random_state=0,
            thresholds=checks,
        )
        return result.to_canonical_json()

    together = audit()
    monkeypatch.setattr(assemble, "run_batched", lambda tasks: [task() for task in tasks])
    assert audit() == together


def test_a_search_asked_twice_in_an_audit_runs_once_and_each_caller_owns_its_copy() -> None:
    calls = []

    @remembered
    def double(x: np.ndarray, *, flag: bool) -> tuple[np.ndarray, ...]:
        calls.append(x.copy())
        return (2 * x,)

    x = np.arange(3.0)
    with remembering():
        (first,) = double(x, flag=True)
        first[:] = -1
        (second,) = double(x.copy(), flag=True)
        double(x, flag=False)
    assert np.array_equal(second, 2 * x)
    assert len(calls) == 2
    double(x, flag=True)  # outside an audit nothing is kept
    assert len(calls) == 3


def test_scalars_are_remembered_by_their_bits_so_signed_zeros_differ() -> None:
    calls = []

    @remembered
    def reciprocal(x: np.ndarray, by: float) -> tuple[np.ndarray, ...]:
        calls.append(by)
        with np.errstate(divide="ignore"):
            return (x / by,)

    x = np.ones(2)
    with remembering():
        (positive,) = reciprocal(x, 0.0)
        (negative,) = reciprocal(x, -0.0)
        reciprocal(x, float("nan"))
        reciprocal(x, float("nan"))
    assert np.all(positive == np.inf)
    assert np.all(negative == -np.inf)
    assert len(calls) == 3  # the second NaN is the first one's bits


def test_requests_of_one_kind_run_as_one_call_split_back_by_shape() -> None:
    calls = []

    @remembered
    def shifted(x: np.ndarray, by: float, *, scale: float) -> tuple[np.ndarray, ...]:
        calls.append(np.shape(x))
        return (x * scale + by, x - by)

    inputs = [np.arange(6.0).reshape(2, 3), np.array(5.0), np.zeros(0), np.arange(4.0)]
    out = run_batched([partial(shifted, x, 1.0, scale=3.0) for x in inputs])
    for x, (a, b) in zip(inputs, out, strict=True):
        assert a.shape == x.shape
        assert np.array_equal(a, x * 3.0 + 1.0)
        assert np.array_equal(b, x - 1.0)
    assert sorted(calls) == [(0,), (11,)]  # the empty one alone, the others as one of 6 + 1 + 4


def test_a_task_s_error_reaches_the_caller_and_tasks_without_searches_just_run() -> None:
    @remembered
    def fails(x: np.ndarray) -> tuple[np.ndarray, ...]:
        raise ValueError("bad input")

    assert run_batched([lambda: 1, lambda: "two"]) == [1, "two"]
    with pytest.raises(ValueError, match="bad input"):
        run_batched([lambda: 1, lambda: fails(np.ones(2))])


def test_a_batch_inside_a_task_runs_its_own_searches() -> None:
    @remembered
    def plus_one(x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (x + 1,)

    def inner() -> list[Any]:
        return run_batched([lambda: plus_one(np.ones(2))[0], lambda: plus_one(np.zeros(1))[0]])

    outer: list[Any] = run_batched([inner, lambda: plus_one(np.full(3, 5.0))[0]])
    assert [a.tolist() for a in outer[0]] == [[2.0, 2.0], [1.0]]
    assert outer[1].tolist() == [6.0, 6.0, 6.0]


def test_errors_are_those_of_running_the_tasks_one_after_another() -> None:
    @remembered
    def plus_one(x: np.ndarray) -> tuple[np.ndarray, ...]:
        return (x + 1,)

    started = []

    def first() -> None:
        plus_one(np.ones(2))  # pauses once, then fails: after the second task failed
        raise KeyError("the first task's error")

    def second() -> None:
        raise ValueError("the second task's error")

    def third() -> int:
        started.append(3)
        plus_one(np.ones(1))
        started.append(4)
        return 3

    with pytest.raises(KeyError, match="first task"):
        run_batched([first, second, third])
    assert 4 not in started  # one after another, it would not have run at all


def test_a_failing_search_raises_in_the_task_that_asked_for_it() -> None:
    @remembered
    def checked(x: np.ndarray) -> tuple[np.ndarray, ...]:
        if (x < 0).any():
            raise ValueError("negative")
        return (np.sqrt(x),)

    def careful(x: np.ndarray) -> str:
        try:
            return str(checked(x)[0].tolist())
        except ValueError as error:
            return f"refused: {error}"

    out = run_batched([partial(careful, np.array([4.0])), partial(careful, np.array([-1.0]))])
    assert out == ["[2.0]", "refused: negative"]


def test_entries_join_an_enclosing_batch_and_run_side_by_side_outside_one() -> None:
    calls = []

    @remembered
    def shifted(x: np.ndarray, *, by: float) -> tuple[np.ndarray, ...]:
        calls.append(np.shape(x))
        return (x + by,)

    def number(k: int) -> list[tuple[np.ndarray, ...]]:
        return run_entries([partial(shifted, np.full(2, 10.0 * k + i), by=1.0) for i in range(3)])

    results = run_batched([partial(number, k) for k in range(4)])
    assert calls == [(8,), (8,), (8,)]  # each step of the four numbers as one call
    assert np.array_equal(results[3][2][0], np.full(2, 33.0))
    calls.clear()
    assert np.array_equal(number(1)[0][0], np.full(2, 11.0))
    assert calls == [(6,)]  # no enclosing batch: the three entries side by side
