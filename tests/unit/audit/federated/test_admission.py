"""The row counts a node may admit to: the spec's split of its rows, nothing it chooses.

Review of #16 (finding 1): a node multiplied ``heldout_rows`` in its signed admission by
1000 and sent equal-rate counts of that many rows; the pooled audit of an unfair model then
PASSed. Its admission is now refused before the run trains with it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from audit.federated.admission import check_rows, heldout_share, verify_admission
from audit.federated.errors import InvalidNodeReply
from audit.federated.protocol import Admission
from tests.unit.audit.federated.test_protocol import KEY, NONCE, SCHEMA, _admission, _snapshot


@pytest.mark.parametrize("test_size", [0.1, 0.2, 0.25, 0.3, 1 / 3, 0.5, 0.77])
def test_the_held_out_share_is_the_one_scikit_learns_split_takes(test_size: float) -> None:
    for rows in range(20, 400, 7):
        y = np.arange(rows) % 2
        _, held, _, _ = train_test_split(
            np.arange(rows), y, test_size=test_size, random_state=0, stratify=y
        )
        assert heldout_share(rows, test_size) == len(held), rows


def _resigned(admission: Admission, **changes: int) -> Admission:
    return replace(admission, **changes, signature="").sign(KEY)  # type: ignore[arg-type]


def test_an_honest_split_is_admitted() -> None:
    # 2 training rows and 1 held out: ceil(0.25 * 3) = 1.
    assert verify_admission(_admission(), _snapshot(), NONCE, SCHEMA).rows == 2


def test_a_signed_admission_inflating_its_held_out_rows_is_refused() -> None:
    inflated = _resigned(_admission(), heldout_rows=1000)
    with pytest.raises(InvalidNodeReply, match="do not follow the spec's split") as refused:
        verify_admission(inflated, _snapshot(), NONCE, SCHEMA)
    assert refused.value.code == "invalid_node_reply"
    assert "run the node unmodified on the registered file" in refused.value.message


@pytest.mark.parametrize(
    ("train_rows", "heldout_rows"),
    [(2, 0), (0, 1), (2, 2), (3000, 1)],
)
def test_row_counts_off_the_split_are_refused(train_rows: int, heldout_rows: int) -> None:
    admission = _resigned(_admission(), train_rows=train_rows, heldout_rows=heldout_rows)
    with pytest.raises(InvalidNodeReply):
        verify_admission(admission, _snapshot(), NONCE, SCHEMA)


def test_training_rows_the_column_summary_does_not_count_are_refused() -> None:
    # 2998 + 1000 rows follow the split, but the summary holds 2 rows: the claim that
    # weights the node's updates in FedAvg is not what it summarised.
    admission = _resigned(_admission(), train_rows=2998, heldout_rows=1000)
    with pytest.raises(InvalidNodeReply, match="the column summary counts 2 rows"):
        verify_admission(admission, _snapshot(), NONCE, SCHEMA)


def test_check_rows_takes_the_specs_test_size() -> None:
    admission = _admission()
    summary = verify_admission(admission, _snapshot(), NONCE, SCHEMA)
    with pytest.raises(InvalidNodeReply, match=r"test_size 0\.5"):
        check_rows(admission, summary, replace(SCHEMA, test_size=0.5))
