"""A cap on the memory an ONNX graph may ask onnxruntime for while it is scored.

A valid, standard-operator file can still allocate what it likes at run time
(``ConstantOfShape`` of 10⁹ floats, an ``Expand`` or ``Tile`` of the batch). onnxruntime's
own answer is an arena allocator with a ``max_mem`` (``OrtArenaCfg``): registered once per
process with ``create_and_register_allocator`` and shared by every session created with the
session option ``session.use_env_allocators = 1``. A tensor that would take the arena past
the limit fails in onnxruntime (``BFCArena``: "Available memory of … is smaller than
requested bytes of …") before anything is allocated, which :func:`audit.external.session`
and :func:`audit.external.score_frame` turn into
:class:`~audit.errors.OnnxMemoryLimitExceeded`. onnxruntime's constant folding, which would
run a graph's constant parts (``ConstantOfShape`` of a constant shape) while loading it and
outside the arena, is disabled for these sessions.

The limit is the one the first session of the process asks for (the arena is the
process's: it cannot change afterwards): :attr:`audit.env.AuditEnv.onnx_max_memory`, which
the composition root takes from the ``FAIRGOV_ONNX_MAX_MEMORY`` setting
(:class:`core.settings.Settings`, validated there), :data:`MAX_SCORING_MEMORY` by default.
This package never reads the environment.
"""

from __future__ import annotations

import threading

import onnxruntime as ort

#: The default cap on onnxruntime's arena while scoring (4 GiB).
MAX_SCORING_MEMORY = 4 * 1024**3

_lock = threading.Lock()
#: The limit registered with onnxruntime in this process, once a session was created.
_registered: dict[str, int] = {}


def memory_limit() -> int:
    """The arena's limit in bytes: the one registered, else :data:`MAX_SCORING_MEMORY`."""
    return _registered.get("limit", MAX_SCORING_MEMORY)


def use_limited_memory(options: ort.SessionOptions, limit: int = MAX_SCORING_MEMORY) -> None:
    """Make a session allocate from the process's capped arena, registering it first.

    Parameters
    ----------
    options : onnxruntime.SessionOptions
        The options of the session about to be created.
    limit : int
        The arena's cap in bytes, if this is the process's first session; afterwards the
        registered cap stays (onnxruntime cannot change it) and :func:`memory_limit` says
        which it is.
    """
    with _lock:
        if "limit" not in _registered:
            info = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # kSameAsRequested (1): grow by what a tensor needs, not to the next power of 2.
            arena = ort.OrtArenaCfg({"max_mem": limit, "arena_extend_strategy": 1})
            ort.create_and_register_allocator(info, arena)
            _registered["limit"] = limit
    options.add_session_config_entry("session.use_env_allocators", "1")
