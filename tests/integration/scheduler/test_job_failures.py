"""A job that fails for a reason the operator can act on says it in one line, in the log and
in its history row; only a bug keeps its traceback (new-user review, session 26: a killed
anvil printed eight tracebacks, and the keeper's row held a raw requests error)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from governance.chain import deploy
from governance.chain.localchain import free_port
from scheduler import jobs
from scheduler.db_models import JobStatus
from scheduler.jobs import Outcome, run_job
from scheduler.runtime import Runtime, run
from tests.integration.scheduler.test_jobs import make_context, runs

pytestmark = pytest.mark.chain


def test_a_chain_node_that_does_not_answer_is_one_line_and_a_coded_row(
    engine: Engine, deployment: deploy.Deployment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    w3 = Web3(Web3.HTTPProvider(dead, request_kwargs={"timeout": 2}))
    ctx = make_context(engine, w3, deployment, tmp_path, rpc_url=dead)
    with caplog.at_level(logging.WARNING, logger="scheduler.jobs"), jobs.installed(ctx):
        run_job("sync_chain")
    (row,) = runs(engine, "sync_chain")
    assert row.status == JobStatus.FAILED
    assert row.error is not None
    assert row.error.startswith(f"chain_unreachable: the chain node at {dead} does not answer")
    (record,) = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None  # no traceback
    assert "start it, or set FAIRGOV_RPC_URL" in record.getMessage()


def test_a_bug_keeps_its_traceback(
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = make_context(engine, w3, deployment, tmp_path)

    def broken(_: Runtime) -> Outcome:
        raise KeyError("boom")

    with caplog.at_level(logging.WARNING, logger="scheduler.jobs"), jobs.installed(ctx):
        run("probe", broken)
    (row,) = runs(engine, "probe")
    assert (row.status, row.error) == (JobStatus.FAILED, "KeyError: 'boom'")
    (record,) = [r for r in caplog.records if r.name == "scheduler.jobs"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
