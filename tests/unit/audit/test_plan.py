"""Run ids: the canonical hash of a run's inputs."""

from __future__ import annotations

import json

from audit.plan import combined, compute_run_id
from audit.spec import ModelSpec
from core.canonical import canonical_hash

CONTENT, SNAPSHOT, MODEL = "0x" + "12" * 32, "0x" + "34" * 32, "0x" + "56" * 32


def test_ascii_specs_keep_the_run_ids_they_had() -> None:
    # Recorded on main before the move to core.canonical (ensure_ascii=True encoding).
    spec = ModelSpec(name="loans-lr", dataset="loans")
    assert compute_run_id(spec, CONTENT, SNAPSHOT) == (
        "0xf0d746062ea49a55e695bfc861e38cca322806b4b2efd40179117f45d90daeeb"
    )
    assert compute_run_id(spec, CONTENT, SNAPSHOT, model_hash=MODEL) == (
        "0x18d6bafe9e70addf0f8daca599b81d638f8483de7c5b8410ef37201576fcd7d6"
    )


def test_a_run_id_is_the_canonical_hash_of_its_inputs() -> None:
    spec = ModelSpec(name="modèle", dataset="prêts", seed=4)
    inputs = {
        "dataset_content_hash": CONTENT,
        "policy_snapshot_hash": SNAPSHOT,
        "seed": 4,
        "spec": json.loads(spec.canonical_json()),
    }
    assert compute_run_id(spec, CONTENT, SNAPSHOT) == canonical_hash(inputs)
    assert compute_run_id(spec, CONTENT, SNAPSHOT, model_hash=MODEL) == canonical_hash(
        inputs | {"reaudit_model_hash": MODEL}
    )


def test_several_datasets_enter_the_run_id_in_order() -> None:
    spec = ModelSpec(name="loans-lr", datasets=("a", "b"))
    other = "0x" + "78" * 32
    inputs = {
        "dataset_content_hashes": [CONTENT, other],
        "policy_snapshot_hash": SNAPSHOT,
        "seed": 0,
        "spec": json.loads(spec.canonical_json()),
    }
    assert compute_run_id(spec, (CONTENT, other), SNAPSHOT) == canonical_hash(inputs)
    assert compute_run_id(spec, (other, CONTENT), SNAPSHOT) != canonical_hash(inputs)
    # One hash in a tuple is the single-dataset run id, byte for byte.
    single = ModelSpec(name="loans-lr", dataset="loans")
    assert compute_run_id(single, (CONTENT,), SNAPSHOT) == compute_run_id(single, CONTENT, SNAPSHOT)


def test_a_retraining_run_id_covers_the_run_it_replaces() -> None:
    spec = ModelSpec(name="loans-lr", dataset="loans")
    plain = compute_run_id(spec, CONTENT, SNAPSHOT)
    replaced = "0x" + "9a" * 32
    assert compute_run_id(spec, CONTENT, SNAPSHOT, replaces=replaced) == canonical_hash(
        {
            "dataset_content_hash": CONTENT,
            "policy_snapshot_hash": SNAPSHOT,
            "seed": 0,
            "spec": json.loads(spec.canonical_json()),
            "retrains_run_id": replaced,
        }
    )
    assert compute_run_id(spec, CONTENT, SNAPSHOT, replaces=replaced) != plain


def test_combined_is_the_value_itself_for_one_and_a_hash_of_the_list_for_several() -> None:
    assert combined((CONTENT,)) == CONTENT
    assert combined((CONTENT, SNAPSHOT)) == canonical_hash([CONTENT, SNAPSHOT])
