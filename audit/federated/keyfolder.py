"""Where ``fairgov provider serve`` keeps a decrypted provider key while its node runs.

The ClientApp process reads the key from a file (Flower passes the node only text
settings), so a key decrypted from a keystore is written to a private folder: mode 700,
the key file 600, named ``fairgov-node-<pid>-…`` after the serving process. The folder is
removed when the node stops: on return, on an exception, on Ctrl-C and, inside
:func:`stopped_by_signals`, on SIGTERM and SIGHUP. SIGKILL cannot be handled: the folder
of a killed process stays until the next ``provider serve`` of the same user, which
removes every such folder whose process is gone (:func:`remove_stale`).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

#: How the folders begin; the serving process's pid follows, then a random part.
PREFIX = "fairgov-node-"
#: The signals that stop a node the way Ctrl-C does.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """The node was asked to stop by a signal (handled like Ctrl-C)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: not ours to judge
    return True


def _owner_pid(folder: Path) -> int | None:
    head = folder.name.removeprefix(PREFIX).split("-", 1)[0]
    return int(head) if head.isdigit() else None


def remove_stale(root: Path | None = None) -> list[Path]:
    """Remove this user's key folders under ``root`` (the temporary directory) whose
    serving process is gone; return them. Folders of live processes, of other users, and
    without a pid in their name are left alone."""
    base = Path(root or tempfile.gettempdir())
    removed = []
    for folder in sorted(base.glob(PREFIX + "*")):
        pid = _owner_pid(folder)
        try:
            mine = (
                folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
            )
        except OSError:
            continue
        if pid is None or not mine or _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


@contextmanager
def private_key_folder(key: str, root: Path | None = None) -> Iterator[Path]:
    """A key file (mode 600) holding ``key`` in a fresh private folder named after this
    process, removed on the way out; stale folders of dead processes are removed first."""
    remove_stale(root)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=root))
    try:
        path = folder / "provider.key"
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(key)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Inside, SIGTERM and SIGHUP raise :class:`Stopped` (a KeyboardInterrupt), so the
    ``with`` blocks around the node unwind and remove what they hold."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Stopped(signum)

    previous = {s: signal.signal(s, stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
