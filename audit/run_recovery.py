"""Audit runs a crash left behind: queued runs to run, running ones to close.

A run accepted over HTTP is a ``queued`` row before the 202 (:func:`queued_row`); its spec
is in the row, so the API process that starts next runs it (:func:`claim_queued`). A row
still ``running`` when the process that ran it is gone is closed ``failed`` with the code
``interrupted`` (:func:`close_interrupted`): it may have written its report and sent its
anchor, so it is not run behind anyone's back; running the same spec again gives the same run
id and reads an anchor already sent back.

A process is gone when this host can see it is (:func:`audit.run_owner.owner_gone`: same
host, its pid and start time no longer there), or, when this host cannot see it (another
host), when its rows' heartbeat is older than :data:`~audit.run_heartbeat.HEARTBEAT_TIMEOUT`
(:mod:`audit.run_heartbeat`). A process this host sees alive is never judged by its heartbeat.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from audit.db_models import AuditRunRecord, RunKind, RunStatus, utcnow
from audit.errors import AuditError, RunTakenOver
from audit.run_heartbeat import keep_alive, stale_before
from audit.run_owner import owner_alive, owner_gone, process_owner
from audit.spec import is_federated
from core.db import session_scope
from core.errors import ErrorCategory

#: The ``error_code`` of a run whose process stopped while it ran.
INTERRUPTED: Final = "interrupted"
#: Copied from a completed attempt of the same run id into a queued row run after it.
_OUTCOME: Final = (
    "model_hash",
    "report_hash",
    "verdict",
    "report_dir",
    "anchor_tx",
    "anchor_block",
    "status",
)


class RunInputsChanged(AuditError):
    """A queued run's policy or dataset changed before it ran: its run id no longer applies."""

    code: ClassVar[str] = "run_inputs_changed"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, run_id: str, now: str) -> None:
        super().__init__(
            f"the policy or a dataset changed after run {run_id} was accepted, so its inputs "
            f"now make run {now}: start the audit again to run it under the current policy",
            run_id=run_id,
            now=now,
        )


@dataclass(frozen=True)
class QueuedRun:
    """An accepted run's row: enough to run it, in this process or the next."""

    row_id: int
    run_id: str
    kind: RunKind
    model_name: str
    spec_json: str


def queued_row(session: Session, row: AuditRunRecord) -> QueuedRun:
    """Store ``row`` as a ``queued`` run owned by this process."""
    row.status, row.owner = RunStatus.QUEUED, process_owner()
    session.add(row)
    session.flush()
    assert row.id is not None
    return QueuedRun(row.id, row.run_id, RunKind(row.kind), row.model_name, row.spec_json)


def start_queued(engine: Engine, row_id: int, run_id: str) -> None:
    """Move the queued row ``row_id`` to ``running`` in this process.

    Raises :class:`RunInputsChanged` (the row is closed ``failed``) when the run planned now
    has another id than the one accepted, and :class:`~audit.errors.RunTakenOver` (the row is
    left alone) when it is no longer queued for this process: recovery judged this process
    gone by its heartbeat and handed the run to another, which runs it (review, session 25:
    both ran it).
    """
    with session_scope(engine) as session:
        row = session.get(AuditRunRecord, row_id)
        assert row is not None
        if row.status != RunStatus.QUEUED or row.owner != process_owner():
            # Recovery gave it to another process (this one looked gone): that one runs it.
            raise RunTakenOver(row.run_id, row.owner)
        if row.run_id != run_id:
            exc = RunInputsChanged(row.run_id, run_id)
            row.status, row.finished_at = RunStatus.FAILED, utcnow()
            row.error_code, row.error = exc.code, exc.message
        else:
            row.status, row.owner = RunStatus.RUNNING, process_owner()
            row.heartbeat_at = utcnow()
        session.add(row)
    if row.run_id != run_id:
        raise exc


@dataclass(frozen=True)
class _Orphan:
    """A row whose process is gone; ``silent_before`` is set when only its heartbeat says so
    (the row is taken only if it is still that old then)."""

    row: AuditRunRecord
    silent_before: datetime | None


