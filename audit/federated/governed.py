"""A governed federated run: train where the data lives, audit from summed counts, anchor, gate.

The model spec says ``federated: true`` and names the allowed datasets (by id), each held
by a provider's node. The run freezes the policy like a central run; every dataset must be
allowed by it before anything starts (no node is contacted, no gas is spent otherwise).
Flower trains with the voted strategy (:mod:`audit.federated.processes`); each node sends
its held-out rows' per-group confusion counts (noised at the voted epsilon, if any), and
the audit is :func:`bias_checks.audit_counts` on their sum under the voted thresholds and
evidence rules, against the privileged group the datasets' voted manifests name (found
here by the ``manifestHash`` the policy allows: each must be stored, and they must agree),
else the largest group. Without noise it equals the audit of the pooled held-out rows. A voted
ThresholdOptimizer is fitted from the nodes' summed score histograms, applied by the nodes
in the audit, and stored in the model (:func:`audit.federated.mitigation.with_thresholds`),
so the gated model is the one audited; ExponentiatedGradient is refused. The report
gets a ``federation`` block (strategy, epsilon, nodes and their datasets and rows, refused
nodes with codes, rounds) and a warning for each node whose rows no voted manifest counted,
and is anchored and gated like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from sqlalchemy import Engine

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import DatasetNotAllowed, DatasetSchemaMismatch, UnsupportedMitigation
from audit.evidence import evidence_rule, gate_rule, governed_thresholds
from audit.federated import learning
from audit.federated.errors import FederatedRunFailed, TooFewNodes, VotedManifestNotStored
from audit.federated.mitigation import CONSTRAINTS, with_thresholds
from audit.federated.outcome import FederatedOutcome
from audit.federated.processes import FlowerProcess, run_federated
from audit.federated.protocol import THRESHOLD_OPTIMIZER, RunPlan, Schema
from audit.manifest import DatasetManifest, manifest_by_hash
from audit.models import save_model
from audit.plan import combined
from audit.provenance import model_info, policy_info
from audit.publish import AuditRun, Publication, finish_run, publish_run, update_row
from audit.reference import resolve_reference
from audit.report import build_report
from audit.report_model import (
    DatasetInfo,
    FederatedNodeInfo,
    FederationInfo,
    NodeRefusalInfo,
    RoundInfo,
)
from audit.spec import FederatedSpec, parse_federated_spec, read_spec_file
from audit.training import ModelArtifact
from audit.verify import frozen_snapshot
from bias_checks import GroupCounts, UnknownReferenceGroupError, audit_counts
from core.canonical import canonical_hash, canonical_json
from core.db import session_scope
from governance.policy.models import PolicySnapshot, allowed_dataset

#: ``progress(line)``: one line per stage and per Flower step.
Say = Callable[[str], None]
_STAGE_LINES = {
    "anchor": "anchor: sending the report hash to the AuditRegistry",
    "gate": "gate: recording the verdict for the model's hash",
}


def schema_of(spec: FederatedSpec) -> Schema:
    """The columns the nodes read and how they split, from the spec."""
    return Schema(
        label=spec.label,
        positive_label=spec.positive_label,
        inputs=spec.features,
        sensitive=spec.sensitive_features,
        test_size=spec.test_size,
        seed=spec.seed,
    )


def load_federated_spec(path: Path) -> FederatedSpec:
    """A :class:`~audit.spec.FederatedSpec` from a YAML or JSON file; InvalidModelSpec if bad."""
    return parse_federated_spec(read_spec_file(path))


REFERENCE_NOT_SENSITIVE = (
    "The voted privileged group of dataset {dataset} names {named}, but the spec's sensitive "
    "features are {features}: audit the sensitive features its manifest declares."
)


def voted_manifests(
    engine: Engine, snapshot: PolicySnapshot, spec: FederatedSpec
) -> dict[str, DatasetManifest]:
    """The voted manifests of the spec's allowed datasets, by dataset id: those stored here
    whose hash is the ``manifestHash`` the policy allows.

    Raises
    ------
    VotedManifestNotStored
        A dataset's voted manifest is not stored here.
    """
    found: dict[str, DatasetManifest] = {}
    with session_scope(engine) as session:
        for dataset_id in spec.dataset_ids:
            entry = allowed_dataset(snapshot, dataset_id)
            if entry is None:
                continue
            manifest = manifest_by_hash(session, entry.manifest_hash)
            if manifest is None:
                raise VotedManifestNotStored(dataset_id, entry.manifest_hash)
            found[dataset_id.lower()] = manifest
    return found


def voted_reference(
    engine: Engine,
    snapshot: PolicySnapshot,
    spec: FederatedSpec,
    *,
    manifests: Mapping[str, DatasetManifest] | None = None,
) -> Mapping[str, str] | None:
    """The privileged group the voted manifests of the spec's datasets name: those stored
    here whose hash is the ``manifestHash`` the policy allows (``manifests``, when the
    caller read them already with :func:`voted_manifests`). None if none names one. Every
    one must be stored: an absent one might name a group, which the run cannot guess.

    Raises
    ------
    VotedManifestNotStored
        A dataset's voted manifest is not stored here.
    DatasetSchemaMismatch
        Two voted manifests name different groups (or one names none).
    UnknownReferenceGroupError
        The group does not name exactly the spec's sensitive features.
    """
    if manifests is None:
        manifests = voted_manifests(engine, snapshot, spec)
    found = list(manifests.values())
    for other in found[1:]:
        if other.reference_group != found[0].reference_group:
            raise DatasetSchemaMismatch(found[0].name, other.name, "reference_group")
    reference = found[0].reference_group if found else None
    if reference is not None and set(reference) != set(spec.sensitive_features):
        raise UnknownReferenceGroupError(
            REFERENCE_NOT_SENSITIVE.format(
                dataset=found[0].name,
                named=", ".join(f"{k}={v}" for k, v in reference.items()),
                features=", ".join(spec.sensitive_features),
            ),
            feature=sorted(set(reference) ^ set(spec.sensitive_features))[0],
        )
    return reference


def _allowed(snapshot: PolicySnapshot, spec: FederatedSpec) -> tuple[str, ...]:
    hashes = []
    for dataset_id in spec.dataset_ids:
        entry = allowed_dataset(snapshot, dataset_id)
        if entry is None:
            withdrawn = any(d.withdrawn for d in snapshot.datasets if d.dataset_id == dataset_id)
            raise DatasetNotAllowed(
                dataset_id, dataset_id, snapshot.policy_version, withdrawn=withdrawn
            )
        hashes.append(entry.content_hash)
    return tuple(hashes)


#: The voted mitigations a federated run can apply. ExponentiatedGradient is not one: it
#: retrains the model many times over all the rows, a federated training run per step.
FEDERATED_MITIGATIONS = frozenset({"none", THRESHOLD_OPTIMIZER})


def check_mitigation(snapshot: PolicySnapshot) -> None:
    """A voted mitigation the federated pipeline cannot apply refuses the run before it
    starts: training without it would ignore the vote.

    Raises
    ------
    UnsupportedMitigation
        ExponentiatedGradient, an unknown strategy, or a constraint ThresholdOptimizer
        does not support.
    """
    mitigation = snapshot.mitigation
    if mitigation.strategy not in FEDERATED_MITIGATIONS or (
        mitigation.strategy == THRESHOLD_OPTIMIZER and mitigation.constraint not in CONSTRAINTS
    ):
        raise UnsupportedMitigation(mitigation.strategy, mitigation.constraint)


def federated_run_id(
    spec: FederatedSpec,
    content_hashes: Sequence[str],
    snapshot: str,
    outcome: FederatedOutcome | None = None,
) -> str:
    """The canonical hash of the spec, the voted content hashes and the snapshot and, once
    the run has an ``outcome``, of what took part in it (:func:`participation`).

    Without the outcome it names the attempt before any node answered (the ``running``
    row). With it, two runs that admitted other datasets, refused other nodes or were sent
    other counts are two runs, each anchored on its own: an honest re-audit after a node
    lied, was refused or dropped out is not an ``anchor_conflict`` with the first outcome,
    and its verdict reaches the gate. The same nodes sending the same replies make the
    same run id.
    """
    fields: dict[str, object] = {
        "federated_spec": spec.model_dump(mode="json"),
        "dataset_content_hashes": list(content_hashes),
        "policy_snapshot_hash": snapshot,
    }
    if outcome is not None:
        fields["participation"] = participation(outcome)
    return canonical_hash(fields)


def participation(outcome: FederatedOutcome) -> dict[str, object]:
    """What took part in a run, as its report shows it (the ``federation`` block: the
    accepted nodes with their datasets, providers and signed row counts, the refused nodes
    with their codes, each round's nodes), what each node sent to the audit (its counts,
    by dataset) and, when any node's rows were checked against its voted manifest, the
    record counts they were checked against."""
    taken: dict[str, object] = {
        "federation": federation_info(outcome).model_dump(mode="json"),
        "counts": {n.dataset_id: n.counts.to_dict() for n in outcome.nodes},
    }
    checked = {n.dataset_id: n.voted_records for n in outcome.nodes if n.voted_records}
    return taken | ({"voted_records": checked} if checked else {})


def federation_info(outcome: FederatedOutcome) -> FederationInfo:
    policy = outcome.policy
    return FederationInfo(
        aggregation=str(policy.aggregation),
        trim_beta=policy.trim_beta,
        krum_f=policy.krum_f,
        epsilon=policy.epsilon,
        min_nodes=policy.min_nodes,
        nodes=[
            FederatedNodeInfo(
                node_id=n.node_id,
                provider=n.provider,
                dataset_id=n.dataset_id,
                content_hash=n.content_hash,
                train_rows=n.train_rows,
                heldout_rows=n.heldout_rows,
                bytes_sent=n.bytes_sent,
            )
            for n in sorted(outcome.nodes, key=lambda n: n.dataset_id)
        ],
        refused=[
            NodeRefusalInfo(
                node_id=r.node_id, dataset_id=r.dataset_id, code=r.code, message=r.message
            )
            for r in sorted(outcome.refusals, key=lambda r: (r.dataset_id or "", r.code))
        ],
        rounds=[RoundInfo(round=r.round, node_ids=sorted(r.node_ids)) for r in outcome.rounds],
    )


def run_federated_audit(
    env: AuditEnv,
    spec: FederatedSpec,
    *,
    superlink: str,
    work_dir: Path,
    say: Say = print,
    watch: Sequence[FlowerProcess] = (),
    timeout: float = 600.0,
    rpc_url: str | None = None,
) -> AuditRun:
    """Train ``spec`` on its datasets' nodes, audit the summed counts, anchor and gate.

    ``rpc_url`` is the chain endpoint the server checks admissions against (by default,
    the one ``env.w3`` talks to).

    Raises
    ------
    DatasetNotAllowed
        A dataset of the spec is not allowed by the policy (nothing recorded or started).
    VotedManifestNotStored
        A dataset's voted manifest is not stored here (nothing recorded or started).
    DatasetSchemaMismatch, UnknownReferenceGroupError
        The voted manifests name different privileged groups, or one the spec does not
        audit (:func:`voted_reference`; nothing recorded or started); or the group has no
        held-out rows (the run is recorded ``failed``, nothing is anchored).
    UnsupportedMitigation
        The voted mitigation cannot be applied to a federated run (nothing started).
    TooFewNodes
        Fewer nodes than the voted minimum were accepted: the run is recorded ``refused``.
    FederatedRunFailed
        Flower failed: the run is recorded ``failed``.
    """
    auditor_key = env.require_auditor_key()
    say("policy: freezing the voted policy")
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    hashes = _allowed(snapshot, spec)
    check_mitigation(snapshot)
    manifests = voted_manifests(env.engine, snapshot, spec)
    reference = voted_reference(env.engine, snapshot, spec, manifests=manifests)
    row_id = start_row(env.engine, spec, snapshot, hashes)
    try:
        say(f"train: {spec.rounds} rounds of {snapshot.federation.aggregation} over the nodes")
        plan = RunPlan(
            policy=snapshot.federation,
            schema=schema_of(spec),
            rpc_url=rpc_url or str(getattr(env.w3.provider, "endpoint_uri", "")),
            policy_address=env.deployment.addresses.training_policy,
            dataset_ids=spec.dataset_ids,
            rounds=spec.rounds,
            epochs=spec.epochs,
            mitigation=snapshot.mitigation.strategy,
            constraint=snapshot.mitigation.constraint,
            voted_records=tuple(
                (dataset_id, m.records) for dataset_id, m in manifests.items() if m.records
            ),
        )
        outcome = run_federated(
            plan, superlink=superlink, work_dir=work_dir, progress=say, watch=watch, timeout=timeout
        )
        return audit_outcome(
            env,
            auditor_key,
            spec=spec,
            snapshot=snapshot,
            outcome=outcome,
            row_id=row_id,
            say=say,
            reference=reference,
        )
    except TooFewNodes as exc:
        finish_run(env.engine, row_id, RunStatus.REFUSED, exc)
        raise
    except BaseException as exc:
        finish_run(env.engine, row_id, RunStatus.FAILED, exc)
        raise


def federated_model(
    spec: FederatedSpec, snapshot: PolicySnapshot, outcome: FederatedOutcome
) -> ModelArtifact:
    """The model artifact the run stores, hashes and gates: the final parameters behind the
    global preprocessor, with the voted ThresholdOptimizer refitted from the pooled histogram.

    Raises
    ------
    FederatedRunFailed
        The policy voted ThresholdOptimizer but the outcome holds no fitted thresholds, or
        the refit differs from the thresholds the nodes applied in the audit.
    """
    summary = learning.FrameSummary.model_validate(outcome.preprocessor)
    model = learning.to_model_artifact(
        list(outcome.params),
        learning.global_preprocessor(summary),
        inputs=spec.features,
        sensitive=spec.sensitive_features,
        seed=spec.seed,
    )
    if snapshot.mitigation.strategy != THRESHOLD_OPTIMIZER:
        return model
    fitted = outcome.mitigation
    if fitted is None or fitted.constraint != snapshot.mitigation.constraint:
        raise FederatedRunFailed("the run did not fit the voted ThresholdOptimizer")
    mitigated = with_thresholds(model, fitted.pooled, constraint=fitted.constraint)
    if mitigated["thresholds"] != dict(fitted.thresholds):
        raise FederatedRunFailed("the thresholds the nodes applied differ from a refit")
    return mitigated


def start_row(
    engine: Engine, spec: FederatedSpec, snapshot: PolicySnapshot, content_hashes: Sequence[str]
) -> int:
    """Record a ``running`` attempt of ``spec`` under ``snapshot``; its run id is the
    attempt's until :func:`audit_outcome` knows who took part."""
    with session_scope(engine) as session:
        row = AuditRunRecord(
            run_id=federated_run_id(spec, content_hashes, snapshot.hash),
            kind=RunKind.TRAINING_RUN,
            model_name=spec.name,
            dataset_name=spec.name,
            dataset_id=combined(spec.dataset_ids),
            spec_json=canonical_json(spec.model_dump(mode="json")).decode(),
            chain_id=snapshot.chain_id,
            policy_version=snapshot.policy_version,
            policy_block=snapshot.block_number,
            policy_snapshot_hash=snapshot.hash,
            content_hash=combined(tuple(content_hashes)),
            status=RunStatus.RUNNING,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def audit_outcome(
    env: AuditEnv,
    auditor_key: str,
    *,
    spec: FederatedSpec,
    snapshot: PolicySnapshot,
    outcome: FederatedOutcome,
    row_id: int,
    say: Say,
    reference: Mapping[str, str] | None,
) -> AuditRun:
    """Audit ``outcome``'s summed counts, store its model, and anchor and gate the report
    under the run id of what took part (:func:`federated_run_id`); row ``row_id`` takes
    that run id."""
    run_id = federated_run_id(spec, _allowed(snapshot, spec), snapshot.hash, outcome)
    update_row(env.engine, row_id, run_id=run_id)
    say(f"audit: summing the counts of {len(outcome.nodes)} nodes")
    counts = GroupCounts.combine([n.counts for n in outcome.nodes])
    result = audit_counts(
        counts,
        thresholds=governed_thresholds(snapshot),
        evidence=evidence_rule(snapshot.evidence),
        n_boot=spec.n_boot,
        random_state=spec.seed,
        reference_group=resolve_reference("majority" if reference is None else reference, counts),
    )
    when_inconclusive, warnings = gate_rule(snapshot, result)
    nodes = sorted(outcome.nodes, key=lambda n: n.dataset_id)
    warnings += [w for w in (n.unverified_rows for n in nodes) if w is not None]
    model = federated_model(spec, snapshot, outcome)
    model_path, model_hash = save_model(model, env.models_dir / spec.name)
    say("report: building and rendering the report")
    ids = tuple(n.dataset_id for n in nodes)
    report = build_report(
        kind=RunKind.TRAINING_RUN,
        run_id=run_id,
        audit=result,
        model=model_info(spec.model_spec(), model, model_hash),
        dataset=DatasetInfo(
            name=spec.name,
            dataset_id=combined(ids) if ids else None,
            content_hash=combined(tuple(n.content_hash for n in nodes)) if nodes else "",
            rows=sum(n.train_rows + n.heldout_rows for n in nodes),
            label=spec.label,
            positive_label=spec.positive_label,
            sensitive_features=list(spec.sensitive_features),
        ),
        policy=policy_info(snapshot),
        seeds={"split": spec.seed, "training": spec.seed, "bootstrap": spec.seed},
        warnings=warnings,
        federation=federation_info(outcome),
    )
    return publish_run(
        env,
        auditor_key,
        Publication(
            row_id=row_id,
            kind=RunKind.TRAINING_RUN,
            model_name=spec.name,
            report=report,
            model_path=model_path,
            model_hash=model_hash,
            dataset_id=combined(spec.dataset_ids),
            snapshot=snapshot,
            on_inconclusive=when_inconclusive,
        ),
        step=lambda stage: say(_STAGE_LINES[stage]),
    )
