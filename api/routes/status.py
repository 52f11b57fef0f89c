"""GET /health, /governance and /policy: the service and the DAO's current rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, func, select

from api.context import ApiContext
from api.deps import CtxDep, SessionDep
from api.errors import responses
from api.schemas.status import (
    AddressesPublic,
    ChainHealth,
    DatabaseHealth,
    GovernancePublic,
    HealthPublic,
    IndexHealth,
    PolicyPublic,
    SchedulerHealth,
    VotingParameters,
)
from core.errors import FairgovError
from governance.chain.contracts import bind
from governance.index.indexer import index_cursor
from governance.policy.snapshot import read_snapshot
from governance.relay.outbox import PENDING_STATUSES, RelayItem, stuck_items, utcnow

router = APIRouter(tags=["status"])


def scheduler_stale_after(sync_interval_seconds: float) -> timedelta:
    """How long without a finished scheduler job the health calls the scheduler stale: ten
    chain-sync intervals, and at least two minutes."""
    return max(timedelta(minutes=2), timedelta(seconds=10 * sync_interval_seconds))


def _scheduler_heartbeat(ctx: ApiContext, session: Session) -> datetime | None:
    """The scheduler's last heartbeat, from the reader the process that runs it gave us
    (the API never imports the scheduler)."""
    if ctx.heartbeat is None:
        return None
    try:
        return ctx.heartbeat(session)
    except SQLAlchemyError:
        return None


#: A relay item not on chain this long after it was accepted makes the service degraded.
RELAY_STUCK_AFTER = timedelta(minutes=5)


@router.get("/health", response_model=HealthPublic, responses=responses())
def health(ctx: CtxDep, session: SessionDep) -> HealthPublic:
    """Whether the chain node, the database and the scheduler are alive, and whether
    accepted messages reach the chain."""
    reasons: list[str] = []
    try:
        block = int(ctx.rpc().one("eth_blockNumber", []).result, 16)
        chain = ChainHealth(status="ok", block=block)
    except (FairgovError, TypeError, ValueError):
        chain = ChainHealth(status="unreachable")
        reasons.append("the chain node does not answer")
    indexed = queue = None
    try:
        session.exec(select(text("1"))).one()
        database = DatabaseHealth(status="ok")
        cursor = index_cursor(session)
        indexed = None if cursor is None else cursor.block_number
        queue = int(
            session.exec(
                select(func.count()).where(RelayItem.status.in_(PENDING_STATUSES))  # type: ignore[attr-defined]
            ).one()
        )
        stuck, oldest = stuck_items(session, accepted_before=utcnow() - RELAY_STUCK_AFTER)
        if stuck:
            reasons.append(
                f"{stuck} relay items are not on chain {RELAY_STUCK_AFTER.seconds // 60} minutes "
                f"after they were accepted (the oldest at {oldest:%Y-%m-%d %H:%M:%S} UTC)"
            )
    except SQLAlchemyError:
        session.rollback()
        database = DatabaseHealth(status="error")
        reasons.append("the database does not answer")
    beat = _scheduler_heartbeat(ctx, session) if database.status == "ok" else None
    scheduler: Literal["ok", "stale", "unknown"] = "unknown" if beat is None else "ok"
    if beat is not None:
        beat = beat if beat.tzinfo is not None else beat.replace(tzinfo=UTC)
        silent = utcnow() - beat
        if silent > scheduler_stale_after(ctx.settings.sync_interval_seconds):
            scheduler = "stale"
            reasons.append(
                f"no scheduler job has finished for {int(silent.total_seconds()) // 60} minutes "
                "(is a fairgov run with the scheduler enabled serving this database?)"
            )
    return HealthPublic(
        status="degraded" if reasons else "ok",
        chain=chain,
        database=database,
        scheduler=SchedulerHealth(status=scheduler, last_heartbeat=beat),
        index=IndexHealth(block=indexed),
        relay_queue=queue,
        reasons=reasons,
    )


@router.get("/governance", response_model=GovernancePublic, responses=responses(503))
def governance(ctx: CtxDep, session: SessionDep) -> GovernancePublic:
    """The chain, the contracts, the voting parameters and the policy version, now."""
    a = ctx.deployment.addresses
    governor = bind(ctx.w3, "FairnessGovernor", a.governor).functions
    timelock = bind(ctx.w3, "TimelockController", a.timelock).functions
    policy = bind(ctx.w3, "TrainingPolicy", a.training_policy).functions
    voting = VotingParameters(
        voting_delay=governor.votingDelay().call(),
        voting_period=governor.votingPeriod().call(),
        proposal_threshold=str(governor.proposalThreshold().call()),
        quorum_numerator=governor.quorumNumerator().call(),
        late_quorum_vote_extension=governor.lateQuorumVoteExtension().call(),
        timelock_delay=timelock.getMinDelay().call(),
    )
    cursor = index_cursor(session)
    config = ctx.deployment.config
    return GovernancePublic(
        chain_id=ctx.deployment.chain_id,
        block=ctx.w3.eth.block_number,
        governor_name=config.governor_name,
        token_name=config.token_name,
        token_symbol=config.token_symbol,
        addresses=AddressesPublic(**a.model_dump()),
        voting=voting,
        policy_version=policy.policyVersion().call(),
        indexed_block=None if cursor is None else cursor.block_number,
    )


@router.get("/policy", response_model=PolicyPublic, responses=responses(404, 503))
def policy(
    ctx: CtxDep,
    block: Annotated[
        int | None, Query(ge=0, le=2**63 - 1, description="Block to read at; default latest.")
    ] = None,
) -> PolicyPublic:
    """The effective TrainingPolicy (datasets, thresholds, mitigation, evidence rules) at a
    block."""
    snapshot = read_snapshot(
        ctx.w3, ctx.deployment.addresses.training_policy, block="latest" if block is None else block
    )
    return PolicyPublic(hash=snapshot.hash, **snapshot.model_dump(exclude={"schema_version"}))
