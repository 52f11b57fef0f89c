"""Review #18: ``fairgov datasets register --salts S --reference ...`` with a group that is
refused still overwrites the salts file S.

:func:`audit.manifest.build_manifest` writes fresh salts before the manifest (and its
``reference_group``) is validated, and the CLI checks that the group occurs only after
that. A provider who re-registers with a typo in ``--reference`` gets a one-line error, as
if nothing happened, but the salts of the manifest they already offered (whose records root
is on chain) are gone: no record of that dataset can be proved or removed any more.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.synthetic import write_loans_csv
from tests.integration.cli.test_datasets_command import _register


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    return write_loans_csv(tmp_path / "loans.csv", 200)


@pytest.mark.parametrize("reference", ["group=Z", "sex=male"])
def test_a_refused_privileged_group_leaves_the_salts_file_alone(data: Path, reference: str) -> None:
    salts = data.parent / "loans.salts"
    code, output = _register(data, "--salts", str(salts))
    assert code == 0, output
    kept = salts.read_bytes()

    code, output = _register(data, "--salts", str(salts), "--reference", reference)
    assert code != 0
    assert len(output.strip().splitlines()) == 1  # the one-line refusal
    assert salts.read_bytes() == kept, "the refused register rewrote the provider's salts"
