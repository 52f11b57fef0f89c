"""Review #18: the start-up sweep keeps a crashed upload whose process had this process's pid.

:func:`api.uploads.sweep_uploads` runs once, when the app starts, to remove what a process
that crashed mid-upload left. It keeps every folder named after a running pid, including its
own. In a container the API restarts with the same pid (1, or the same worker pids), so the
folder of the crashed incarnation is named after the new process and survives the sweep for
a day (up to ``FAIRGOV_API_MAX_UPLOAD_BYTES`` per crash, a crash loop fills the disk). At
start-up no upload of this process can be in flight, so its own pid cannot mean "running".
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.uploads import UPLOADS_FOLDER

pytestmark = pytest.mark.chain


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_start_up_removes_the_uploads_a_crashed_process_with_this_pid_left(
    make_app, tmp_path: Path
) -> None:
    crashed = tmp_path / UPLOADS_FOLDER / f"p{os.getpid()}-crashed"
    crashed.mkdir(parents=True)
    (crashed / "predictions.csv").write_bytes(b"x" * 1024)
    with TestClient(make_app()):  # the lifespan sweeps before serving
        pass
    assert not crashed.exists(), "a restarted API with the same pid keeps the crashed upload"
