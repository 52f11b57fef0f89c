"""Upload folders a crashed process left behind are swept; those of running processes stay."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.uploads import STALE_AFTER, UPLOADS_FOLDER, sweep_uploads, upload_dir


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


@pytest.fixture
def other_worker() -> Iterator[int]:
    """The pid of another running process (a second API worker)."""
    # It blocks on its standard input until the test ends and kills it: no timer to outlast.
    process = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    yield process.pid
    process.kill()
    process.communicate()


def test_a_stopped_process_s_and_day_old_folders_go_a_running_one_s_stay(
    tmp_path: Path, other_worker: int
) -> None:
    root = tmp_path / UPLOADS_FOLDER
    root.mkdir()
    theirs = root / f"p{other_worker}-k2j3"  # another worker, uploading now
    theirs.mkdir()
    crashed = root / f"p{_dead_pid()}-x1"
    crashed.mkdir()
    (crashed / "preds.csv").write_bytes(b"y,score\n1,0.5\n")
    unnamed = root / "tmpab12"  # made before folders were named after their process
    unnamed.mkdir()
    old = root / f"p{other_worker}-old"
    old.mkdir()
    day_ago = old.stat().st_mtime - STALE_AFTER - 60
    os.utime(old, (day_ago, day_ago))
    assert sorted(sweep_uploads(tmp_path)) == sorted([crashed.name, old.name])
    assert sorted(p.name for p in root.iterdir()) == sorted([theirs.name, unnamed.name])
    later = unnamed.stat().st_mtime + STALE_AFTER + 1
    assert sweep_uploads(tmp_path, now=later) == sorted([theirs.name, unnamed.name])


def test_upload_folders_are_named_after_their_process(tmp_path: Path) -> None:
    mine = upload_dir(tmp_path)
    assert mine.parent == tmp_path / UPLOADS_FOLDER
    assert mine.name.startswith(f"p{os.getpid()}-")


def test_the_start_up_sweep_removes_a_crashed_predecessor_s_folder_with_this_pid(
    tmp_path: Path,
) -> None:
    """Review #18: a restarted container runs the API with the same pid (1); at start-up no
    upload of this process is in flight, so a folder with its pid is a crashed one's."""
    crashed = upload_dir(tmp_path)
    (crashed / "predictions.csv").write_bytes(b"x" * 1024)
    assert sweep_uploads(tmp_path) == [crashed.name]
    assert not crashed.exists()


def test_no_uploads_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_uploads(tmp_path) == []
