"""How a node reads its file: labels and groups as the central pipeline reads them, and a
coded refusal (never a crash) for a file the run cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from audit.errors import MissingColumn, MissingValues, UnreadableFile
from audit.federated.node import NodeData, TooFewRowsPerClass, read_rows, split_rows
from audit.federated.protocol import Schema
from audit.synthetic import make_loans
from audit.training import MISSING_GROUP
from bias_checks import GroupCounts, group_counts
from governance.policy.models import DatasetEntry

LOANS = Schema(
    label="approved",
    positive_label="1",
    inputs=("income", "debt_ratio", "credit_years"),
    sensitive=("group",),
)
ENTRY = DatasetEntry(
    dataset_id="0x" + "ab" * 32,
    content_hash="0x" + "cd" * 32,
    manifest_hash="0x" + "cd" * 32,
    records_root="0x" + "00" * 32,
    uri="file://loans.csv",
    licence="CC-BY-4.0",
    terms_hash="0x" + "00" * 32,
    provider="0x" + "11" * 20,
    consented_at=1,
    allowed=True,
)


def _rows(frame: pd.DataFrame, schema: Schema = LOANS) -> NodeData:
    """``frame`` written as a CSV file and read back as a node reads its file."""
    content = frame.to_csv(index=False).encode()
    return split_rows(ENTRY, read_rows(Path("node.csv"), content, schema), schema)


def _int_groups(seed: int) -> pd.DataFrame:
    frame = make_loans(400, seed=seed)
    frame["group"] = np.where(frame["group"] == "A", 1, 2)
    return frame


def _counts(data: NodeData) -> GroupCounts:
    y = data.y_test
    return group_counts(y, y, sensitive_features=data.a_test, classes=(0, 1), pos_label=1)


def test_an_int_and_a_float_group_column_give_the_same_groups() -> None:
    """A float column (pandas' type for a column with an empty cell) writes group 1 as
    "1.0": it is still group "1", on every node."""
    floats = _int_groups(4).astype({"group": float})
    floats.loc[0, "group"] = np.nan
    parts = [_counts(_rows(frame)) for frame in (_int_groups(3), floats)]
    keys = {key[0] for key in GroupCounts.combine(parts).keys}
    assert keys <= {"1", "2", MISSING_GROUP}
    assert {"1", "2"} <= keys


def test_a_group_written_as_text_is_kept_as_written() -> None:
    frame = make_loans(400, seed=3)
    frame["group"] = np.where(frame["group"] == "A", "007", "north east")
    data = _rows(frame)
    assert set(data.a_test["group"]) == {"7", "north east"}


def test_whole_number_float_labels_are_the_positive_label() -> None:
    frame = make_loans(400, seed=6)
    positives = int(frame["approved"].sum())
    data = _rows(frame.astype({"approved": float}))
    assert int(data.y_train.sum() + data.y_test.sum()) == positives


def test_a_missing_label_is_refused_not_read_as_negative() -> None:
    frame = make_loans(400, seed=6).astype({"approved": float})
    frame.loc[3, "approved"] = np.nan
    with pytest.raises(MissingValues, match="'approved' has 1 empty value") as caught:
        _rows(frame)
    assert caught.value.code == "missing_values"


def test_a_schema_naming_a_column_the_file_lacks_is_refused() -> None:
    schema = Schema(label="outcome", positive_label="1", inputs=LOANS.inputs, sensitive=("group",))
    with pytest.raises(MissingColumn, match="'outcome' \\(from the run's label\\)") as caught:
        _rows(make_loans(100, seed=1), schema)
    assert caught.value.code == "missing_column"


def test_a_missing_input_column_is_refused() -> None:
    frame = make_loans(100, seed=1).drop(columns=["income"])
    with pytest.raises(MissingColumn, match="'income' \\(from the run's model inputs\\)"):
        _rows(frame)


@pytest.mark.parametrize("positives", [0, 1])
def test_a_label_with_fewer_than_two_rows_is_refused(positives: int) -> None:
    frame = make_loans(50, seed=5)
    frame["approved"] = 0
    frame.loc[: positives - 1, "approved"] = 1
    with pytest.raises(TooFewRowsPerClass, match=f"only {positives} row\\(s\\) have label 1"):
        _rows(frame)


def test_two_rows_of_a_label_are_enough() -> None:
    frame = make_loans(50, seed=5)
    frame["approved"] = 0
    frame.loc[:1, "approved"] = 1
    data = _rows(frame)
    assert int(data.y_train.sum()) == 1
    assert int(data.y_test.sum()) == 1


def test_a_sensitive_column_the_model_reads_stays_numeric_for_the_model() -> None:
    """Groups are text; the same column as a model input keeps pandas' numeric type, as in
    the central pipeline (a scaled number, not a one-hot category)."""
    schema = Schema(
        label="approved",
        positive_label="1",
        inputs=(*LOANS.inputs, "group"),
        sensitive=("group",),
    )
    data = _rows(_int_groups(3), schema)
    assert pd.api.types.is_integer_dtype(data.x_train["group"])
    assert set(data.a_test["group"]) == {"1", "2"}


@pytest.mark.parametrize(("suffix", "sep"), [(".csv", ","), (".tsv", "\t")])
def test_a_header_naming_a_column_twice_is_refused(suffix: str, sep: str) -> None:
    """pandas renamed the copy "income.1", so a node trained on a column its manifest's
    records never held (the central pipeline refuses the file; outside review, session 27)."""
    frame = make_loans(60, seed=3)
    content = frame.to_csv(index=False, sep=sep).encode()
    header, rest = content.split(b"\n", 1)
    doubled = header + sep.encode() + b"income\n" + rest.replace(b"\n", sep.encode() + b"1\n")
    with pytest.raises(UnreadableFile, match="column 'income' appears more than once"):
        read_rows(Path("node" + suffix), doubled, LOANS)
