"""Specs over several datasets: one schema, each dataset in the report, and the retraining
block a report of a model retrained after a withdrawal carries."""

from __future__ import annotations

import pytest

from audit.db_models import RunKind
from audit.errors import DatasetNotAllowed, DatasetSchemaMismatch
from audit.manifest import DatasetManifest
from audit.plan import combined
from audit.provenance import dataset_info
from audit.report import Report, RetrainingInfo, build_report
from audit.report_model import WithdrawalInfo
from audit.verify import SCHEMA_FIELDS, check_same_schema, verify_datasets
from bias_checks import OnInconclusive
from governance.policy.snapshot import DatasetEntry, EvidenceRuleEntry, Mitigation, PolicySnapshot
from tests.unit.audit.test_report import POLICY, _audit

RUN_ID = "0x" + "cd" * 32


def manifest(name: str, **changes: object) -> DatasetManifest:
    fields: dict[str, object] = {
        "name": name,
        "uri": f"file:///data/{name}.csv",
        "sha256": "0x" + name.encode().hex().ljust(64, "0")[:64],
        "label": "approved",
        "positive_label": "1",
        "sensitive_features": ("sex",),
        "features": ("income", "age"),
    }
    return DatasetManifest.model_validate(fields | changes)


A, B = manifest("loans-a"), manifest("loans-b")


def test_datasets_with_one_schema_combine_whatever_their_files() -> None:
    check_same_schema([A, B, manifest("loans-c", format="parquet", version="7")])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("label", "granted"),
        ("positive_label", "yes"),
        ("sensitive_features", ("race",)),
        ("features", ("income",)),
        ("features", ("age", "income")),  # the same columns in another order: another schema
        ("reference_group", {"sex": "male"}),  # one declares a privileged group, one does not
    ],
)
def test_datasets_that_differ_in_schema_are_refused_with_the_field(
    field: str, value: object
) -> None:
    other = manifest("loans-z", **{field: value})
    with pytest.raises(DatasetSchemaMismatch) as raised:
        check_same_schema([A, B, other])
    assert raised.value.code == "dataset_schema_mismatch"
    assert raised.value.details == {"first": "loans-a", "other": "loans-z", "field": field}
    assert field in SCHEMA_FIELDS
    assert "same label, positive label, sensitive features, features and reference group" in (
        raised.value.message
    )


def test_datasets_naming_different_privileged_groups_are_refused() -> None:
    male, female = (manifest(n, reference_group={"sex": v}) for n, v in (("m", "M"), ("f", "F")))
    check_same_schema([male, manifest("m2", reference_group={"sex": "M"})])
    with pytest.raises(DatasetSchemaMismatch, match="differ in reference_group"):
        check_same_schema([male, female])


def test_one_dataset_gives_the_dataset_block_it_always_did() -> None:
    info = dataset_info([A], [120])
    assert info.model_dump() == {
        "name": "loans-a",
        "dataset_id": A.dataset_id,
        "content_hash": A.sha256,
        "manifest_hash": A.hash,
        "rows": 120,
        "label": "approved",
        "positive_label": "1",
        "sensitive_features": ["sex"],
    }
    assert [(p.name, p.dataset_id, p.rows) for p in info.parts] == [("loans-a", A.dataset_id, 120)]
    unregistered = info.model_copy(update={"dataset_id": None, "manifest_hash": None})
    assert unregistered.parts == []


def test_several_datasets_are_each_listed_and_the_report_round_trips() -> None:
    info = dataset_info([A, B], [120, 80])
    assert info.name == "loans-a + loans-b"
    assert info.rows == 200
    assert info.manifest_hash is None
    assert info.dataset_id == combined((A.dataset_id, B.dataset_id))
    assert info.content_hash == combined((A.sha256, B.sha256))
    assert info.datasets is not None
    assert info.parts == info.datasets
    assert [
        (p.name, p.dataset_id, p.content_hash, p.manifest_hash, p.rows) for p in info.datasets
    ] == [
        ("loans-a", A.dataset_id, A.sha256, A.hash, 120),
        ("loans-b", B.dataset_id, B.sha256, B.hash, 80),
    ]
    report = build_report(
        kind=RunKind.TRAINING_RUN,
        run_id=RUN_ID,
        audit=_audit(),
        model=None,
        dataset=info,
        policy=POLICY,
        seeds={"split": 0},
    )
    again = Report.from_bytes(report.canonical_bytes())
    assert again.model.dataset == info
    assert [p["name"] for p in again.data["dataset"]["datasets"]] == ["loans-a", "loans-b"]


def test_a_retrained_model_s_report_names_the_withdrawal_and_the_run_it_replaces() -> None:
    withdrawal = WithdrawalInfo(
        dataset="loans-a",
        dataset_id=A.dataset_id,
        by="provider",
        provider="0x" + "ee" * 20,
        block_number=41,
        policy_version=9,
        tx_hash="0x" + "ff" * 32,
    )
    retraining = RetrainingInfo(
        replaces_run_id="0x" + "01" * 32,
        replaces_model_hash="0x" + "02" * 32,
        withdrawn=[withdrawal],
        remaining=["loans-b"],
    )
    common = {
        "kind": RunKind.TRAINING_RUN,
        "run_id": RUN_ID,
        "audit": _audit(),
        "model": None,
        "dataset": dataset_info([B], [80]),
        "policy": POLICY,
        "seeds": {"split": 0},
    }
    plain = build_report(**common)  # type: ignore[arg-type]
    retrained = build_report(**common, retraining=retraining)  # type: ignore[arg-type]
    assert "retraining" not in plain.data
    assert retrained.data["retraining"]["withdrawn"][0]["provider"] == "0x" + "ee" * 20
    assert retrained.hash != plain.hash
    assert Report.from_bytes(retrained.canonical_bytes()).model.retraining == retraining
    assert Report.from_bytes(plain.canonical_bytes()).model.retraining is None


def _snapshot(*, allowed: bool, withdrawn: bool) -> PolicySnapshot:
    entry = DatasetEntry(
        dataset_id=A.dataset_id,
        content_hash=A.sha256,
        manifest_hash=A.hash,
        records_root="0x" + "ab" * 32,
        uri=A.uri,
        licence="CC0-1.0",
        terms_hash="0x" + "00" * 32,
        provider="0x" + "ee" * 20,
        consented_at=5,
        allowed=allowed,
        withdrawn=withdrawn,
    )
    return PolicySnapshot(
        chain_id=31337,
        policy="0x" + "22" * 20,
        block_number=9,
        block_hash="0x" + "33" * 32,
        policy_version=7,
        datasets=(entry,),
        mitigation=Mitigation(strategy="none", constraint=""),
        evidence=EvidenceRuleEntry(
            confidence_level="0.950000",
            min_group_size=30,
            min_denominator=10,
            on_inconclusive=OnInconclusive.BLOCK,
        ),
    )


@pytest.mark.parametrize(
    ("withdrawn", "hint"),
    [(True, "its provider withdrew it"), (False, "propose an allow_dataset action first")],
)
def test_a_withdrawn_dataset_is_refused_saying_so(withdrawn: bool, hint: str) -> None:
    with pytest.raises(DatasetNotAllowed) as raised:
        verify_datasets(_snapshot(allowed=False, withdrawn=withdrawn), [A])
    assert raised.value.code == "dataset_not_allowed"
    assert raised.value.details["withdrawn"] is withdrawn
    assert hint in raised.value.message
