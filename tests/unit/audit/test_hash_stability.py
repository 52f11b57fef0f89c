"""Every hashed document is byte-stable: serialise, parse, serialise gives the same bytes
and hash. Covers reports, dataset manifests, policy snapshots, model specs and run-id inputs.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.db_models import RunKind
from audit.manifest import DatasetManifest
from audit.plan import compute_run_id
from audit.report import Report, build_report
from audit.report_model import DatasetInfo
from audit.spec import ModelSpec
from bias_checks import EvidenceRule, OnInconclusive, Threshold, audit_predictions
from core.canonical import canonical_hash, canonical_json, sha256_hex
from governance.policy.snapshot import (
    DatasetEntry,
    EvidenceRuleEntry,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
)

text = st.text(min_size=1, max_size=12)  # any Unicode, including escapes and surrogates' kin
hashes = st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _stable(raw: bytes, parse: Any, serialise: Any) -> None:
    again = serialise(parse(raw))
    assert again == raw
    assert sha256_hex(again) == sha256_hex(raw)


specs = st.builds(
    ModelSpec,
    name=text,
    dataset=text,
    estimator=st.sampled_from(["logistic_regression", "hist_gradient_boosting"]),
    hyperparameters=st.dictionaries(st.text(max_size=6), scalars, max_size=4),
    test_size=st.floats(min_value=0.01, max_value=0.99),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    include_sensitive=st.booleans(),
    n_boot=st.integers(min_value=0, max_value=10_000),
)


@FAST
@given(specs)
def test_a_spec_is_byte_stable(spec: ModelSpec) -> None:
    _stable(
        spec.canonical_json(),
        lambda raw: ModelSpec.model_validate(json.loads(raw)),
        ModelSpec.canonical_json,
    )


@FAST
@given(specs, hashes, hashes, st.one_of(st.none(), hashes))
def test_run_id_inputs_are_byte_stable(
    spec: ModelSpec, content: str, snapshot: str, model: str | None
) -> None:
    run_id = compute_run_id(spec, content, snapshot, model_hash=model)
    inputs = {
        "dataset_content_hash": content,
        "policy_snapshot_hash": snapshot,
        "seed": spec.seed,
        "spec": json.loads(spec.canonical_json()),
    } | ({} if model is None else {"reaudit_model_hash": model})
    raw = canonical_json(inputs)
    _stable(raw, json.loads, canonical_json)
    assert canonical_hash(json.loads(raw)) == run_id


manifests = st.builds(
    DatasetManifest,
    # a dataset name is one path segment of printable characters (manifest.py)
    name=text.filter(
        lambda s: s not in (".", "..") and s.isprintable() and not set(s) & set("/\\")
    ),
    version=text,
    uri=text,
    sha256=hashes,
    label=st.just("y"),
    positive_label=st.text(max_size=5),
    sensitive_features=st.lists(text.filter(lambda s: s != "y"), min_size=1, max_size=3).map(tuple),
    features=st.lists(text.filter(lambda s: s != "y"), min_size=1, max_size=3).map(tuple),
    licence=st.text(max_size=10),
    description=st.text(max_size=20),
)


@FAST
@given(manifests)
def test_a_manifest_is_byte_stable(manifest: DatasetManifest) -> None:
    _stable(manifest.canonical_json(), DatasetManifest.from_json, DatasetManifest.canonical_json)
    assert manifest.hash == sha256_hex(manifest.canonical_json())


@st.composite
def named_manifests(draw: st.DrawFn) -> DatasetManifest:
    """A manifest naming a privileged group: one non-blank value per sensitive feature."""
    manifest = draw(manifests)
    features = manifest.sensitive_features
    values = draw(st.lists(text.filter(str.strip), min_size=len(features), max_size=len(features)))
    group = dict(zip(features, values, strict=True))
    return DatasetManifest.model_validate(manifest.model_dump() | {"reference_group": group})


@FAST
@given(named_manifests())
def test_a_manifest_naming_its_privileged_group_is_byte_stable(manifest: DatasetManifest) -> None:
    _stable(manifest.canonical_json(), DatasetManifest.from_json, DatasetManifest.canonical_json)
    unnamed = manifest.model_copy(update={"reference_group": None})
    assert manifest.hash != unnamed.hash
    assert "reference_group" not in json.loads(unnamed.canonical_json())


decimals = st.integers(min_value=0, max_value=10**6).map(lambda v: f"{v / 1e6:.6f}")
rules = st.builds(
    EvidenceRuleEntry,
    metric=st.none(),
    confidence_level=decimals,
    min_group_size=st.integers(min_value=1, max_value=10**6),
    min_denominator=st.integers(min_value=1, max_value=10**6),
    on_inconclusive=st.sampled_from(list(OnInconclusive)),
)
snapshots = st.builds(
    PolicySnapshot,
    chain_id=st.integers(min_value=1, max_value=2**63),
    policy=hashes.map(lambda h: h[:42]),
    block_number=st.integers(min_value=0, max_value=2**63),
    block_hash=hashes,
    policy_version=st.integers(min_value=0, max_value=2**63),
    datasets=st.lists(
        st.builds(
            DatasetEntry,
            dataset_id=hashes,
            content_hash=hashes,
            manifest_hash=hashes,
            uri=text,
            allowed=st.booleans(),
        ),
        max_size=3,
    ).map(tuple),
    thresholds=st.lists(
        st.builds(
            ThresholdEntry,
            metric=text,
            value=decimals,
            direction=st.sampled_from(["upper", "lower"]),
        ),
        max_size=3,
    ).map(tuple),
    mitigation=st.builds(Mitigation, strategy=text, constraint=st.text(max_size=8)),
    evidence=rules,
)


@FAST
@given(snapshots)
def test_a_policy_snapshot_is_byte_stable_and_canonical(snapshot: PolicySnapshot) -> None:
    raw = snapshot.canonical_json()
    _stable(raw, PolicySnapshot.model_validate_json, PolicySnapshot.canonical_json)
    # The snapshot's own encoding is the one core.canonical primitive's.
    assert raw == canonical_json(snapshot.model_dump(mode="json"))
    assert snapshot.hash == sha256_hex(raw)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=0, max_value=2**16),
    groups=st.lists(text, min_size=2, max_size=4, unique=True),
    bound=st.floats(min_value=0.0, max_value=1.0),
    n=st.integers(min_value=20, max_value=200),
)
def test_a_report_is_byte_stable_through_its_typed_model(
    seed: int, groups: list[str], bound: float, n: int
) -> None:
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(groups, dtype=object), n)
    audit = audit_predictions(
        rng.integers(0, 2, n),
        rng.integers(0, 2, n),
        sensitive_features={"g": group},
        thresholds=[Threshold("demographic_parity_difference", bound)],
        evidence=EvidenceRule(min_group_size=1, min_denominator=1),
        n_boot=0,
    )
    report = build_report(
        kind=RunKind.PREDICTIONS,
        run_id="0x" + "ab" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="p.csv", content_hash="0x" + "12" * 32, rows=n, label="y", sensitive_features=["g"]
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )
    raw = report.canonical_bytes()
    _stable(raw, Report.from_bytes, Report.canonical_bytes)
    _stable(raw, lambda b: Report.from_bytes(b).model.to_jsonable(), canonical_json)
    assert report.hash == sha256_hex(raw)
