"""Scoring an ONNX model in a child process, under a memory and a time limit.

onnxruntime's capped arena (:mod:`audit.external._memory`) accounts only for the tensors
it allocates; a hostile graph can still take memory elsewhere or loop for ever (a ``Loop``
with a huge trip count). So an audit scores in a child process
(:mod:`audit.external._sandbox_child`, which imports only numpy and onnxruntime): its
arena capped at ``max_memory`` bytes, its whole address space allowed to grow by
:func:`address_budget` bytes beyond its start (``RLIMIT_AS``: the kernel refuses anything
more), and killed at ``max_seconds``. Inputs and outputs cross as ``.npy`` files in a
private temporary folder, never pickled; the child reads no setting of fairgov's and gets
only the few environment variables it needs (:func:`child_environment`), so a key or a
database URL in the service's environment never reaches the process that runs a stranger's
graph.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from audit.errors import (
    ExternalModelFailed,
    OnnxMemoryLimitExceeded,
    OnnxScoringOutOfMemory,
    OnnxScoringTimeout,
)
from audit.external._memory import MAX_SCORING_MEMORY
from audit.external._outputs import OutputKind, ZipMapRows
from audit.external._scoring import Scores, feeds, output_kind, read_scores, wanted_outputs
from audit.external._signature import Signature

#: The default wall-clock limit on scoring one dataset, in seconds.
MAX_SCORING_SECONDS: Final = 600.0
#: Room for onnxruntime's own allocations and the graph, beyond the arena and the outputs.
_HEADROOM: Final = 256 * 1024**2
_CHILD: Final = Path(__file__).with_name("_sandbox_child.py")
#: What the child's standard error says when an allocation failed outside its reporting.
_MEMORY_HINTS: Final = ("bad_alloc", "MemoryError", "Cannot allocate memory", "out of memory")


@dataclass(frozen=True)
class ScoringLimits:
    """What one scoring may take: the arena's cap in bytes (``FAIRGOV_ONNX_MAX_MEMORY``,
    :attr:`audit.env.AuditEnv.onnx_max_memory`) and the seconds it may run
    (``FAIRGOV_ONNX_MAX_SECONDS``, :attr:`audit.env.AuditEnv.onnx_max_seconds`)."""

    max_memory: int = MAX_SCORING_MEMORY
    max_seconds: float = MAX_SCORING_SECONDS


def address_budget(max_memory: int) -> int:
    """How far the scoring process may grow beyond its start: the arena, a copy of the
    outputs as large, and 256 MiB for onnxruntime itself.

    Examples
    --------
    >>> address_budget(1024**3) // 1024**2
    2304
    """
    return 2 * max_memory + _HEADROOM


def score_sandboxed(
    name: str,
    data: bytes,
    signature: Signature,
    frame: pd.DataFrame,
    *,
    inputs: tuple[str, ...],
    positive_label: str,
    output: OutputKind | None = None,
    cutoff: float | None = None,
    limits: ScoringLimits = ScoringLimits(),
    scorer: Scorer | None = None,
) -> Scores:
    """:func:`audit.external.score_frame` of the model file ``data``, run in a child
    process within ``limits``: ``scorer``, started ahead, or a new one.

    Raises
    ------
    OnnxOutputKindMissing, UnexpectedOnnxSignature, InvalidOnnxOutput, ExternalModelFailed
        As :func:`audit.external.score_frame`.
    OnnxMemoryLimitExceeded
        A tensor would take onnxruntime's arena past ``limits.max_memory``.
    OnnxScoringOutOfMemory
        The process would grow past :func:`address_budget`, or was killed for its memory.
    OnnxScoringTimeout
        It was still scoring after ``limits.max_seconds``; it was killed.

    Examples
    --------
    >>> scores = score_sandboxed("loans-xgb", data, inspect_onnx("loans-xgb", data), frame,
    ...     inputs=("age", "income"), positive_label="1",
    ...     limits=ScoringLimits(max_seconds=60))  # doctest: +SKIP
    >>> scores.positive[:3]  # doctest: +SKIP
    array([0, 1, 1])
    """
    kind = output_kind(name, signature, output, cutoff)
    wanted = wanted_outputs(signature)
    given = feeds(name, signature, frame, inputs=inputs)
    out = run_sandboxed(name, data, given, wanted, limits=limits, scorer=scorer)
    return read_scores(
        name, out, signature, kind, rows=len(frame), positive_label=positive_label, cutoff=cutoff
    )


def run_sandboxed(
    name: str,
    data: bytes,
    given: dict[str, np.ndarray[Any, Any]],
    wanted: list[str],
    *,
    limits: ScoringLimits,
    scorer: Scorer | None = None,
    arena: bool = True,
) -> dict[str, Any]:
    """Run the graph ``data`` on ``given`` in a child process (``scorer``, started ahead, or
    a new one) within ``limits`` and return the ``wanted`` outputs by name (a ZipMap's as
    :class:`ZipMapRows`). ``arena=False`` leaves onnxruntime's arena uncapped (the
    address-space limit still holds): for tests of that limit alone."""
    with tempfile.TemporaryDirectory(prefix="fairgov-score-") as tmp:
        folder = Path(tmp)
        (folder / "model.onnx").write_bytes(data)
        listed = []
        for i, (input_name, array) in enumerate(given.items()):
            text = array.dtype == object
            np.save(folder / f"in{i}.npy", array.astype(str) if text else array, False)
            listed.append([input_name, f"in{i}.npy", text])
        request = {
            "model": "model.onnx",
            "inputs": listed,
            "outputs": wanted,
            "arena_bytes": limits.max_memory if arena else None,
            "address_space": address_budget(limits.max_memory),
            # one thread: CPU time never outruns the wall clock, this only stops an orphan
            "cpu_seconds": math.ceil(limits.max_seconds) + 5,
        }
        (folder / "request.json").write_text(json.dumps(request))
        _run_child(name, folder, limits, scorer)
        return _read_result(name, folder, limits)


#: The variables a scoring child keeps from its parent's environment: where to find programs
#: and temporary space, and the locale. Everything else (keys, database URLs, settings) stays out.
CHILD_ENV_KEEP = ("PATH", "TMPDIR", "LANG", "LC_ALL", "LC_CTYPE")


def child_environment(parent: Mapping[str, str]) -> dict[str, str]:
    """The environment of a scoring child: :data:`CHILD_ENV_KEEP` from ``parent``, and one
    thread for OpenMP and OpenBLAS.

    Examples
    --------
    >>> child_environment({"PATH": "/bin", "FAIRGOV_AUDITOR_KEY": "0x..."})["PATH"]
    '/bin'
    """
    env = {key: parent[key] for key in CHILD_ENV_KEEP if key in parent}
    return {**env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


class Scorer:
    """A scoring child process, started ahead: it imports onnxruntime (about half a second)
    while the parent loads the dataset, then waits for the folder of its one request on
    standard input. :meth:`close` kills it if it was never used.

    Examples
    --------
    >>> scorer = Scorer()  # doctest: +SKIP
    >>> try:  # doctest: +SKIP
    ...     frame = load_frame(manifest)
    ...     scores = score_sandboxed(..., scorer=scorer)
    ... finally:
    ...     scorer.close()
    """

    def __init__(self) -> None:
        env = child_environment(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(_CHILD), "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the parent only
        )

    def close(self) -> None:
        """Kill the child if it still runs, and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def _run_child(name: str, folder: Path, limits: ScoringLimits, scorer: Scorer | None) -> None:
    child = (scorer or Scorer()).process
    try:
        _, stderr = child.communicate(f"{folder}\n".encode(), timeout=limits.max_seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise OnnxScoringTimeout(name, limits.max_seconds) from None
    except BaseException:
        child.kill()
        child.communicate()
        raise
    if child.returncode != 0 or not (folder / "result.json").exists():
        raise _death(name, child.returncode, stderr.decode("utf-8", "replace"), limits)


def _death(
    name: str, code: int, stderr: str, limits: ScoringLimits
) -> OnnxScoringOutOfMemory | OnnxScoringTimeout | ExternalModelFailed:
    """The error of a child that ended without a result: killed (the kernel's OOM killer
    sends SIGKILL) or crashed on an allocation is out of memory; anything else failed."""
    if code == -signal.SIGKILL or any(hint in stderr for hint in _MEMORY_HINTS):
        return OnnxScoringOutOfMemory(name, address_budget(limits.max_memory))
    if code == -signal.SIGXCPU:
        return OnnxScoringTimeout(name, limits.max_seconds)
    how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = f": {lines[-1].strip()[:200]}" if lines else ""
    return ExternalModelFailed(name, f"the scoring process ended with {how}{last}")


def _read_result(name: str, folder: Path, limits: ScoringLimits) -> dict[str, Any]:
    result = json.loads((folder / "result.json").read_text())
    if not result["ok"]:
        message = str(result["message"])
        if result["error"] != "memory":
            raise ExternalModelFailed(name, message[:300])
        if "Available memory of" in message:  # the arena's cap, before any allocation
            raise OnnxMemoryLimitExceeded(name, limits.max_memory)
        raise OnnxScoringOutOfMemory(name, address_budget(limits.max_memory))
    out: dict[str, Any] = {}
    for item in result["outputs"]:
        if item["form"] == "ragged_maps":
            out[item["name"]] = ZipMapRows([], np.zeros((0, 0)), ragged=True)
            continue
        values = np.load(folder / item["file"], allow_pickle=False)
        out[item["name"]] = (
            ZipMapRows(list(item["keys"]), values) if item["form"] == "maps" else values
        )
    return out
