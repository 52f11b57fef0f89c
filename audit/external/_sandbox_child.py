"""The scoring child: runs one ONNX graph on one batch under an address-space limit.

Started by :mod:`audit.external._sandbox` as ``python -I _sandbox_child.py -`` (it then
reads ``FOLDER`` from standard input, so it can import onnxruntime while the parent still
prepares the request) or ``python -I _sandbox_child.py FOLDER``, so it imports nothing of
fairgov (only the standard library, numpy and onnxruntime) and reads no
setting. ``FOLDER/request.json`` names the model file, the input arrays (``.npy``, never
pickled), the outputs to read and the limits; the child writes the outputs as ``.npy`` and
``FOLDER/result.json`` (``{"ok": true, ...}`` or ``{"ok": false, "error": ..., "message":
...}``). Whatever the graph does, it cannot take more address space than the limit: the
kernel refuses the allocation (``RLIMIT_AS``), and the parent kills the child at its
deadline; should the parent die first, the kernel stops the child once it has used that
much CPU time (``RLIMIT_CPU``), so no orphan runs on.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

#: What an allocation that failed says, in onnxruntime, the C++ runtime or Python.
_OUT_OF_MEMORY = (
    "bfc_arena",
    "Failed to allocate memory",
    "bad_alloc",
    "bad allocation",
    "MemoryError",
    "Cannot allocate memory",
)


def _address_space_now() -> int:
    """The process's virtual size in bytes (``VmSize``), before the model is loaded."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _limit_address_space(budget: int) -> None:
    """Let the process grow by ``budget`` bytes beyond what the interpreter, its libraries
    and the inputs already take, and no further."""
    cap = _address_space_now() + budget
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _session(model: bytes, arena_bytes: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if arena_bytes is not None:
        info = ort.OrtMemoryInfo(
            "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
        )
        arena = ort.OrtArenaCfg({"max_mem": arena_bytes, "arena_extend_strategy": 1})
        ort.create_and_register_allocator(info, arena)
        options.add_session_config_entry("session.use_env_allocators", "1")
    return ort.InferenceSession(
        model,
        sess_options=options,
        providers=["CPUExecutionProvider"],
        # folding runs the graph's constant parts at load, outside the capped arena
        disabled_optimizers=["ConstantFolding"],
    )


def _save(folder: Path, index: int, name: str, value: Any) -> dict[str, Any]:
    """Write one output as ``.npy`` without pickling: strings as fixed-width text, a ZipMap's
    maps as their keys and a matrix of their values."""
    path = f"out{index}.npy"
    if isinstance(value, list) and (not value or isinstance(value[0], dict)):
        keys = list(value[0]) if value else []
        if any(len(row) != len(keys) for row in value):
            return {"name": name, "form": "ragged_maps"}
        matrix = np.array([list(row.values()) for row in value], dtype=np.float64)
        np.save(folder / path, matrix.reshape(len(value), len(keys)), allow_pickle=False)
        plain = [k.item() if isinstance(k, np.generic) else k for k in keys]
        return {"name": name, "form": "maps", "file": path, "keys": plain}
    array = np.asarray(value)
    if array.dtype == object:
        array = array.astype(str)
    np.save(folder / path, array, allow_pickle=False)
    return {"name": name, "form": "array", "file": path}


def _score(folder: Path, request: dict[str, Any]) -> dict[str, Any]:
    if request.get("cpu_seconds") is not None:
        cpu = int(request["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    feeds = {}
    for name, file, text in request["inputs"]:
        array = np.load(folder / file, allow_pickle=False)
        feeds[name] = array.astype(object) if text else array
    model = (folder / request["model"]).read_bytes()
    if request["address_space"] is not None:
        _limit_address_space(int(request["address_space"]))
    results = _session(model, request["arena_bytes"]).run(request["outputs"], feeds)
    del feeds
    outputs = [
        _save(folder, i, name, value)
        for i, (name, value) in enumerate(zip(request["outputs"], results, strict=True))
    ]
    return {"ok": True, "outputs": outputs}


def _failure(exc: BaseException) -> dict[str, Any]:
    text = f"{type(exc).__name__}: {exc}".strip()
    error = "memory" if any(s in text for s in _OUT_OF_MEMORY) else "failed"
    lines = str(exc).strip().splitlines()
    return {"ok": False, "error": error, "message": (lines[0] if lines else type(exc).__name__)}


def main(folder: Path) -> int:
    """Score the request in ``folder``; 0 when ``result.json`` was written."""
    request = json.loads((folder / "request.json").read_text())
    try:
        result = _score(folder, request)
    except MemoryError as exc:
        result = {"ok": False, "error": "memory", "message": str(exc) or "MemoryError"}
    except Exception as exc:
        result = _failure(exc)
    (folder / "result.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    given = sys.argv[1]
    folder = sys.stdin.readline().strip() if given == "-" else given
    sys.exit(main(Path(folder)) if folder else 1)
