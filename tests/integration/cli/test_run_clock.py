"""What keeps the embedded chain's clock moving: a proposal that waits for blocks, or a reward
epoch in its challenge window (an idle development chain mines nothing, so chain time would
never pass the window's end and nobody could claim)."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from audit.rewards.db_models import RewardStatementRecord, StatementStatus, open_windows
from cli.run import _waiting_for_blocks
from core.db import session_scope


def _statement(
    epoch: int, status: StatementStatus, challenge_ends: int | None
) -> RewardStatementRecord:
    return RewardStatementRecord(
        rewards_contract="0x" + "11" * 20,
        run_id="0x" + f"{epoch:064x}",
        model_name="m",
        chain_id=31337,
        statement_hash="0x" + "22" * 32,
        root="0x" + "33" * 32,
        total="1000",
        statement_json="{}",
        status=status,
        epoch=epoch if status == StatementStatus.POSTED else None,
        challenge_ends=challenge_ends,
    )


def test_an_open_reward_window_keeps_the_clock_moving_until_it_ends(engine: Engine) -> None:
    waiting = _waiting_for_blocks(engine, lambda: True)
    now = int(time.time())
    assert not waiting()  # nothing waits: an idle chain mines nothing
    with session_scope(engine) as session:
        session.add(_statement(1, StatementStatus.POSTED, now - 600))  # long over
        session.add(_statement(2, StatementStatus.BUILT, None))  # not on chain yet
    assert not waiting()
    with session_scope(engine) as session:
        session.add(_statement(3, StatementStatus.POSTED, now + 60))
    assert waiting()
    with session_scope(engine) as session:
        assert open_windows(session, now + 59) == 1
        assert open_windows(session, now + 60) == 0


def test_the_clock_stands_while_nothing_relays_the_outbox(engine: Engine) -> None:
    """Chaos review (session 24): a standby took the chain over at once and mined a block a
    second for 35 s before its scheduler held the lease; the voting window closed on four
    ballots the API had accepted, which then failed ``proposal_not_active``. A restart's
    start-up did the same. The clock moves only while this process's scheduler relays."""
    relaying = [False]
    waiting = _waiting_for_blocks(engine, lambda: relaying[0])
    with session_scope(engine) as session:
        session.add(_statement(1, StatementStatus.POSTED, int(time.time()) + 60))
    assert not waiting()  # something waits for blocks, but no relayer runs yet
    relaying[0] = True
    assert waiting()
