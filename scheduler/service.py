"""The scheduler service: one active APScheduler per deployment, the others on standby.

:meth:`SchedulerService.start` tries to take the lease (:mod:`scheduler.lease`). The holder
starts an APScheduler ``BackgroundScheduler`` on the SQLAlchemy job store in the app
database and renews the lease every ``lease_seconds / 3``; every other process polls the
lease at that rate and takes over once it expires (at once on PostgreSQL, where the
advisory lock dies with its connection). APScheduler 3 cannot share a job store between
running schedulers, so only the holder ever starts one. A holder that fails to renew shuts
its scheduler down at once and goes back to standby.

Jobs keep their fixed ids across restarts and takeovers. When the new holder adds them
(``replace_existing=True``) it keeps the stored next run time if the trigger did not
change, so runs missed while nobody was active run once, late (``coalesce=True``).
On activation it closes the job runs of other holders and the audit runs whose process is
gone (:func:`audit.run_recovery.close_interrupted`), so no row says ``running`` forever.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import SQLAlchemyError

from audit.run_recovery import close_interrupted
from core.db import session_scope
from core.errors import ConfigurationError
from core.settings import Settings
from scheduler import history, jobs
from scheduler.db_models import JOBSTORE_TABLE
from scheduler.jobs import JobContext
from scheduler.lease import Lease, make_lease

_log = logging.getLogger(__name__)

#: The one-off job that ``sync_chain`` adds when the policy version rises.
POLICY_AUDIT_JOB: Final = "audit_on_policy_change"
#: How often reward roots are posted (at least the sync interval).
_REWARDS_SECONDS: Final = 30.0
RETENTION_CRON: Final = "30 4 * * *"


@dataclass(frozen=True)
class SchedulerConfig:
    """How often what runs, and the lease. :meth:`from_settings` reads ``FAIRGOV_*``.

    ``audit_every_seconds`` replaces ``audit_cron`` with an interval (tests and demos);
    ``jobs`` limits the periodic jobs scheduled (None: all of them).
    """

    lease_seconds: float = 30.0
    sync_interval_seconds: float = 5.0
    audit_cron: str = "0 3 * * *"
    audit_every_seconds: float | None = None
    retention_cron: str = RETENTION_CRON
    keeper_enabled: bool = True
    jobs: tuple[str, ...] | None = None
    lease_name: str = "scheduler"
    executor_threads: int = 4

    @property
    def poll_seconds(self) -> float:
        """How often the holder renews and a standby polls."""
        return self.lease_seconds / 3

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulerConfig:
        return cls(
            lease_seconds=settings.lease_seconds,
            sync_interval_seconds=settings.sync_interval_seconds,
            audit_cron=settings.audit_cron,
            keeper_enabled=settings.keeper_enabled,
        )


@dataclass(frozen=True)
class PlannedJob:
    """A periodic job: its trigger and how late a run may still start (None: any)."""

    name: str
    trigger: Any
    misfire_grace_seconds: int | None


def _cron(expression: str, variable: str) -> Any:
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except ValueError as exc:
        raise ConfigurationError(
            f"{variable}={expression!r} is not a crontab (minute hour day month weekday, "
            f"e.g. '0 3 * * *'): {exc}"
        ) from None


def planned_jobs(config: SchedulerConfig) -> list[PlannedJob]:
    """The periodic jobs ``config`` asks for, each with its trigger."""
    every = IntervalTrigger(seconds=config.sync_interval_seconds, timezone=UTC)
    grace = max(1, round(config.sync_interval_seconds))
    audit_trigger = (
        IntervalTrigger(seconds=config.audit_every_seconds, timezone=UTC)
        if config.audit_every_seconds is not None
        else _cron(config.audit_cron, "FAIRGOV_AUDIT_CRON")
    )
    plan = [
        PlannedJob("sync_chain", every, grace),
        PlannedJob("relay_outbox", every, grace),
        PlannedJob("keeper", every, grace),
        PlannedJob("audit_all", audit_trigger, None),
        # Reward roots between audit passes; a few chain reads per posted epoch each time.
        PlannedJob(
            "post_rewards",
            IntervalTrigger(
                seconds=max(_REWARDS_SECONDS, config.sync_interval_seconds), timezone=UTC
            ),
            grace,
        ),
        PlannedJob("retention", _cron(config.retention_cron, "retention_cron"), None),
    ]
    if not config.keeper_enabled:
        plan = [p for p in plan if p.name != "keeper"]
    if config.jobs is not None:
        unknown = set(config.jobs) - set(jobs.JOBS)
        if unknown:
            raise ValueError(f"unknown jobs: {', '.join(sorted(unknown))}")
        plan = [p for p in plan if p.name in config.jobs]
    return plan


class _JobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's store, minus disposing the application's engine on shutdown."""

    def shutdown(self) -> None:
        return None


