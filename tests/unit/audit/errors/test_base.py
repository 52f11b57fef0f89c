"""The audit errors' messages say what broke and what to do, in the words of what broke."""

from __future__ import annotations

import pytest

from audit.errors import DatasetHashMismatch, ModelFileMissing, ModelHashMismatch

_ALLOWED, _NOW = "0x" + "12" * 32, "0x" + "34" * 32


@pytest.mark.parametrize(
    ("several", "says", "never"),
    [
        (True, "the content hash 0x3434", "the file"),
        (False, "the file's sha256 0x3434", "folder"),
        (None, "for a folder or glob, the hash of its file list", "the file's sha256 0x"),
    ],
)
def test_a_changed_dataset_is_described_as_a_file_or_a_folder(
    several: bool | None, says: str, never: str
) -> None:
    """Outside review: a folder dataset's refusal spoke of "the file's sha256"."""
    message = DatasetHashMismatch("loans", _ALLOWED, _NOW, several=several).message
    assert says in message
    assert never not in message
    assert message.endswith(
        "since the vote: restore the data as voted, or register the new data and offer it "
        "for a vote"
    )


def test_a_trained_models_file_is_restored_not_registered() -> None:
    for error in (
        ModelFileMissing("/m.skops"),
        ModelHashMismatch("/m.skops", _ALLOWED, _NOW),
    ):
        assert error.message.endswith(
            "the operator must restore the original file from a backup, or train the model again"
        )
        assert "fairgov models register" not in error.message
