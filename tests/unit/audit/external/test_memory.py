"""A graph that allocates a huge tensor at run time is refused by onnxruntime's capped arena.

The arena is the process's (registered once), so each case runs in a fresh interpreter
with a small ``FAIRGOV_ONNX_MAX_MEMORY``, read by :class:`core.settings.Settings` and passed
to the scoring session as the composition root passes it (``AuditEnv.onnx_max_memory``):
the tensors asked for are a few hundred MB at most, so even without the cap the machine
would not run out of memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from audit.errors import ONNX_MEMORY_SETTING
from audit.external._memory import (
    MAX_SCORING_MEMORY,
    _registered,
    memory_limit,
    use_limited_memory,
)

ROOT = Path(__file__).resolve().parents[4]
LIMIT = 16 * 1024**2

#: Scores 50 rows with each model file given and prints one JSON line per file.
SCRIPT = """
import json, sys
import numpy as np, pandas as pd
from audit.external import inspect_onnx, memory_limit, score_frame, session
from core.errors import FairgovError
from core.settings import Settings
limit = Settings().onnx_max_memory
frame = pd.DataFrame(np.ones((50, 3)), columns=["a", "b", "c"])
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    try:
        model = session("big", data, max_memory=limit)
        scores = score_frame("big", model, inspect_onnx("big", data), frame,
                             inputs=("a", "b", "c"), positive_label="1", output="logit")
        print(json.dumps({"rows": len(scores.positive), "limit": memory_limit()}))
    except FairgovError as exc:
        print(json.dumps({"code": exc.code, "message": exc.message}))
"""


def _allocating(elements: int) -> bytes:
    """output = x @ w + sum(ConstantOfShape([elements]) of 0.0): a float tensor of
    ``elements`` values allocated at run time, from a file of a few hundred bytes."""
    graph = helper.make_graph(
        [
            helper.make_node(
                "ConstantOfShape",
                ["shape"],
                ["big"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]),
            ),
            helper.make_node("ReduceSum", ["big"], ["total"], keepdims=1),
            helper.make_node("MatMul", ["input", "w"], ["s"]),
            helper.make_node("Add", ["s", "total"], ["output"]),
        ],
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])],
        initializer=[
            numpy_helper.from_array(np.array([elements], np.int64), "shape"),
            numpy_helper.from_array(np.ones((3, 1), np.float32), "w"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    """One interpreter, limit 16 MiB: a graph asking for 400 MB, then one asking for 4 MB."""
    folder = tmp_path_factory.mktemp("memory")
    paths = []
    for elements in (100_000_000, 1_000_000):
        path = folder / f"{elements}.onnx"
        path.write_bytes(_allocating(elements))
        paths.append(str(path))
    env = {**os.environ, "PYTHONPATH": str(ROOT), ONNX_MEMORY_SETTING: str(LIMIT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *paths],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.strip().splitlines()[-2:]]


@pytest.mark.slow
def test_a_tensor_over_the_limit_is_refused_in_one_line(
    outcomes: list[dict[str, object]],
) -> None:
    """Even with a constant shape, which onnxruntime would fold while loading the file."""
    assert outcomes[0] == {
        "code": "onnx_memory_limit_exceeded",
        "message": (
            f"big needed more than the scoring memory limit of {LIMIT:,} bytes: export a "
            f"model whose tensors fit, or ask the operator to raise {ONNX_MEMORY_SETTING}"
        ),
    }


@pytest.mark.slow
def test_the_same_graph_under_the_limit_scores(outcomes: list[dict[str, object]]) -> None:
    assert outcomes[1] == {"rows": 50, "limit": LIMIT}


def test_the_first_session_fixes_the_process_limit() -> None:
    """Later sessions cannot change onnxruntime's arena; the limit reported stays the first."""
    limit = _registered.get("limit")
    if limit is None:
        use_limited_memory(ort.SessionOptions())
        limit = MAX_SCORING_MEMORY
    use_limited_memory(ort.SessionOptions(), limit // 2)
    assert memory_limit() == limit
