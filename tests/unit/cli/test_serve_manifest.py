"""``fairgov provider serve`` finds the voted manifest where ``fairgov datasets register``
stored it, so a provider's node sends it without an option (session 26)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.manifest import DatasetManifest
from cli.datasets import _save_manifest_file
from cli.provider import _stored_manifest
from tests.unit.audit.test_manifest import PINNED_JSON


def test_the_manifest_register_stored_is_found_by_its_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    plain = DatasetManifest.from_json(PINNED_JSON)
    counted = DatasetManifest.model_validate(
        json.loads(PINNED_JSON) | {"records_root": "0x" + "ab" * 32, "records": 3}
    )
    assert _stored_manifest(counted.hash) is None
    _save_manifest_file(tmp_path, plain)
    stored = _save_manifest_file(tmp_path, counted)
    assert _stored_manifest(counted.hash) == stored
    assert _stored_manifest(counted.hash.upper().replace("0X", "0x")) == stored
    assert DatasetManifest.from_json(stored.read_bytes()) == counted
    assert _stored_manifest("0x" + "00" * 32) is None
