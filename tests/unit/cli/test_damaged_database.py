"""A database file SQLite cannot read is one line, not a traceback (chaos review, session 24:
a truncated ``fairgov.db`` made every command print 141 lines)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    "content", [b"not a database at all" * 100, b"SQLite format 3\x00" + b"\x01" * 5000]
)
def test_a_damaged_database_is_one_line(tmp_path: Path, content: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "fairgov.db").write_bytes(content)

    result = runner.invoke(app, ["jobs"], env={"FAIRGOV_DATA_DIR": str(data), "COLUMNS": "300"})

    assert result.exit_code == 2, result.output
    assert "the database cannot be read" in result.output
    assert "[database_damaged]" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
