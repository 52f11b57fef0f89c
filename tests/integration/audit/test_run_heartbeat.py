"""A real process's running audit run beats while the process lives, and stops beating when it
is killed; its run is then recovered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from audit.db_models import AuditRunRecord
from audit.run_heartbeat import stale
from audit.run_recovery import close_interrupted
from core.db import session_scope

ROOT = Path(__file__).parents[3]
#: The run path of an accepted audit: stored queued, then started (running) in this process;
#: the heartbeat beats every 0.1 s instead of every 30 s. The row id goes to stdout.
CHILD = textwrap.dedent(
    """
    import sys, time
    from audit.db_models import AuditRunRecord
    from audit.run_heartbeat import keep_alive
    from audit.run_recovery import queued_row, start_queued
    from core.db import make_engine, session_scope

    engine = make_engine(sys.argv[1])
    keep_alive(engine, interval=0.1)
    with session_scope(engine) as session:
        queued = queued_row(session, AuditRunRecord(
            run_id="0x" + "cd" * 32, model_name="loans-lr", dataset_name="loans",
            dataset_id="0x" + "01" * 32, spec_json="{}", chain_id=31337, policy_version=1,
            policy_block=1, policy_snapshot_hash="0x" + "02" * 32,
        ))
    start_queued(engine, queued.row_id, queued.run_id)
    print(queued.row_id, flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def child(engine: Engine) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A process running an audit run on ``engine``'s database, and the run's row id."""
    url = engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process, int(process.stdout.readline())
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def _row(engine: Engine, row_id: int) -> AuditRunRecord:
    with session_scope(engine) as session:
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        return row


def _beats(engine: Engine, row_id: int, seconds: float) -> list[datetime]:
    """The row's distinct heartbeats seen over ``seconds``."""
    seen: list[datetime] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat = _row(engine, row_id).heartbeat_at
        if not seen or beat != seen[-1]:
            seen.append(beat)
        time.sleep(0.05)
    return seen


def test_a_running_run_beats_while_its_process_lives(
    engine: Engine, child: tuple[subprocess.Popen[str], int]
) -> None:
    process, row_id = child
    row = _row(engine, row_id)
    assert row.status == "running"
    assert row.owner is not None
    assert row.owner.split("/")[2] == str(process.pid)
    beats = _beats(engine, row_id, 1.5)
    assert len(beats) >= 3, beats  # at 0.1 s, several beats in 1.5 s
    assert beats == sorted(beats)
    assert not stale(beats[-1])
    assert close_interrupted(engine) == []  # a beating run is nobody's to close

    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    last = _row(engine, row_id).heartbeat_at
    assert _beats(engine, row_id, 0.5) == [last]  # a dead process beats no more
    assert close_interrupted(engine) == ["0x" + "cd" * 32]
    assert _row(engine, row_id).error_code == "interrupted"
