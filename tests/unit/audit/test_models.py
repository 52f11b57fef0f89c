from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression

from audit.errors import ModelFileMissing, ModelHashMismatch, UntrustedModelType
from audit.models import load_model, save_model


def _model() -> dict[str, object]:
    return {"pipeline": LogisticRegression().fit(np.eye(4), [0, 1, 0, 1]), "w": np.arange(3.0)}


def test_round_trip_and_equal_models_have_equal_hashes(tmp_path: Path) -> None:
    path, model_hash = save_model(_model(), tmp_path / "a")
    _, again = save_model(_model(), tmp_path / "b")
    assert model_hash == again
    assert path.name == model_hash[2:] + ".skops"
    loaded = load_model(path, expected_hash=model_hash)
    assert list(loaded["pipeline"].predict(np.eye(4))) == [0, 1, 0, 1]


def test_a_modified_file_is_refused_before_loading(tmp_path: Path) -> None:
    path, model_hash = save_model(_model(), tmp_path)
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ModelHashMismatch):
        load_model(path, expected_hash=model_hash)
    with pytest.raises(ModelFileMissing):
        load_model(tmp_path / "none.skops", expected_hash=model_hash)


def test_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    sio.dump({"x": Fraction(1, 3)}, path)
    from core.canonical import file_sha256

    with pytest.raises(UntrustedModelType) as caught:
        load_model(path, expected_hash=file_sha256(path))
    assert caught.value.details["types"] == ["fractions.Fraction"]
