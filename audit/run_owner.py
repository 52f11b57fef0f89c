"""Which process owns an audit run's row, and whether that process is gone.

Every run row names the process that accepted or runs it (``owner``):
``host/boot id/pid/start time``. The boot id and the process's start time (in clock ticks
since boot, from ``/proc``) tell a dead process from a new one that reuses its pid, as a
restarted container's does. Only processes on this host can be checked here: for a row
owned on another host (or when ``/proc`` cannot tell) :func:`owner_gone` and
:func:`owner_alive` both answer False, and recovery goes by the row's heartbeat instead
(:mod:`audit.run_heartbeat`).
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

_UNKNOWN = "-"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text("ascii").strip() or _UNKNOWN
    except OSError:
        return _UNKNOWN


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (ticks since boot), ``-`` when ``/proc`` cannot
    tell, None when there is no such process (or it is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text("ascii")
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _exists(pid)
    except OSError:
        return _exists(pid)
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in {"Z", "X"}:
        return None
    return fields[19]


def _exists(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return _UNKNOWN
    return _UNKNOWN


@cache
def _identity(pid: int) -> str:
    return f"{socket.gethostname()}/{_boot_id()}/{pid}/{_start_time(pid) or _UNKNOWN}"


def process_owner() -> str:
    """This process's name in the ``owner`` column of the run rows it creates or claims."""
    return _identity(os.getpid())


def _verdict(owner: str | None) -> bool | None:
    """True when the process named ``owner`` is gone, False when it provably lives, None when
    this host cannot tell (another host, or ``/proc`` and the boot id do not say)."""
    if owner is None:
        return True
    if owner == process_owner():
        return False
    parts = owner.rsplit("/", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname():
        return None
    _host, boot, pid, started = parts
    if boot != _boot_id():
        return True if _UNKNOWN not in (boot, _boot_id()) else None
    if not pid.isdigit():
        return None
    now = _start_time(int(pid))
    if now is None:
        return True
    if _UNKNOWN in (now, started):
        return None
    return now != started


def owner_gone(owner: str | None) -> bool:
    """Whether the process named ``owner`` has ended: it ran on this host and either the host
    rebooted since, or no process with its pid and start time exists now. A row with no
    owner was written before owners were recorded (by a process that has since been
    upgraded away, so it is gone too).

    Examples
    --------
    >>> owner_gone(process_owner())
    False
    """
    return _verdict(owner) is True


def owner_alive(owner: str | None) -> bool:
    """Whether the process named ``owner`` provably still runs: it is this process, or a
    process on this host, since its boot, with its pid and start time. False for a process
    this host cannot see (another host): only its heartbeat can tell then.

    Examples
    --------
    >>> owner_alive(process_owner()), owner_alive("elsewhere/boot/1/1")
    (True, False)
    """
    return _verdict(owner) is False
