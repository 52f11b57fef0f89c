"""ProviderRewards on chain: its parameters, its epochs, and posting a statement's root.

Posting is idempotent and crash-safe: a run has at most one epoch (the contract refuses a
second ``postRoot`` for a run id), so :func:`post_root` first asks ``epochOfRun`` and, when
the run is already posted, reads the epoch back and checks it holds our root and statement
hash instead of sending again. A post that would revert is refused before it is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception

from core.types import hash32_of
from governance.chain.contracts import bind
from governance.chain.node import Sender, call_data
from governance.chain.reverts import decode_revert
from governance.errors import (
    RewardPostConflict,
    RewardPostRefused,
    RewardRunNotApproved,
    UnknownEpoch,
)
from governance.rewards._split import SplitRule
from governance.rewards._statement import EpochState, RewardStatement


@dataclass(frozen=True)
class RewardParams:
    """The voted parameters a statement is built under."""

    split_rule: SplitRule
    reward_per_epoch: int
    challenge_window: int
    available: int


def _b32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def read_params(w3: Web3, rewards: str) -> RewardParams:
    """The contract's split rule, reward per epoch, challenge window and unreserved funds."""
    f = bind(w3, "ProviderRewards", rewards).functions
    return RewardParams(
        split_rule=SplitRule.from_chain(int(f.splitRule().call())),
        reward_per_epoch=int(f.rewardPerEpoch().call()),
        challenge_window=int(f.challengeWindow().call()),
        available=int(f.available().call()),
    )


def read_epoch(w3: Web3, rewards: str, number: int) -> EpochState:
    """Epoch ``number``; :class:`~governance.errors.UnknownEpoch` when it was never posted."""
    f = bind(w3, "ProviderRewards", rewards).functions
    if not 0 < number <= int(f.epochCount().call()):
        raise UnknownEpoch(str(number))
    root, statement, run, total, claimed, posted, ends, cancelled = f.epoch(number).call()
    return EpochState(
        number=number,
        root=hash32_of(root),
        statement_hash=hash32_of(statement),
        run_id=hash32_of(run),
        total=int(total),
        claimed=int(claimed),
        posted_at=int(posted),
        challenge_ends=int(ends),
        cancelled=bool(cancelled),
    )


def epoch_of_run(w3: Web3, rewards: str, run_id: str) -> int:
    """The epoch posted for ``run_id``; 0 when none was."""
    return int(bind(w3, "ProviderRewards", rewards).functions.epochOfRun(_b32(run_id)).call())


def has_claimed(w3: Web3, rewards: str, number: int, account: str) -> bool:
    """Whether ``account`` claimed epoch ``number``."""
    f = bind(w3, "ProviderRewards", rewards).functions
    return bool(f.claimed(number, Web3.to_checksum_address(account)).call())


@dataclass(frozen=True)
class Posted:
    """A statement's root on chain: its epoch and, when this call sent it, the transaction."""

    epoch: EpochState
    tx_hash: str | None


def _check_same(epoch: EpochState, statement: RewardStatement) -> None:
    run_id = statement.context.run_id
    for field, ours in (("root", statement.root), ("statement_hash", statement.hash)):
        if getattr(epoch, field) != ours.lower():
            raise RewardPostConflict(run_id, field, getattr(epoch, field), ours)


def post_root(w3: Web3, rewards: str, poster_key: str, statement: RewardStatement) -> Posted:
    """Post ``statement``'s root, hash and total for its run, once, and wait until mined.

    Raises
    ------
    RewardRunNotApproved
        The AuditRegistry holds no passing audit for the run; nothing was sent.
    RewardPostRefused
        The post would revert (no POSTER_ROLE, not enough funds, above the reward per
        epoch); nothing was sent.
    RewardPostConflict
        The run was posted with another root or statement hash.
    """
    run_id = statement.context.run_id
    existing = epoch_of_run(w3, rewards, run_id)
    if existing:
        epoch = read_epoch(w3, rewards, existing)
        _check_same(epoch, statement)
        return Posted(epoch, None)
    sender = Sender.from_key(w3, poster_key)
    contract = bind(w3, "ProviderRewards", rewards)
    args = [_b32(run_id), _b32(statement.root), _b32(statement.hash), statement.total]
    tx = call_data(contract, "postRoot", args)
    try:
        gas = w3.eth.estimate_gas({**tx, "from": sender.address})
    except ContractLogicError as exc:
        if epoch_of_run(w3, rewards, run_id):  # another poster was a moment faster
            return post_root(w3, rewards, poster_key, statement)
        data = exc.data if isinstance(exc.data, (str, bytes)) else None
        revert = decode_revert(data) if data else None
        if revert is not None and revert.name == "RewardsRunNotApproved":
            raise RewardRunNotApproved(run_id) from None
        reason = revert.message() if revert is not None else str(exc.message or exc)
        raise RewardPostRefused(run_id, reason) from None
    except Web3Exception as exc:
        raise RewardPostRefused(run_id, str(exc)) from None
    receipt = sender.transact("post reward root", {**tx, "gas": gas + gas // 4})
    epoch = read_epoch(w3, rewards, epoch_of_run(w3, rewards, run_id))
    _check_same(epoch, statement)
    return Posted(epoch, hash32_of(receipt["transactionHash"]))