def default_holder() -> str:
    """``host:pid:random``: unique per process start."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SchedulerService:
    """Runs the jobs while this process holds the lease; stands by otherwise.

    Parameters
    ----------
    context : JobContext
        What the jobs need; installed process-wide while this service is active, so run
        one service per process.
    config : SchedulerConfig
        Intervals, the audit schedule and the lease.
    holder : str, optional
        This process's name in the lease and the job history.
    lease : Lease, optional
        Defaults to an advisory lock on PostgreSQL and a lease row elsewhere.

    Examples
    --------
    >>> service = SchedulerService(context, SchedulerConfig.from_settings(settings))
    >>> service.start()  # doctest: +SKIP
    >>> service.is_active  # doctest: +SKIP
    True
    >>> service.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        context: JobContext,
        config: SchedulerConfig | None = None,
        *,
        holder: str | None = None,
        lease: Lease | None = None,
    ) -> None:
        self.context = context
        self.config = config or SchedulerConfig()
        self.holder = holder or default_holder()
        self.lease = lease or make_lease(
            context.engine,
            holder=self.holder,
            seconds=self.config.lease_seconds,
            name=self.config.lease_name,
        )
        self.plan = planned_jobs(self.config)
        #: Wall-clock time of the lease attempt that made this service active, if any.
        self.activated_at: float | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._active = False
        self._held_until = 0.0
        #: How many times this process became active: a job checks the term it started in.
        self._term = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ public

    @property
    def is_active(self) -> bool:
        """Whether this process runs the jobs now (it holds an unexpired lease)."""
        return self._may_run()

    def start(self) -> None:
        """Try to become active now, then keep renewing or polling in a background thread."""
        if self._thread is not None:
            raise RuntimeError("this SchedulerService was already started")
        self._step()
        self._thread = threading.Thread(target=self._loop, name="fairgov-lease", daemon=True)
        self._thread.start()

    def stop(self, *, wait: bool = True) -> None:
        """Stop the jobs (waiting for running ones if ``wait``) and release the lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self._deactivate("stopping", wait=wait)
            try:
                self.lease.release()
            except SQLAlchemyError:
                _log.warning("could not release the scheduler lease; it expires by itself")

    # ------------------------------------------------------------------ the lease loop

    def _loop(self) -> None:
        poll = self.config.poll_seconds
        next_at = time.monotonic() + poll
        while not self._stop.wait(max(0.0, next_at - time.monotonic())):
            next_at = max(next_at + poll, time.monotonic())
            self._step()

    def _step(self) -> None:
        with self._lock:
            attempted_at, started = time.time(), _lease_clock()
            try:
                held: bool | None = self.lease.acquire()
            except SQLAlchemyError as exc:
                _log.warning("scheduler lease check failed: %s", exc)
                held = None
            if held:
                self._held_until = started + self.config.lease_seconds
                if not self._active:
                    self._activate(attempted_at)
            elif self._active and (
                held is False or _lease_clock() >= self._held_until - self.config.poll_seconds
            ):
                self._deactivate("lost the lease", wait=False)

    def _may_run(self) -> bool:
        return self._active and _lease_clock() < self._held_until

    # ------------------------------------------------------------------ active / standby

    def _activate(self, attempted_at: float) -> None:
        scheduler = BackgroundScheduler(
            jobstores={"default": _JobStore(engine=self.context.engine, tablename=JOBSTORE_TABLE)},
            executors={"default": ThreadPoolExecutor(self.config.executor_threads)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=UTC,
        )
        try:
            with session_scope(self.context.engine) as session:
                abandoned = history.abandon(session, except_holder=self.holder)
            interrupted = close_interrupted(self.context.engine)  # runs of a dead process
            scheduler.start(paused=True)
            self._schedule(scheduler)
        except Exception:
            _log.exception("could not start the scheduler; standing by")
            if scheduler.running:
                scheduler.shutdown(wait=False)
            self.lease.release()
            return
        self._term += 1
        term = self._term
        jobs.install(
            self.context,
            holder=self.holder,
            # A job of an earlier term (its thread outlives a lost lease) stays fenced out
            # when this process holds the lease again (review, session 26).
            may_run=lambda: self._term == term and self._may_run(),
            request_policy_audit=self._request_policy_audit,
        )
        self._scheduler, self._active, self.activated_at = scheduler, True, attempted_at
        scheduler.resume()
        _log.info(
            "scheduler %s is active (closed %d abandoned runs, %d interrupted audit runs)",
            self.holder,
            abandoned,
            len(interrupted),
        )

    def _schedule(self, scheduler: BackgroundScheduler) -> None:
        wanted = {p.name for p in self.plan} | {POLICY_AUDIT_JOB}
        for stored in scheduler.get_jobs():
            if stored.id not in wanted:
                scheduler.remove_job(stored.id)
        for planned in self.plan:
            options: dict[str, Any] = {}
            stored = scheduler.get_job(planned.name)
            if (
                stored is not None
                and stored.next_run_time is not None
                and str(stored.trigger) == str(planned.trigger)
            ):
                options["next_run_time"] = stored.next_run_time  # keep missed runs: coalesce
            scheduler.add_job(
                jobs.reference(planned.name),
                trigger=planned.trigger,
                id=planned.name,
                name=planned.name,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=planned.misfire_grace_seconds,
                **options,
            )

    def _request_policy_audit(self) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            return
        scheduler.add_job(
            jobs.reference(POLICY_AUDIT_JOB),
            trigger="date",
            id=POLICY_AUDIT_JOB,
            name=POLICY_AUDIT_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def _deactivate(self, reason: str, *, wait: bool) -> None:
        scheduler, self._scheduler, self._active = self._scheduler, None, False
        if scheduler is None:
            return
        scheduler.shutdown(wait=wait)
        jobs.uninstall()
        _log.info("scheduler %s stopped its jobs: %s", self.holder, reason)


def _lease_clock() -> float:
    """Seconds on a clock that keeps counting while the host is suspended (Linux's
    ``CLOCK_BOOTTIME``; ``time.monotonic`` stands still then, so a holder that woke from a
    suspend thought it still held a lease it had lost), else ``time.monotonic``."""
    boottime = getattr(time, "CLOCK_BOOTTIME", None)
    return time.monotonic() if boottime is None else time.clock_gettime(boottime)
