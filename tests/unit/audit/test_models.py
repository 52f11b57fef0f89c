from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression

from audit.errors import (
    ModelFileMissing,
    ModelHashMismatch,
    ModelTypesNotAllowed,
    UntrustedModelType,
)
from audit.models import check_model_types, load_model, save_model


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


def _forest() -> dict[str, object]:
    from sklearn.ensemble import RandomForestClassifier

    x = np.random.default_rng(0).random((40, 3))
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(x, x[:, 0] > 0.5)
    return {"pipeline": forest}


def test_a_model_of_an_allowed_module_loads_only_with_its_types_trusted(tmp_path: Path) -> None:
    path, model_hash = save_model(_forest(), tmp_path)
    with pytest.raises(ModelTypesNotAllowed) as caught:
        check_model_types(path, trusted_modules=["sklearn.ensemble"])
    assert caught.value.details["modules"] == ["sklearn.tree"]
    assert "FAIRGOV_ESTIMATOR_MODULES" in str(caught.value)
    with pytest.raises(UntrustedModelType):
        load_model(path, expected_hash=model_hash, trusted_modules=["sklearn.ensemble"])
    trusted = ["sklearn.ensemble", "sklearn.tree"]
    check_model_types(path, trusted_modules=trusted)
    loaded = load_model(path, expected_hash=model_hash, trusted_modules=trusted)
    x = np.random.default_rng(1).random((5, 3))
    assert (loaded["pipeline"].predict_proba(x) == _forest()["pipeline"].predict_proba(x)).all()  # type: ignore[attr-defined]


def test_trusted_modules_do_not_trust_other_types(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    sio.dump({"x": Fraction(1, 3)}, path)
    from core.canonical import file_sha256

    with pytest.raises(UntrustedModelType):
        load_model(path, expected_hash=file_sha256(path), trusted_modules=["fraction", "sklearn"])
