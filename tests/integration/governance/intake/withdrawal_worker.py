"""One API process's part in the cross-process withdrawal test: started with the 'spawn'
context, it opens its own engine and node connection, waits at the barrier with the other
processes, submits one signed withdrawal and reports ``queued`` or ``held``."""

from __future__ import annotations

import time
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from core import db
from governance.actions import DatasetWithdrawal
from governance.chain import deploy
from governance.chain import node as chain_client
from governance.chain.rpc import RpcBatch, RpcReply
from governance.errors import WithdrawalAlreadyHeld
from governance.intake.withdrawals import accept_withdrawal

#: How long the node takes to answer each of the relay's simulation calls, in seconds.
NODE_DELAY = 0.5


class SlowNode(RpcBatch):
    """A node that answers the relay's calls slowly. Between the check of the outbox and the
    insert, the call is simulated on the node: the slower the node, the longer other
    processes have to pass the same check. The delay makes every process without the
    database lock pass it, not just most of them."""

    def call(self, calls: list[tuple[str, list[Any]]]) -> list[RpcReply]:
        if calls:
            time.sleep(NODE_DELAY)
        return super().call(calls)


def send(
    database_url: str,
    rpc_url: str,
    *,
    deployment_json: str,
    withdrawal_json: str,
    signature: str,
    barrier: Barrier,
    outcomes: Queue[str],
) -> None:
    engine = db.make_engine(database_url)
    try:
        w3 = chain_client.connect(rpc_url)
        deployment = deploy.Deployment.model_validate_json(deployment_json)
        withdrawal = DatasetWithdrawal.model_validate_json(withdrawal_json)
        with Session(engine) as session:  # connect before the start, as a serving API has
            session.execute(text("SELECT 1"))
        w3.eth.get_block("latest")
        barrier.wait(timeout=120)
        with Session(engine) as session:
            accept_withdrawal(
                session,
                w3,
                SlowNode(rpc_url),
                deployment,
                withdrawal=withdrawal,
                signature=signature,
            )
        outcomes.put("queued")
    except WithdrawalAlreadyHeld:
        outcomes.put("held")
    except BaseException as exc:
        outcomes.put(f"error: {exc!r}")
        raise
    finally:
        engine.dispose()
