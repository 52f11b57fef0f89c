"""Scheduled jobs with one active scheduler per deployment.

The jobs (:mod:`scheduler.jobs`) sync the chain index, relay signed ballots, queue and
execute passed proposals, audit every model on a cron, re-audit approved models once per
new policy version and delete old unanchored reports. They run on APScheduler 3 with its
SQLAlchemy job store in the app database. Several processes may run a
:class:`SchedulerService`; a lease (:mod:`scheduler.lease`: a row, or a PostgreSQL advisory
lock) lets exactly one of them run the jobs while the others stand by. Every run leaves a
row in the job history (:mod:`scheduler.history`).
"""

from scheduler.db_models import JobRun, JobStatus, SchedulerLease
from scheduler.history import last_heartbeat, recent
from scheduler.jobs import JOBS, JobContext, run_job
from scheduler.service import SchedulerConfig, SchedulerService

__all__ = [
    "JOBS",
    "JobContext",
    "JobRun",
    "JobStatus",
    "SchedulerConfig",
    "SchedulerLease",
    "SchedulerService",
    "last_heartbeat",
    "recent",
    "run_job",
]