def _take(session: Session, orphan: _Orphan, **values: object) -> bool:
    """Set ``values`` on the orphan's row unless another process changed its status or owner
    first, or (judged by its heartbeat) its owner beat since."""
    row, owner = orphan.row, col(AuditRunRecord.owner)
    conditions = [
        col(AuditRunRecord.id) == row.id,
        col(AuditRunRecord.status) == row.status,
        owner.is_(None) if row.owner is None else owner == row.owner,
    ]
    if orphan.silent_before is not None:
        conditions.append(col(AuditRunRecord.heartbeat_at) < orphan.silent_before)
    result = session.execute(update(AuditRunRecord).where(*conditions).values(**values))
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _orphans(session: Session, status: RunStatus) -> list[_Orphan]:
    """The rows in ``status`` whose process is gone: seen gone on this host, or, when this
    host cannot see it alive, silent for longer than the heartbeat timeout."""
    silent_before = stale_before()
    rows = session.exec(select(AuditRunRecord).where(AuditRunRecord.status == status)).all()
    orphans = []
    for row in rows:
        if owner_gone(row.owner):
            orphans.append(_Orphan(row, None))
        elif not owner_alive(row.owner) and row.heartbeat_at < silent_before:
            orphans.append(_Orphan(row, silent_before))
    return orphans


#: What starting an interrupted run again does, by the kind of spec it ran.
AGAIN = "the same spec gives the same run id, and an anchor already sent is read back"
AGAIN_FEDERATED = (
    "a federated run's id also covers the nodes that take part and what they send, so the "
    "new run gets its own id unless they answer exactly as before"
)


def interrupted_message(
    owner: str | None, last_beat: datetime | None = None, *, federated: bool = False
) -> str:
    """The one-line ``error`` of a run closed as interrupted; ``last_beat`` when its process
    was judged gone by its heartbeat (``owner`` on another host)."""
    who = "its process" if owner is None else "process " + _pid_on_host(owner)
    if last_beat is not None:
        who += f" (silent since {last_beat.isoformat(timespec='seconds')})"
    again = AGAIN_FEDERATED if federated else AGAIN
    return f"interrupted: {who} stopped before the run finished; start the audit again ({again})"


def _federated(row: AuditRunRecord) -> bool:
    try:
        return is_federated(json.loads(row.spec_json or "null"))
    except ValueError:  # a spec stored before specs were JSON: not a federated one
        return False


def _pid_on_host(owner: str) -> str:
    parts = owner.rsplit("/", 3)
    return f"{parts[2]} on {parts[0]}" if len(parts) == 4 else owner


def close_interrupted(engine: Engine) -> list[str]:
    """Close as ``failed`` (``interrupted``) every ``running`` row whose process is gone;
    returns their run ids.

    Examples
    --------
    >>> close_interrupted(engine)  # doctest: +SKIP
    ['0x…']
    """
    closed: list[str] = []
    with session_scope(engine) as session:
        for orphan in _orphans(session, RunStatus.RUNNING):
            row = orphan.row
            last_beat = None if orphan.silent_before is None else row.heartbeat_at
            values = {
                "status": RunStatus.FAILED,
                "error_code": INTERRUPTED,
                "error": interrupted_message(row.owner, last_beat, federated=_federated(row)),
                "finished_at": utcnow(),
            }
            if _take(session, orphan, **values):
                closed.append(row.run_id)
    return closed


def claim_queued(engine: Engine) -> list[QueuedRun]:
    """Take over the ``queued`` rows whose accepting process is gone, to run them here.

    A row whose run id has completed since (another attempt) is not run again: it takes
    that attempt's outcome.
    """
    claimed: list[QueuedRun] = []
    with session_scope(engine) as session:
        for orphan in _orphans(session, RunStatus.QUEUED):
            row, mine = orphan.row, {"owner": process_owner(), "heartbeat_at": utcnow()}
            done = _completed_attempt(session, row.run_id)
            if done is not None:
                outcome = {name: getattr(done, name) for name in _OUTCOME}
                _take(session, orphan, **outcome, finished_at=utcnow(), **mine)
            elif _take(session, orphan, **mine):
                assert row.id is not None
                claimed.append(
                    QueuedRun(row.id, row.run_id, RunKind(row.kind), row.model_name, row.spec_json)
                )
    if claimed:  # queued rows of this process now: they beat until they run
        keep_alive(engine)
    return claimed


def _completed_attempt(session: Session, run_id: str) -> AuditRunRecord | None:
    return session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.run_id == run_id, AuditRunRecord.status == RunStatus.COMPLETED)
        .order_by(col(AuditRunRecord.id).desc())
    ).first()
