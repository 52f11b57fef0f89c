"""Bring your own model, still governed: ONNX models trained elsewhere, audited on voted data.

A team registers a model exported to ONNX (skl2onnx, onnxmltools, torch.onnx) with
:func:`register_onnx`: the file must pass ``onnx.checker``, use only the standard operator
domains (``ai.onnx``, ``ai.onnx.ml``: a custom operator would mean running foreign code),
stay under a size limit and have a signature fairgov can feed and read (:class:`Signature`;
see ``docs/external_models.md``). :func:`run_external_audit` then scores it with onnxruntime,
in a child process under a memory and a time limit (:func:`score_sandboxed`), on a dataset
the DAO allowed, verified on chain by hash, audits the predictions under the
voted policy, anchors the report and approves or blocks the file's hash at the gate. The
report says what fairgov verified (the scoring data, the file, the inputs) and what it
could not (how the model was trained).

Examples
--------
>>> model = register_onnx(env, name="loans-xgb", data=onnx_bytes)  # doctest: +SKIP
>>> spec = ExternalAuditSpec(name="loans-xgb", model_hash=model.model_hash,
...                          dataset="loans")  # doctest: +SKIP
>>> run_external_audit(env, spec).model_status  # doctest: +SKIP
'approved'
"""

from audit.external._memory import MAX_SCORING_MEMORY, memory_limit
from audit.external._registry import (
    ExternalModel,
    list_external_models,
    read_model_bytes,
    read_onnx_file,
    register_onnx,
    registered_model,
    store_onnx,
)
from audit.external._run import (
    STAGES,
    audit_again,
    external_run_id,
    plan_external_run,
    queue_external_run,
    reaudit_external,
    run_external_audit,
)
from audit.external._sandbox import (
    MAX_SCORING_SECONDS,
    ScoringLimits,
    address_budget,
    score_sandboxed,
)
from audit.external._scoring import Scores, score_frame, session
from audit.external._signature import (
    MAX_ONNX_BYTES,
    STANDARD_DOMAINS,
    OnnxValue,
    Signature,
    inspect_onnx,
)
from audit.external._spec import (
    ExternalAuditSpec,
    is_external_spec,
    load_external_spec,
    parse_external_spec,
)

__all__ = [
    "MAX_ONNX_BYTES",
    "MAX_SCORING_MEMORY",
    "MAX_SCORING_SECONDS",
    "STAGES",
    "STANDARD_DOMAINS",
    "ExternalAuditSpec",
    "ExternalModel",
    "OnnxValue",
    "Scores",
    "ScoringLimits",
    "Signature",
    "address_budget",
    "audit_again",
    "external_run_id",
    "inspect_onnx",
    "is_external_spec",
    "list_external_models",
    "load_external_spec",
    "memory_limit",
    "parse_external_spec",
    "plan_external_run",
    "queue_external_run",
    "read_model_bytes",
    "read_onnx_file",
    "reaudit_external",
    "register_onnx",
    "registered_model",
    "run_external_audit",
    "score_frame",
    "score_sandboxed",
    "session",
    "store_onnx",
]
