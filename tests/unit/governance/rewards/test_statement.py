"""The reward statement: canonical, recomputable, and refused when it is not the anchored one."""

import json

import pytest

from core.canonical import canonical_json
from governance.errors import (
    NoContributions,
    StatementDoesNotRecompute,
    StatementHashMismatch,
    StatementNotTheEpochs,
)
from governance.rewards import (
    Contribution,
    EpochContext,
    EpochState,
    LeaveOneOut,
    ProviderUtility,
    RewardStatement,
    SplitRule,
    UtilityDefinition,
    build_statement,
    parse_statement,
    recompute,
    reward_root,
    verify_statement,
)

A, B, C = ("0x" + c * 40 for c in "abc")
TOKEN = 10**18
CONTEXT = EpochContext(
    chain_id=31337,
    rewards_contract="0x" + "12" * 20,
    run_id="0x" + "aa" * 32,
    model_name="loans-lr",
    model_hash="0x" + "bb" * 32,
    report_hash="0x" + "cc" * 32,
    policy_version=4,
    policy_snapshot_hash="0x" + "dd" * 32,
)
CONTRIBUTIONS = [
    Contribution(dataset_id="0x" + "01" * 32, provider=A, rows=600),
    Contribution(dataset_id="0x" + "02" * 32, provider=B, rows=300),
    Contribution(dataset_id="0x" + "03" * 32, provider=A, rows=100),
]
LOO = LeaveOneOut(
    definition=UtilityDefinition(
        fairness_metric="demographic_parity_difference",
        lam=1.0,
        evaluation="the run's held-out test split",
        seed=0,
    ),
    utility_all=0.75,
    without=(
        ProviderUtility(provider=A, utility_without=0.5),
        ProviderUtility(provider=B, utility_without=0.625),
    ),
)


def rows_statement() -> RewardStatement:
    return build_statement(
        CONTEXT, split_rule=SplitRule.ROWS, reward=1000 * TOKEN, contributions=CONTRIBUTIONS
    )


def test_a_rows_statement_splits_by_rows_per_provider():
    statement = rows_statement()
    assert [(a.provider.lower(), a.amount) for a in statement.allocations] == [
        (A, 700 * TOKEN),
        (B, 300 * TOKEN),
    ]
    assert statement.total == 1000 * TOKEN
    assert statement.root == reward_root(statement.pairs())


def test_a_leave_one_out_statement_splits_by_value():
    statement = build_statement(
        CONTEXT,
        split_rule=SplitRule.LEAVE_ONE_OUT,
        reward=3 * TOKEN,
        contributions=CONTRIBUTIONS,
        leave_one_out=LOO,
    )
    # values: A 0.25, B 0.125 → 2:1
    assert [a.amount for a in statement.allocations] == [2 * TOKEN, TOKEN]


def test_the_statement_is_canonical_json_with_amounts_as_decimal_strings():
    statement = rows_statement()
    data = statement.canonical_json()
    assert data == canonical_json(json.loads(data))
    document = json.loads(data)
    assert document["reward"] == str(1000 * TOKEN)
    assert document["allocations"][0]["amount"] == str(700 * TOKEN)
    assert parse_statement(data) == statement
    assert parse_statement(data).hash == statement.hash


def test_the_same_inputs_give_the_same_bytes():
    assert rows_statement().canonical_json() == rows_statement().canonical_json()
    assert recompute(rows_statement()) == rows_statement()


def _epoch(statement: RewardStatement, **on_chain: object) -> EpochState:
    """Epoch 1 as the chain would hold it had ``statement`` been posted, but for ``on_chain``."""
    fields: dict[str, object] = {
        "number": 1,
        "root": statement.root,
        "statement_hash": statement.hash,
        "run_id": statement.context.run_id,
        "total": statement.total,
        "claimed": 0,
        "posted_at": 1,
        "challenge_ends": 2,
        "cancelled": False,
    }
    return EpochState(**{**fields, **on_chain})  # type: ignore[arg-type]


def _verify(statement: RewardStatement, epoch: EpochState, **where: object) -> None:
    place = {"chain_id": CONTEXT.chain_id, "rewards": CONTEXT.rewards_contract} | where
    verify_statement(statement, epoch, **place)  # type: ignore[arg-type]


def test_verification_refuses_a_statement_that_is_not_the_anchored_one():
    statement = rows_statement()
    _verify(statement, _epoch(statement))
    with pytest.raises(StatementHashMismatch) as info:
        _verify(statement, _epoch(statement, statement_hash="0x" + "00" * 32))
    assert info.value.code == "statement_hash_mismatch"


@pytest.mark.parametrize(
    ("field", "on_chain", "where"),
    [
        ("root", {"root": "0x" + "0d" * 32}, {}),
        ("audit run", {"run_id": "0x" + "10" * 32}, {}),
        ("total", {"total": 1000 * TOKEN + 1}, {}),
        ("chain id", {}, {"chain_id": 1}),
        ("rewards contract", {}, {"rewards": "0x" + "34" * 20}),
    ],
)
def test_verification_refuses_an_epoch_that_pays_by_another_root(
    field: str, on_chain: dict[str, object], where: dict[str, object]
):
    """Review (session 23): a poster anchored an honest statement's hash beside a root
    paying someone else, and ``fairgov rewards verify`` said "verified" while it paid out."""
    statement = rows_statement()
    with pytest.raises(StatementNotTheEpochs) as info:
        _verify(statement, _epoch(statement, **on_chain), **where)
    assert info.value.code == "statement_epoch_mismatch"
    assert info.value.details["field"] == field


def test_verification_refuses_amounts_that_do_not_recompute():
    statement = rows_statement()
    first, second = statement.allocations
    tampered = statement.model_copy(
        update={
            "allocations": (
                first.model_copy(update={"amount": first.amount + 1}),
                second.model_copy(update={"amount": second.amount - 1}),
            )
        }
    )
    with pytest.raises(StatementDoesNotRecompute) as info:
        _verify(tampered, _epoch(tampered, total=statement.total))
    assert info.value.code == "statement_not_recomputable"
    assert info.value.details["field"] == "allocations"


def test_verification_refuses_a_root_that_does_not_recompute():
    statement = rows_statement()
    tampered = statement.model_copy(update={"root": "0x" + "ee" * 32})
    with pytest.raises(StatementDoesNotRecompute) as info:
        _verify(tampered, _epoch(tampered))
    assert info.value.details["field"] == "root"


def test_nothing_to_split_is_refused():
    with pytest.raises(NoContributions):
        build_statement(
            CONTEXT,
            split_rule=SplitRule.ROWS,
            reward=TOKEN,
            contributions=[Contribution(dataset_id="0x" + "01" * 32, provider=A, rows=0)],
        )
