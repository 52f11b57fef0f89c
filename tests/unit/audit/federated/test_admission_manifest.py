"""The voted manifest in a node's admission bounds its row counts (session 26).

The split check left one lie open: a node multiplying both its training and held-out rows
(and its column summary) by the same factor followed the split and weighed that much more
in FedAvg and in the pooled audit. Its admission now carries the dataset's manifest, which
must be the voted one, and the rows must add up to the records it records. A manifest from
before ``records``, or none at all, leaves the rows unverified, and the outcome says so.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from audit.federated import learning
from audit.federated import node as node_side
from audit.federated.admission import counted_records, verify_admission, voted_records
from audit.federated.errors import InvalidNodeConfig, InvalidNodeReply, NodeNotProvider
from audit.federated.governed import participation
from audit.federated.node import NodeConfig, check_dataset, read_rows, split_rows
from audit.federated.outcome import FederatedOutcome, NodeOutcome
from audit.federated.protocol import Admission, RunPlan, Schema
from audit.manifest import DatasetManifest, build_manifest
from audit.synthetic import write_loans_csv
from bias_checks import group_counts
from governance.actions import dataset_id_of
from governance.policy.models import FederationPolicy, PolicySnapshot
from tests.unit.audit.federated.test_protocol import (
    KEY,
    NONCE,
    PROVIDER,
    SCHEMA,
    _admission,
    _snapshot,
)
from tests.unit.audit.test_manifest import PINNED_JSON

LOANS = Schema("approved", "1", ("income", "debt_ratio", "credit_years"), ("group",), 0.25, 3)


def _manifest(records: int | None, name: str = "loans") -> DatasetManifest:
    data = json.loads(PINNED_JSON) | {"name": name, "records_root": "0x" + "ab" * 32}
    return DatasetManifest.model_validate(data | ({} if records is None else {"records": records}))


def _voting(manifest: DatasetManifest, snapshot: PolicySnapshot | None = None) -> PolicySnapshot:
    """``snapshot`` (the unit tests' one by default) with its dataset allowed under
    ``manifest``."""
    snapshot = snapshot or _snapshot()
    entry = snapshot.datasets[0].model_copy(update={"manifest_hash": manifest.hash})
    return snapshot.model_copy(update={"datasets": (entry,)})


def _sent(manifest: DatasetManifest, **changes: str | int) -> Admission:
    """The unit tests' honest admission (2 training rows, 1 held out) with ``manifest``."""
    return _admission(manifest=manifest.canonical_json().decode(), **changes)


def _doubled(admission: Admission) -> Admission:
    """``admission`` from a modified node that doubles its rows and its column summary:
    the split and the summary still agree with its counts."""
    frame = pd.DataFrame({"income": [1.0, 2.0] * 2, "debt": [0.1, 0.2] * 2})
    return replace(
        admission,
        train_rows=2 * admission.train_rows,
        heldout_rows=2 * admission.heldout_rows,
        summary=learning.summarize(frame).to_json(),
        signature="",
    ).sign(KEY)


def test_an_honest_node_with_the_voted_manifest_is_admitted() -> None:
    manifest = _manifest(3)
    admission = _sent(manifest)
    assert verify_admission(admission, _voting(manifest), NONCE, SCHEMA).rows == 2
    assert voted_records(admission) == 3


def test_rows_scaled_by_two_are_refused_when_the_voted_manifest_counts_them() -> None:
    manifest = _manifest(3)
    doubled = _doubled(_sent(manifest))
    with pytest.raises(InvalidNodeReply) as refused:
        verify_admission(doubled, _voting(manifest), NONCE, SCHEMA)
    assert refused.value.code == "invalid_node_reply"
    assert refused.value.message == (
        "the node's reply was rejected: 4 training and 2 held-out rows make 6 rows, but the "
        "voted manifest records 3 rows; run the node unmodified on the registered file"
    )


def test_a_manifest_other_than_the_voted_one_is_refused() -> None:
    voted, other = _manifest(3), _manifest(3, name="other")
    with pytest.raises(InvalidNodeReply, match="not to the voted manifest hash") as refused:
        verify_admission(_sent(other), _voting(voted), NONCE, SCHEMA)
    assert f"hashes to {other.hash}" in refused.value.message
    assert voted.hash in refused.value.message
    # A manifest claiming more records than the voted one is another manifest too.
    with pytest.raises(InvalidNodeReply, match="not to the voted manifest hash"):
        verify_admission(_doubled(_sent(_manifest(6))), _voting(voted), NONCE, SCHEMA)


def test_the_signature_covers_the_manifest() -> None:
    manifest = _manifest(3)
    snapshot = _voting(manifest)
    swapped = replace(_sent(manifest), manifest=_manifest(6).canonical_json().decode())
    stripped = replace(_sent(manifest), manifest="")
    for forged in (swapped, stripped):
        with pytest.raises(NodeNotProvider):
            verify_admission(forged, snapshot, NONCE, SCHEMA)


def test_a_manifest_without_records_is_admitted_and_flagged() -> None:
    manifest = _manifest(None)
    admission = _sent(manifest)
    verify_admission(admission, _voting(manifest), NONCE, SCHEMA)
    assert voted_records(admission) is None
    # Its rows are the node's word: doubled, they pass too, and the outcome says so.
    doubled = _doubled(admission)
    verify_admission(doubled, _voting(manifest), NONCE, SCHEMA)
    node = _node(doubled)
    assert node.unverified_rows == (
        f"node 7 (dataset {doubled.dataset_id}): its 6 rows are unverified: its voted "
        "manifest records no row count (built before manifests carried `records`); register "
        "the file again with --salts and offer the new manifest for a vote"
    )


def test_a_node_that_sends_no_manifest_is_admitted_and_flagged() -> None:
    admission = _admission()
    assert admission.manifest == ""
    verify_admission(admission, _voting(_manifest(3)), NONCE, SCHEMA)
    assert voted_records(admission) is None
    message = _node(admission).unverified_rows
    assert message is not None
    assert "its 3 rows are unverified: the node sent no manifest" in message


def test_the_drivers_copy_of_the_voted_manifest_bounds_a_node_that_sends_none() -> None:
    """A governed run holds every voted manifest (it reads the privileged group from them),
    so it passes their record counts in the plan: a lying node gains nothing by sending
    no manifest."""
    snapshot = _voting(_manifest(3))
    honest, doubled = _admission(), _doubled(_admission())
    assert verify_admission(honest, snapshot, NONCE, SCHEMA, known=3).rows == 2
    with pytest.raises(InvalidNodeReply, match="the voted manifest records 3 rows"):
        verify_admission(doubled, snapshot, NONCE, SCHEMA, known=3)
    plan = replace(_plan(), voted_records=((honest.dataset_id, 3),))
    assert plan.records_of(honest.dataset_id.upper().replace("0X", "0x")) == 3
    assert counted_records(honest, plan) == 3
    assert _node(honest, plan).unverified_rows is None


def test_the_plans_record_counts_travel_in_the_run_config() -> None:
    plan = replace(_plan(), voted_records=(("0x" + "ab" * 32, 300), ("0x" + "cd" * 32, 41)))
    config = plan.to_run_config()
    assert json.loads(str(config["voted-records"])) == {"0x" + "ab" * 32: 300, "0x" + "cd" * 32: 41}
    assert RunPlan.from_run_config(config) == plan
    del config["voted-records"]  # a driver from before: nothing known
    assert RunPlan.from_run_config(config).voted_records == ()


def test_an_admission_record_carries_the_manifest_and_reads_one_without_it() -> None:
    admission = _sent(_manifest(3))
    assert Admission.from_record(admission.to_record()) == admission
    # A node from before manifests sends no such key, and signed no manifest.
    old = _admission().to_record()
    del old.config_records["admission"]["manifest"]
    read = Admission.from_record(old)
    assert read == _admission()
    assert read.signer() == PROVIDER


def _plan() -> RunPlan:
    return RunPlan(
        policy=FederationPolicy(),
        schema=SCHEMA,
        rpc_url="http://127.0.0.1:8545",
        policy_address="0x" + "11" * 20,
        dataset_ids=(_admission().dataset_id,),
    )


def _node(admission: Admission, plan: RunPlan | None = None) -> NodeOutcome:
    counts = group_counts([1, 0], [1, 0], sensitive_features=["a", "b"], pos_label=1)
    return NodeOutcome(
        node_id=7,
        provider=admission.provider,
        dataset_id=admission.dataset_id,
        content_hash=admission.content_hash,
        train_rows=admission.train_rows,
        heldout_rows=admission.heldout_rows,
        bytes_sent=100,
        counts=counts,
        voted_records=counted_records(admission, plan or _plan()),
        manifest_sent=bool(admission.manifest),
    )


def _outcome(*nodes: NodeOutcome) -> FederatedOutcome:
    return FederatedOutcome((), {}, nodes, (), (), FederationPolicy(), "127.0.0.1:1")


def test_the_outcome_keeps_the_checked_record_count() -> None:
    verified = _node(_sent(_manifest(3)))
    assert (verified.voted_records, verified.manifest_sent) == (3, True)
    assert verified.unverified_rows is None
    back = FederatedOutcome.from_json(_outcome(verified).to_json())
    assert [n.to_dict() for n in back.nodes] == [verified.to_dict()]
    assert back.nodes[0].voted_records == 3
    older = json.loads(_outcome(verified).to_json())
    for key in ("voted_records", "manifest_sent"):
        del older["nodes"][0][key]
    (unknown,) = FederatedOutcome.from_json(json.dumps(older)).nodes
    assert (unknown.voted_records, unknown.manifest_sent) == (None, False)


def test_the_run_id_covers_the_record_counts_rows_were_checked_against() -> None:
    silent = _outcome(_node(_admission()))
    assert "voted_records" not in participation(silent)  # as before manifests counted
    counted = participation(_outcome(_node(_sent(_manifest(3)))))
    uncounted = participation(_outcome(_node(_sent(_manifest(None)))))
    assert counted["voted_records"] == {_admission().dataset_id: 3}
    assert "voted_records" not in uncounted


@pytest.fixture
def provider_file(tmp_path: Path) -> tuple[Path, DatasetManifest, PolicySnapshot]:
    """A CSV file committed with salts, its manifest written where the node reads it, and a
    policy allowing it under that manifest with the unit tests' provider."""
    csv = write_loans_csv(tmp_path / "loans.csv", 200)
    manifest = build_manifest(
        csv,
        name="loans",
        label="approved",
        positive_label="1",
        sensitive_features=["group"],
        salts_path=tmp_path / "loans.salts",
    )
    (tmp_path / "loans.manifest.json").write_text(json.dumps(json.loads(manifest.canonical_json())))
    entry = (
        _snapshot()
        .datasets[0]
        .model_copy(update={"dataset_id": manifest.dataset_id, "content_hash": manifest.sha256})
    )
    snapshot = _voting(manifest, _snapshot().model_copy(update={"datasets": (entry,)}))
    return csv, manifest, snapshot


def _config(csv: Path, manifest: Path | None) -> NodeConfig:
    key = csv.parent / "provider.key"
    key.write_text(KEY)
    return NodeConfig(
        csv, dataset_id_of("loans"), key, "http://127.0.0.1:1", "0x" + "01" * 20, manifest=manifest
    )


def test_a_nodes_own_admission_passes_and_its_doubled_rows_do_not(
    provider_file: tuple[Path, DatasetManifest, PolicySnapshot],
) -> None:
    csv, manifest, snapshot = provider_file
    assert manifest.records == 200
    content = csv.read_bytes()
    entry = check_dataset(snapshot, manifest.dataset_id, content, PROVIDER)
    data = split_rows(entry, read_rows(csv, content, LOANS), LOANS)
    admission = node_side.admission(_config(csv, csv.with_suffix(".manifest.json")), data, NONCE)
    assert admission.manifest == manifest.canonical_json().decode()  # canonical, as voted
    verify_admission(admission, snapshot, NONCE, LOANS)
    rows = (admission.train_rows, admission.heldout_rows, voted_records(admission))
    assert rows == (150, 50, 200)
    doubled = replace(
        admission,
        train_rows=300,
        heldout_rows=100,
        summary=learning.summarize(pd.concat([data.x_train] * 2)).to_json(),
        signature="",
    ).sign(KEY)
    with pytest.raises(InvalidNodeReply, match="the voted manifest records 200 rows"):
        verify_admission(doubled, snapshot, NONCE, LOANS)


def test_a_node_refuses_to_send_a_manifest_that_is_not_the_voted_one(
    provider_file: tuple[Path, DatasetManifest, PolicySnapshot], tmp_path: Path
) -> None:
    csv, manifest, snapshot = provider_file
    entry = snapshot.datasets[0]
    assert node_side.voted_manifest(None, entry) == ""
    other = tmp_path / "other.json"
    other.write_bytes(manifest.model_copy(update={"version": "2"}).canonical_json())
    with pytest.raises(InvalidNodeConfig, match="was allowed with manifest") as refused:
        node_side.voted_manifest(other, entry)
    assert refused.value.code == "invalid_node_config"
    with pytest.raises(InvalidNodeConfig, match="cannot read the manifest file"):
        node_side.voted_manifest(tmp_path / "missing.json", entry)
    with pytest.raises(InvalidNodeConfig, match="is not a dataset manifest"):
        node_side.voted_manifest(csv, entry)


def test_the_manifest_file_travels_in_the_node_config(tmp_path: Path) -> None:
    csv = tmp_path / "loans.csv"
    with_manifest = _config(csv, tmp_path / "loans.manifest.json")
    assert f'manifest-file="{tmp_path / "loans.manifest.json"}"' in with_manifest.to_node_config()
    values = dict(zip(NodeConfig.KEYS, with_manifest.to_node_config_values(), strict=True))
    assert NodeConfig.from_node_config(values).manifest is None
    read = NodeConfig.from_node_config(values | {"manifest-file": str(with_manifest.manifest)})
    assert read == with_manifest
    assert "manifest-file" not in _config(csv, None).to_node_config()
