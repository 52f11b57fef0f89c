"""The FastAPI application: collects the routers, installs errors and limits.

:func:`create_app` takes everything ready-made: the composition root (:mod:`cli.compose`)
builds the parts from ``FAIRGOV_*`` settings, tests pass their own chain and database. For
uvicorn::

    uvicorn --factory cli.compose:api_app
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from api.auth import siwe_origin
from api.context import ApiContext
from api.errors import install_error_handlers
from api.intake import BallotBatcher
from api.limits import LimitsMiddleware, TokenBuckets
from api.routes import (
    audits,
    auth,
    datasets,
    delegations,
    guardian,
    impact,
    jobs,
    models,
    proposals,
    providers,
    reports,
    rewards,
    status,
    voters,
    voting,
)
from api.uploads import UPLOAD_PATHS, sweep_uploads
from core.settings import Settings
from governance.chain.deploy import Deployment

API_PREFIX: Final = "/v1"
DESCRIPTION: Final = """
Token holders vote on which datasets a training pipeline may use and which fairness
thresholds its models must meet; fairgov enforces the result, audits models and anchors
every report's sha256 on chain.

* **Voting needs no account**: fetch the typed data, sign it in your wallet
  (`eth_signTypedData_v4`), post it. The service relays it and pays the gas.
* **Sign-In with Ethereum** (EIP-4361) opens a session for auditors (full report
  downloads) and operators (datasets, audit runs): `GET /v1/auth/nonce`, then
  `POST /v1/auth/login`, then `Authorization: Bearer <token>`.
* Every error is `{"error": {"code", "message", "details"}}` with a stable `code`.
"""


log = logging.getLogger(__name__)


def _router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)
    for module in (
        status,
        proposals,
        impact,
        guardian,
        voting,
        delegations,
        voters,
        datasets,
        providers,
        models,
        audits,
        reports,
        rewards,
        jobs,
        auth,
    ):
        router.include_router(module.router)
    return router


async def _recover_periodically(ctx: ApiContext) -> None:
    """Recover the audit runs of processes that are gone, every ``ctx.recovery_seconds``: a
    host that never comes back leaves rows only its runs' stale heartbeat gives away."""
    while True:
        await asyncio.sleep(ctx.recovery_seconds)
        try:
            await asyncio.to_thread(ctx.recover_audits)
        except Exception:  # logged; the next pass tries again
            log.exception("recovering the audit runs of gone processes failed")


def create_app(
    *,
    settings: Settings,
    engine: Engine,
    w3: Web3,
    deployment: Deployment,
    rpc_url: str | None = None,
    auditor_key: str | None = None,
    heartbeat: Callable[[Session], datetime | None] | None = None,
    job_history: Callable[[Session, str | None, int], Sequence[Any]] | None = None,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    """The API over a migrated database, a chain client and a deployment.

    ``heartbeat`` and ``job_history`` read the scheduler's last heartbeat and run history for
    ``GET /v1/health`` and ``GET /v1/jobs`` (the process that runs the scheduler passes them;
    the API itself never imports the scheduler);
    ``rpc_url`` is the node the ballot checks read (default: ``w3``'s endpoint);
    ``auditor_key`` signs audit anchors for ``POST /v1/audits`` (without it, audits
    cannot be started here); ``clock`` (unix seconds) is for tests.

    Off a local chain, raises :class:`~api.errors.SiweNotConfigured` unless
    ``FAIRGOV_API_DOMAIN`` is set.
    """
    siwe_origin(settings, chain_id=deployment.chain_id)  # refuses to start unconfigured
    url = rpc_url or str(getattr(w3.provider, "endpoint_uri", settings.chain_rpc_url))
    ctx = ApiContext(
        settings,
        engine,
        w3,
        deployment,
        url,
        auditor_key=auditor_key,
        heartbeat=heartbeat,
        job_history=job_history,
    )
    if clock is not None:
        ctx.clock = clock
    batcher = BallotBatcher(ctx)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweep_uploads(Path(settings.data_dir))  # what a crash mid-upload left behind
        recovery = asyncio.create_task(_recover_periodically(ctx))
        yield
        recovery.cancel()
        await batcher.stop()
        ctx.close()

    app = FastAPI(
        title="fairgov",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.batcher = batcher
    install_error_handlers(app)
    app.add_middleware(
        LimitsMiddleware,
        per_ip=TokenBuckets(settings.api_ip_rate, settings.api_ip_burst),
        max_body_bytes=settings.api_max_body_bytes,
        upload_paths=[API_PREFIX + path for path in UPLOAD_PATHS],
        max_upload_bytes=settings.api_max_upload_bytes,
    )
    app.include_router(_router())
    return app


def freeze_heap() -> None:
    """Exempt everything alive now (the imported libraries, the app) from garbage collection.

    A full collection walks every object: with web3, pandas and scikit-learn loaded that is
    some 300,000 objects and 160 ms here, during which no request is answered, so it set
    the API's p99. Serving entry points call this once, after the app is built.
    """
    gc.collect()
    gc.freeze()
