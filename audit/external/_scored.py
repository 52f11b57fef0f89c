"""What an external audit scores: the columns a registered model is given, the held-out rows,
the sandboxed scores, and their audit under the voted policy."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from audit.errors import InvalidModelSpec, UnexpectedOnnxSignature
from audit.evidence import audit_under_policy
from audit.external._registry import ExternalModel
from audit.external._sandbox import Scorer, ScoringLimits, score_sandboxed
from audit.external._scoring import ScoredRows, column_for
from audit.external._spec import ExternalAuditSpec
from audit.manifest import DatasetManifest
from audit.manifest_data import load_frame
from audit.training import labels, sensitive_groups
from bias_checks import AuditResult
from governance.policy.snapshot import PolicySnapshot


def model_inputs(
    spec: ExternalAuditSpec, model: ExternalModel, manifest: DatasetManifest
) -> tuple[str, ...]:
    """The columns the model is given: by input name, or ``spec.inputs`` (default: the
    manifest's features) in order for a single tensor.

    Raises
    ------
    UnexpectedOnnxSignature
        An input names no feature or sensitive column.
    InvalidModelSpec
        ``spec.inputs`` names a column that is not a feature or sensitive column.
    """
    allowed = readable_columns(manifest)
    if model.signature.layout == "columns":
        named = tuple(column_for(spec.name, v.name, allowed) for v in model.signature.inputs)
        if spec.inputs is not None and spec.inputs != named:
            raise InvalidModelSpec(
                f"inputs: this model takes one input per column, by name ({', '.join(named)}); "
                "leave inputs out of the spec"
            )
        return named
    inputs = spec.inputs if spec.inputs is not None else tuple(manifest.features)
    unknown = [c for c in inputs if c not in allowed]
    if unknown:
        raise InvalidModelSpec(
            f"inputs: {', '.join(unknown)} is not a feature or sensitive column of dataset "
            f"{manifest.name} (the label is never given to a model)"
        )
    width = model.signature.features
    if width is not None and width != len(inputs):
        raise UnexpectedOnnxSignature(
            spec.name,
            f"a float tensor [N, {len(inputs)}] (one column per input: {', '.join(inputs)})",
            model.signature.inputs[0].describe(),
        )
    return inputs


def readable_columns(manifest: DatasetManifest) -> tuple[str, ...]:
    """The columns a model may be given: the features and the sensitive ones, never the
    label."""
    return tuple(dict.fromkeys((*manifest.features, *manifest.sensitive_features)))


def heldout(
    frame: pd.DataFrame, manifest: DatasetManifest, spec: ExternalAuditSpec
) -> pd.DataFrame:
    """Every row, or (with ``spec.test_size``) the seeded label-stratified held-out rows: the
    same rows :func:`audit.training.split` holds out with that test size and seed."""
    if spec.test_size is None:
        return frame
    y = labels(frame, manifest)
    _, test = train_test_split(
        np.arange(len(frame)), test_size=spec.test_size, random_state=spec.seed, stratify=y
    )
    rows: pd.DataFrame = frame.iloc[test]
    return rows


def score_dataset(
    spec: ExternalAuditSpec,
    model: ExternalModel,
    data: bytes,
    manifest: DatasetManifest,
    *,
    limits: ScoringLimits = ScoringLimits(),  # noqa: B008 - frozen, immutable
) -> ScoredRows:
    """Load the dataset, take the rows to score and score them with onnxruntime in a child
    process within ``limits`` (:func:`audit.external.score_sandboxed`), started first so
    that it imports onnxruntime while the dataset loads."""
    scorer = Scorer()
    try:
        frame = load_frame(manifest)
        rows = heldout(frame, manifest, spec)
        inputs = model_inputs(spec, model, manifest)
        scores = score_sandboxed(
            spec.name,
            data,
            model.signature,
            rows[list(readable_columns(manifest))],
            inputs=inputs,
            positive_label=manifest.positive_label,
            output=spec.output,
            cutoff=spec.cutoff,
            limits=limits,
            scorer=scorer,
        )
    finally:
        scorer.close()
    groups = sensitive_groups(rows[list(manifest.sensitive_features)])
    return ScoredRows(labels(rows, manifest), groups, scores, inputs, len(frame))


def audit_scores(
    snapshot: PolicySnapshot,
    scored: ScoredRows,
    *,
    n_boot: int,
    seed: int,
    reference_group: Mapping[str, str] | None = None,
) -> AuditResult:
    """:func:`audit.evidence.audit_under_policy` on the predictions, with the probabilities
    as ``y_score``, against the manifest's voted privileged group (``reference_group``;
    None: the largest group)."""
    return audit_under_policy(
        snapshot,
        scored.y_true,
        scored.scores.positive,
        sensitive_features=scored.groups,
        n_boot=n_boot,
        random_state=seed,
        reference_group=reference_group,
        y_score=scored.scores.probability,
    )
