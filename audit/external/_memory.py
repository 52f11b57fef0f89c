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

The limit is :data:`MAX_SCORING_MEMORY` bytes unless the environment variable
``FAIRGOV_ONNX_MAX_MEMORY`` gives another, read once when the first session is created
(the arena is the process's: it cannot change afterwards).
"""

from __future__ import annotations

import os
import threading

import onnxruntime as ort

from audit.errors import ONNX_MEMORY_SETTING
from core.errors import ConfigurationError

#: The default cap on onnxruntime's arena while scoring (4 GiB).
MAX_SCORING_MEMORY = 4 * 1024**3
_MINIMUM = 1024**2

_lock = threading.Lock()
#: The limit registered with onnxruntime in this process, once a session was created.
_registered: dict[str, int] = {}


def _configured() -> int:
    text = os.environ.get(ONNX_MEMORY_SETTING, "").strip()
    if not text:
        return MAX_SCORING_MEMORY
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < _MINIMUM:
        raise ConfigurationError(
            f"{ONNX_MEMORY_SETTING}={text!r}: give the scoring memory limit in bytes, at "
            f"least {_MINIMUM:,}"
        )
    return limit


def memory_limit() -> int:
    """The arena's limit in bytes: the one registered, else the one configured.

    Raises
    ------
    ConfigurationError
        ``FAIRGOV_ONNX_MAX_MEMORY`` is not a whole number of bytes of at least 1 MiB.
    """
    return _registered.get("limit") or _configured()


def use_limited_memory(options: ort.SessionOptions) -> None:
    """Make a session allocate from the process's capped arena, registering it first.

    Raises
    ------
    ConfigurationError
        ``FAIRGOV_ONNX_MAX_MEMORY`` is not a whole number of bytes of at least 1 MiB.
    """
    with _lock:
        if "limit" not in _registered:
            limit = _configured()
            info = ort.OrtMemoryInfo(
                "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
            )
            # kSameAsRequested (1): grow by what a tensor needs, not to the next power of 2.
            arena = ort.OrtArenaCfg({"max_mem": limit, "arena_extend_strategy": 1})
            ort.create_and_register_allocator(info, arena)
            _registered["limit"] = limit
    options.add_session_config_entry("session.use_env_allocators", "1")
