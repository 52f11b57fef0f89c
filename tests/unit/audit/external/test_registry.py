"""Registered ONNX files are stored by hash, atomically, once per name and bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select
from web3 import Web3

from audit.db_models import ExternalModelRecord
from audit.env import AuditEnv
from audit.errors import (
    CustomOperatorDomain,
    InputFileNotFound,
    InvalidModelSpec,
    ModelFileMissing,
    ModelHashMismatch,
    ModelNotRegistered,
    OnnxModelTooLarge,
    UnreadableFile,
)
from audit.external import (
    MAX_ONNX_BYTES,
    read_model_bytes,
    read_onnx_file,
    register_onnx,
    registered_model,
)
from core.canonical import sha256_hex
from core.db import session_scope
from governance.chain.deploy import Deployment
from tests.unit.audit.external import onnx_models as models


@pytest.fixture
def env(engine: Engine, tmp_path: Path) -> AuditEnv:
    deployment = Deployment.__new__(Deployment)  # registering needs no chain
    return AuditEnv(engine=engine, w3=Web3(), deployment=deployment, data_dir=tmp_path)


def _rows(engine: Engine) -> list[ExternalModelRecord]:
    with session_scope(engine) as session:
        return list(session.exec(select(ExternalModelRecord)).all())


def test_a_model_is_stored_under_its_hash_and_recorded_once(env: AuditEnv) -> None:
    data = models.torch_like_mlp().data
    first = register_onnx(env, name="mlp", data=data)
    assert first.model_hash == sha256_hex(data)
    assert first.path == env.data_dir / "external" / "mlp" / f"{first.model_hash[2:]}.onnx"
    assert first.path.read_bytes() == data
    assert first.producer == "pytorch 2.5.0"
    again = register_onnx(env, name="mlp", data=data)
    assert again == first
    assert len(_rows(env.engine)) == 1
    with session_scope(env.engine) as session:
        assert (
            registered_model(session, "mlp", first.model_hash.upper().replace("0X", "0x")) == first
        )
    assert [p.name for p in first.path.parent.iterdir()] == [first.path.name]  # no temp files


def test_an_unregistered_hash_says_how_to_register(env: AuditEnv) -> None:
    with session_scope(env.engine) as session, pytest.raises(ModelNotRegistered) as caught:
        registered_model(session, "mlp", "0x" + "ab" * 32)
    assert caught.value.code == "model_not_registered"
    assert "register it with fairgov models register FILE.onnx --name mlp" in caught.value.message


def test_a_refused_file_leaves_nothing_behind(env: AuditEnv) -> None:
    with pytest.raises(CustomOperatorDomain):
        register_onnx(env, name="secret", data=models.custom_domain())
    assert _rows(env.engine) == []
    assert not (env.data_dir / "external").exists()


def test_a_name_that_cannot_be_a_directory_is_refused(env: AuditEnv) -> None:
    with pytest.raises(InvalidModelSpec):
        register_onnx(env, name="../escape", data=models.torch_like_mlp().data)


def test_a_stored_file_changed_on_disk_is_refused_before_scoring(env: AuditEnv) -> None:
    model = register_onnx(env, name="mlp", data=models.torch_like_mlp().data)
    model.path.write_bytes(models.torch_like_mlp(seed=1).data)
    with pytest.raises(ModelHashMismatch):
        read_model_bytes(model)


def test_registering_the_same_bytes_again_repairs_a_swapped_file(env: AuditEnv) -> None:
    """Review of #17 (hole 13): the same bytes again returned the old registration without
    looking at the stored file, so a file swapped on disk stayed unusable."""
    data = models.torch_like_mlp().data
    model = register_onnx(env, name="mlp", data=data)
    model.path.write_bytes(models.torch_like_mlp(seed=1).data)  # swapped on disk
    with pytest.raises(ModelHashMismatch):
        read_model_bytes(model)
    again = register_onnx(env, name="mlp", data=data)
    assert again == model
    assert read_model_bytes(again) == data
    assert len(_rows(env.engine)) == 1


#: How an external model's missing or altered file is repaired (docs/external_models.md).
REGISTER_AGAIN = "register the original ONNX file again with `fairgov models register FILE.onnx"


def test_a_missing_or_altered_stored_file_says_to_register_it_again(env: AuditEnv) -> None:
    """Outside review: the errors said what broke, not how to repair it."""
    model = register_onnx(env, name="mlp", data=models.torch_like_mlp().data)
    model.path.write_bytes(models.torch_like_mlp(seed=1).data)
    with pytest.raises(ModelHashMismatch) as altered:
        read_model_bytes(model)
    model.path.unlink()
    with pytest.raises(ModelFileMissing) as missing:
        read_model_bytes(model)
    for error in (altered.value, missing.value):
        assert REGISTER_AGAIN in error.message
        assert error.message.endswith("--name mlp`, which writes it back")


def _never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("the file was read")

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)


def test_a_file_over_the_limit_is_refused_by_its_size_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside review: a 257 MiB file was read whole (869 MB, 14 s) before its refusal."""
    big = tmp_path / "big.onnx"
    with big.open("wb") as file:
        file.truncate(MAX_ONNX_BYTES + 1)  # sparse: nothing is written
    _never_read(monkeypatch)
    with pytest.raises(OnnxModelTooLarge) as caught:
        read_onnx_file(big, name="big")
    assert caught.value.details["size"] == MAX_ONNX_BYTES + 1


def test_a_file_that_grew_past_its_registered_size_is_hashed_never_read_whole(
    env: AuditEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = register_onnx(env, name="mlp", data=models.torch_like_mlp().data)
    with model.path.open("r+b") as file:
        file.truncate(MAX_ONNX_BYTES + 1)
    monkeypatch.setattr(Path, "read_bytes", lambda _: pytest.fail("read whole"))
    with pytest.raises(ModelHashMismatch, match=re.escape(REGISTER_AGAIN)):
        read_model_bytes(model)


def test_a_file_to_register_that_is_absent_or_a_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(InputFileNotFound) as absent:
        read_onnx_file(tmp_path / "nope.onnx", name="nope")
    assert absent.value.message == f"no such file: {tmp_path / 'nope.onnx'}: check the path"
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(UnreadableFile, match=r"\(it is a folder\): name the .onnx file"):
        read_onnx_file(tmp_path / "dir.onnx", name="dir")


def test_a_file_within_the_limit_is_read_as_it_is(tmp_path: Path) -> None:
    data = models.torch_like_mlp().data
    (tmp_path / "m.onnx").write_bytes(data)
    assert read_onnx_file(tmp_path / "m.onnx", name="m") == data
    with pytest.raises(OnnxModelTooLarge):
        read_onnx_file(tmp_path / "m.onnx", name="m", max_bytes=len(data) - 1)
