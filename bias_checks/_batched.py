"""Limit searches an audit asks for many times: remembered, and done together.

An audit computes a few hundred intervals (every disparity of every metric, every check), and
most need a root search (:mod:`bias_checks._roots`). Each search is vectorised over the
comparisons of one number, but one number has few comparisons, so the per-call cost of numpy
dominates: a 1e6-row audit spent about as long in 100 to 250 small searches as in everything
else. Two things cut it, neither changing a result:

* :func:`remembering` keeps each search's result for the rest of the audit: a check and the
  disparity it judges, a metric and its aliases, a belt step and the interval it starts from
  ask for the same limits (about a third of the searches).
* :func:`run_batched` runs the audit's numbers side by side, each in its own greenlet (the
  ``greenlet`` package, a maintained coroutine library; a generator would have to thread
  ``yield from`` through every function between a number and its searches). A number that
  needs a search pauses; when every number is paused or done, the searches of each kind run
  as one call over all their elements, and the numbers resume with their own parts. The root
  finder stops each element at its own convergence, so an element's limit is the same bits
  alone or in a batch (tested).

A search is batched when it is elementwise over its array arguments (broadcast together) and
returns a tuple of arrays of their broadcast shape; its other arguments (flags) group the
requests. :func:`remembered` marks such a function.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass
from numbers import Real
from typing import Any, TypeVar

import numpy as np
from greenlet import getcurrent, greenlet

from bias_checks._inputs import FloatArray

Search = TypeVar("Search", bound=Callable[..., tuple[FloatArray, ...]])
T = TypeVar("T")

_memory: ContextVar[dict[Any, tuple[FloatArray, ...]] | None] = ContextVar(
    "bias_checks_searches", default=None
)
_driver: ContextVar[greenlet | None] = ContextVar("bias_checks_batch_driver", default=None)


@contextmanager
def remembering() -> Iterator[None]:
    """Within this block (one audit), a :func:`remembered` search asked again with the same
    arguments is not done again."""
    token = _memory.set({})
    try:
        yield
    finally:
        _memory.reset(token)


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (
        isinstance(value, Real) and not isinstance(value, bool | np.bool_)
    )


def _key(value: Any) -> Any:
    """Numbers by their bits (so ``0.0`` and ``-0.0`` differ and a NaN equals itself), flags by
    value."""
    if _is_array(value):
        bits = np.asarray(value)
        return (bits.dtype.str, bits.shape, bits.tobytes())
    return (type(value).__name__, value)


@dataclass(frozen=True)
class _Request:
    """One paused number's search: the function, its arguments and their key."""

    function: Callable[..., tuple[FloatArray, ...]]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    @functools.cached_property
    def key(self) -> Any:
        return (
            self.function,
            tuple(map(_key, self.args)),
            tuple(sorted((name, _key(value)) for name, value in self.kwargs.items())),
        )

    @property
    def group(self) -> Any:
        """What requests must share to run as one call: the function, which arguments are
        arrays, and every other argument."""
        arrays = tuple(_is_array(a) for a in self.args)
        flags = tuple(
            (name, _key(value))
            for name, value in sorted(self.kwargs.items())
            if not _is_array(value)
        )
        return self.function, arrays, tuple(sorted(self.kwargs)), flags

    def run(self) -> tuple[FloatArray, ...]:
        return tuple(self.function(*self.args, **self.kwargs))


