"""The external audit spec: strict fields, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import InvalidModelSpec
from audit.external import ExternalAuditSpec, load_external_spec, parse_external_spec

HASH = "0x" + "AB" * 32


def test_defaults_score_every_row_and_use_the_model_s_labels(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(f"name: loans-xgb\nmodel_hash: '{HASH}'\ndataset: loans\n")
    spec = load_external_spec(path)
    assert (spec.test_size, spec.cutoff, spec.output, spec.inputs) == (None, None, None, None)
    assert b'"model_hash":"0x' + b"ab" * 32 + b'"' in spec.canonical_json()


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [("cutoff", 1.5, "cutoff"), ("output", "odds", "output"), ("estimator", "lr", "estimator")],
)
def test_bad_fields_are_one_line_spec_errors(field: str, value: object, where: str) -> None:
    data = {"name": "m", "model_hash": HASH, "dataset": "loans", field: value}
    with pytest.raises(InvalidModelSpec) as caught:
        parse_external_spec(data)
    assert f"{where}: " in caught.value.message
    assert "\n" not in caught.value.message


def test_the_spec_is_frozen() -> None:
    spec = ExternalAuditSpec(name="m", model_hash=HASH, dataset="loans")
    with pytest.raises(ValueError, match="frozen"):
        spec.cutoff = 0.3  # type: ignore[misc]
