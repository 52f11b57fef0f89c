"""Scoring in a child process: the same scores as in process, and a graph that allocates a
huge tensor or loops for ever is stopped with a one-line error, the parent unharmed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import (
    ONNX_MEMORY_SETTING,
    ONNX_SECONDS_SETTING,
    OnnxMemoryLimitExceeded,
    OnnxScoringOutOfMemory,
    OnnxScoringTimeout,
)
from audit.external import (
    ScoringLimits,
    _sandbox_child,
    address_budget,
    inspect_onnx,
    score_frame,
    score_sandboxed,
    session,
)
from audit.external._sandbox import CHILD_ENV_KEEP, Scorer, run_sandboxed
from tests.unit.audit.external import onnx_models as models
from tests.unit.audit.external.onnx_models import NUMERIC, Exported

SMALL = 64 * 1024**2
FRAME = pd.DataFrame(np.ones((50, 3)), columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def train() -> tuple[pd.DataFrame, np.ndarray]:  # type: ignore[type-arg]
    return models.loans(600, seed=1)


@pytest.fixture(scope="module")
def fresh() -> pd.DataFrame:
    return models.loans(400, seed=2)[0]


@pytest.mark.parametrize(
    ("export", "zipmap"),
    [
        (models.sklearn_pipeline, True),
        (models.sklearn_pipeline, False),
        (models.xgboost_tensor, None),
    ],
    ids=["pipeline-zipmap", "pipeline-tensor", "xgboost"],
)
def test_the_child_scores_what_the_parent_would(train, fresh, export, zipmap) -> None:  # type: ignore[no-untyped-def]
    """String columns in, ZipMap maps or tensors and text or integer labels out."""
    exported: Exported = export(*train) if zipmap is None else export(*train, zipmap=zipmap)
    sig = inspect_onnx("m", exported.data)
    inputs = NUMERIC if sig.layout == "tensor" else tuple(v.name for v in sig.inputs)
    here = score_frame(
        "m", session("m", exported.data), sig, fresh, inputs=inputs, positive_label="1"
    )
    there = score_sandboxed("m", exported.data, sig, fresh, inputs=inputs, positive_label="1")
    assert there.probability is not None
    assert here.probability is not None
    np.testing.assert_array_equal(there.probability, here.probability)
    np.testing.assert_array_equal(there.positive, here.positive)
    assert there.source == here.source == "label_output"
    np.testing.assert_allclose(there.probability, exported.proba(fresh), atol=1e-5, rtol=0)


def _sandboxed(data: bytes, limits: ScoringLimits) -> None:
    score_sandboxed(
        "big",
        data,
        inspect_onnx("big", data),
        FRAME,
        inputs=("a", "b", "c"),
        positive_label="1",
        output="logit",
        limits=limits,
    )


def test_a_tensor_of_ten_billion_floats_is_refused_in_one_line() -> None:
    with pytest.raises(OnnxMemoryLimitExceeded) as caught:
        _sandboxed(models.allocating(10**10), ScoringLimits(max_memory=SMALL))
    assert caught.value.code == "onnx_memory_limit_exceeded"
    assert caught.value.message == (
        f"big needed more than the scoring memory limit of {SMALL:,} bytes: export a "
        f"model whose tensors fit, or ask the operator to raise {ONNX_MEMORY_SETTING}"
    )


def test_the_address_space_limit_stops_what_the_arena_does_not_see() -> None:
    """Without the arena's cap, the kernel's limit on the child still refuses 40 GB."""
    data = models.allocating(10**10)
    with pytest.raises(OnnxScoringOutOfMemory) as caught:
        run_sandboxed(
            "big",
            data,
            {"input": np.ones((50, 3), np.float32)},
            ["output"],
            limits=ScoringLimits(max_memory=SMALL),
            arena=False,
        )
    assert caught.value.code == "onnx_scoring_out_of_memory"
    assert caught.value.message == (
        f"big ran out of memory while scoring (its process may grow by "
        f"{address_budget(SMALL):,} bytes) and was stopped: export a model whose tensors "
        f"fit, or ask the operator to raise {ONNX_MEMORY_SETTING}"
    )


def test_the_same_graph_under_the_limit_scores() -> None:
    scores = score_sandboxed(
        "big",
        models.allocating(1000),
        inspect_onnx("big", models.allocating(1000)),
        FRAME,
        inputs=("a", "b", "c"),
        positive_label="1",
        output="logit",
        limits=ScoringLimits(max_memory=SMALL),
    )
    assert len(scores.positive) == 50
    assert scores.probability is not None
    np.testing.assert_allclose(scores.probability, 1 / (1 + np.exp(-3.0)), rtol=1e-6)


def test_a_loop_of_a_trillion_trips_is_stopped_at_the_time_limit() -> None:
    with pytest.raises(OnnxScoringTimeout) as caught:
        _sandboxed(models.looping(10**12), ScoringLimits(max_seconds=1.5))
    assert caught.value.code == "onnx_scoring_timeout"
    assert caught.value.message == (
        "big was still scoring after 1.5 s, the scoring time limit, and was stopped: "
        f"export a model that scores the dataset faster, or ask the operator to raise "
        f"{ONNX_SECONDS_SETTING}"
    )
    # a short loop of the same graph finishes within the same limit
    scores = score_sandboxed(
        "short",
        models.looping(10),
        inspect_onnx("short", models.looping(10)),
        FRAME,
        inputs=("a", "b", "c"),
        positive_label="1",
        output="logit",
        limits=ScoringLimits(max_seconds=60),
    )
    assert len(scores.positive) == 50


def test_an_orphaned_child_stops_at_its_cpu_limit(tmp_path: Path) -> None:
    """Should the parent die, nobody kills the child at the deadline: the kernel stops it
    once it has used its CPU seconds (the parent sets them a little above its limit)."""
    (tmp_path / "model.onnx").write_bytes(models.looping(10**12))
    np.save(tmp_path / "in0.npy", np.ones((50, 3), np.float32), allow_pickle=False)
    request = {
        "model": "model.onnx",
        "inputs": [["input", "in0.npy", False]],
        "outputs": ["output"],
        "arena_bytes": SMALL,
        "address_space": address_budget(SMALL),
        "cpu_seconds": 1,
    }
    (tmp_path / "request.json").write_text(json.dumps(request))
    child = subprocess.run(
        [sys.executable, "-I", _sandbox_child.__file__, str(tmp_path)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGXCPU
    assert not (tmp_path / "result.json").exists()


def _environ_after_exec(pid: int) -> list[bytes]:
    """The environment of process ``pid`` once it runs the scoring child's program: read
    before its ``exec``, ``/proc`` shows the parent's or (within ``vfork``) nothing."""
    proc = Path(f"/proc/{pid}")
    deadline = time.monotonic() + 30
    while _sandbox_child.__file__.encode() not in (proc / "cmdline").read_bytes():
        assert time.monotonic() < deadline, "the scoring child never started its program"
        time.sleep(0.01)
    return (proc / "environ").read_bytes().split(b"\0")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_the_child_gets_no_key_or_setting_of_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAIRGOV_AUDITOR_KEY", "0x" + "ab" * 32)
    monkeypatch.setenv("FAIRGOV_DATABASE_URL", "postgresql://user:secret@db/fairgov")
    scorer = Scorer()
    try:
        environ = _environ_after_exec(scorer.process.pid)
    finally:
        scorer.close()
    names = {entry.split(b"=", 1)[0] for entry in environ if entry}
    assert not any(name.startswith(b"FAIRGOV_") for name in names)
    assert b"OMP_NUM_THREADS=1" in environ
    allowed = {*CHILD_ENV_KEEP, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"}
    assert names <= {k.encode() for k in allowed}