def remembered(function: Search) -> Search:
    """``function``, a search elementwise over its array arguments, remembered within
    :func:`remembering` and batched within :func:`run_batched`. Each caller gets its own
    copies of the arrays."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> tuple[FloatArray, ...]:
        memory = _memory.get()
        driver = _driver.get()
        if memory is None and driver is None:
            return tuple(function(*args, **kwargs))
        request = _Request(function, args, kwargs)
        found = memory.get(request.key) if memory is not None else None
        if found is None:
            found = driver.switch(request) if driver is not None else request.run()
            if memory is not None:
                memory[request.key] = found
        return tuple(np.array(end) for end in found)

    return wrapper  # type: ignore[return-value]


def run_batched(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Each task's result, the tasks run side by side so that their :func:`remembered`
    searches run together (see the module). Errors are as if the tasks had run one after
    another: the first task in order that fails raises its error (tasks after it are
    dropped), and a search that fails raises in the task that asked for it."""
    driver = getcurrent()
    lets = []
    for task in tasks:
        context = copy_context()
        context.run(_driver.set, driver)
        let = greenlet(task, parent=driver)
        let.gr_context = context
        lets.append(let)
    results: list[Any] = [None] * len(tasks)
    failed: tuple[int, BaseException] | None = None
    sends: dict[int, Any] = {i: None for i in range(len(tasks))}
    while sends:
        waiting: dict[int, _Request] = {}
        for i, answer in sends.items():
            if failed is not None and i > failed[0]:
                continue  # run one after another, this task would not have started
            try:
                if isinstance(answer, BaseException):
                    out = lets[i].throw(answer)
                else:
                    out = lets[i].switch() if answer is None else lets[i].switch(answer)
            except BaseException as error:  # re-raised below: the first in order
                if failed is None or i < failed[0]:
                    failed = (i, error)
                continue
            if lets[i].dead:
                results[i] = out
            else:
                waiting[i] = out
        if failed is not None:
            waiting = {i: r for i, r in waiting.items() if i < failed[0]}
        sends = dict(zip(waiting, _solve(list(waiting.values())), strict=True))
    if failed is not None:
        raise failed[1]
    return results


def run_entries(tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Each task's result: side by side (:func:`run_batched`) when no batch is running, one
    after another inside one, whose searches then join the enclosing batch's (a batch inside a
    task would run its own, and the enclosing batch would lose its numbers' company)."""
    if _driver.get() is not None:
        return [task() for task in tasks]
    return run_batched(tasks)


def _solve(requests: list[_Request]) -> list[tuple[FloatArray, ...] | BaseException]:
    """The answers to ``requests``, in order: one call per group of requests, and one per
    distinct request within it. Where a group's call fails, each of its requests runs alone,
    and a request that fails alone gets its error (raised in the task that asked)."""
    distinct: dict[Any, _Request] = {}
    for request in requests:
        distinct.setdefault(request.key, request)
    groups: dict[Any, list[_Request]] = {}
    for request in distinct.values():
        groups.setdefault(request.group, []).append(request)
    answers: dict[Any, tuple[FloatArray, ...] | BaseException] = {}
    for members in groups.values():
        try:
            answers.update(zip((r.key for r in members), _together(members), strict=True))
        except Exception:  # each request alone: its own error to its task
            for request in members:
                try:
                    answers[request.key] = request.run()
                except Exception as error:
                    answers[request.key] = error
    return [answers[request.key] for request in requests]


def _size(request: _Request) -> int:
    values = [*request.args, *request.kwargs.values()]
    return int(np.prod(np.broadcast_shapes(*(np.shape(v) for v in values if _is_array(v)))))


def _together(requests: list[_Request]) -> list[tuple[FloatArray, ...]]:
    """Run requests of one group as one call over all their elements (alone where a request
    has none)."""
    empty = [_size(r) == 0 for r in requests]
    if any(empty):
        full = [r for r, e in zip(requests, empty, strict=True) if not e]
        done = iter(_together(full) if full else [])
        return [r.run() if e else next(done) for r, e in zip(requests, empty, strict=True)]
    if len(requests) == 1:
        return [requests[0].run()]
    first = requests[0]
    names = [name for name in sorted(first.kwargs) if _is_array(first.kwargs[name])]
    shapes, columns = [], []
    for request in requests:
        values = [*(a for a in request.args if _is_array(a)), *(request.kwargs[n] for n in names)]
        arrays = np.broadcast_arrays(*(np.asarray(v) for v in values))
        shapes.append(arrays[0].shape)
        columns.append([a.ravel() for a in arrays])
    joined = [np.concatenate(parts) for parts in zip(*columns, strict=True)]
    positional = iter(joined[: len(joined) - len(names)])
    args = tuple(next(positional) if _is_array(a) else a for a in first.args)
    kwargs = dict(first.kwargs)
    kwargs.update(zip(names, joined[len(joined) - len(names) :], strict=True))
    ends = first.function(*args, **kwargs)
    sizes = np.cumsum([int(np.prod(shape)) for shape in shapes])[:-1]
    parts = [np.split(np.asarray(end), sizes) for end in ends]
    return [tuple(part[i].reshape(shape) for part in parts) for i, shape in enumerate(shapes)]
