"""Upload folders a crashed process left behind are swept; those of running processes stay."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from api.uploads import STALE_AFTER, UPLOADS_FOLDER, sweep_uploads, upload_dir


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_stopped_process_s_and_day_old_folders_go_a_running_one_s_stay(tmp_path: Path) -> None:
    root = tmp_path / UPLOADS_FOLDER
    mine = upload_dir(tmp_path)  # this process, uploading now
    assert mine.parent == root
    assert mine.name.startswith(f"p{os.getpid()}-")
    crashed = root / f"p{_dead_pid()}-x1"
    crashed.mkdir()
    (crashed / "preds.csv").write_bytes(b"y,score\n1,0.5\n")
    unnamed = root / "tmpab12"  # made before folders were named after their process
    unnamed.mkdir()
    old = root / f"p{os.getpid()}-old"
    old.mkdir()
    day_ago = old.stat().st_mtime - STALE_AFTER - 60
    os.utime(old, (day_ago, day_ago))
    assert sorted(sweep_uploads(tmp_path)) == sorted([crashed.name, old.name])
    assert sorted(p.name for p in root.iterdir()) == sorted([mine.name, unnamed.name])
    later = unnamed.stat().st_mtime + STALE_AFTER + 1
    assert sweep_uploads(tmp_path, now=later) == sorted([mine.name, unnamed.name])


def test_no_uploads_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_uploads(tmp_path) == []
