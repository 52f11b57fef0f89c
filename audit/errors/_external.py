"""Errors of external models: ONNX files registered and audited by fairgov (#17)."""

from __future__ import annotations

from typing import ClassVar

from audit.errors._base import AuditError
from core.errors import ErrorCategory


class InvalidOnnxModel(AuditError):
    """The bytes are not a valid ONNX model (they do not parse, or onnx.checker refuses them)."""

    code: ClassVar[str] = "invalid_onnx_model"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(
            f"{name} is not a valid ONNX model ({problem}): export it again with skl2onnx, "
            "onnxmltools or torch.onnx.export",
            name=name,
            problem=problem,
        )


class OnnxModelTooLarge(AuditError):
    """The ONNX file is larger than the operator's size limit."""

    code: ClassVar[str] = "onnx_model_too_large"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, size: int, limit: int) -> None:
        super().__init__(
            f"{name} has {size:,} bytes, more than the limit of {limit:,}: register a smaller "
            "model or ask the operator to raise the limit",
            name=name,
            size=size,
            limit=limit,
        )


class CustomOperatorDomain(AuditError):
    """The model uses operators outside the standard ONNX domains: they would run foreign code."""

    code: ClassVar[str] = "custom_operator_domain"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, domains: list[str]) -> None:
        super().__init__(
            f"{name} uses operators of the domain(s) {', '.join(domains)}; only the standard "
            "domains ai.onnx and ai.onnx.ml are run: export the model without custom operators",
            name=name,
            domains=domains,
        )


class UnexpectedOnnxSignature(AuditError):
    """The model's inputs or outputs are not one of the shapes fairgov can feed and read."""

    code: ClassVar[str] = "unexpected_onnx_signature"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, expected: str, found: str) -> None:
        super().__init__(
            f"{name}: expected {expected}, but the file has {found}",
            name=name,
            expected=expected,
            found=found,
        )


class OnnxOutputKindMissing(AuditError):
    """The model has one float output and no label: the spec must say what it holds."""

    code: ClassVar[str] = "onnx_output_kind_missing"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, output: str) -> None:
        super().__init__(
            f"{name} has one float output ({output}) and no label output: say what it holds "
            "with 'output: probability' or 'output: logit' in the spec",
            name=name,
            output=output,
        )


class ModelNotRegistered(AuditError):
    """An external audit named a model hash that was never registered under that name."""

    code: ClassVar[str] = "model_not_registered"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, name: str, model_hash: str) -> None:
        super().__init__(
            f"no model {name} with hash {model_hash} is registered: register it with "
            f"fairgov models register FILE.onnx --name {name}",
            name=name,
            model_hash=model_hash,
        )


class ExternalModelFailed(AuditError):
    """onnxruntime could not score the dataset with the model."""

    code: ClassVar[str] = "external_model_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(
            f"onnxruntime could not run {name} ({problem}): check that the file runs in "
            "onnxruntime on the CPU and that its inputs match the dataset's columns",
            name=name,
            problem=problem,
        )


class InvalidOnnxOutput(AuditError):
    """The model ran but what it returned cannot be audited: a row count that differs from
    the rows given, probabilities that are NaN or outside [0, 1], or a label output that
    contradicts its own probabilities."""

    code: ClassVar[str] = "invalid_onnx_output"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, problem: str, fix: str) -> None:
        super().__init__(f"{name} returned {problem}: {fix}", name=name, problem=problem, fix=fix)


#: The environment variable that sets :data:`audit.external.MAX_SCORING_MEMORY` (bytes).
ONNX_MEMORY_SETTING = "FAIRGOV_ONNX_MAX_MEMORY"


class OnnxMemoryLimitExceeded(AuditError):
    """Scoring the model asked onnxruntime for more memory than the operator's limit."""

    code: ClassVar[str] = "onnx_memory_limit_exceeded"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(
            f"{name} needed more than the scoring memory limit of {limit:,} bytes: export a "
            f"model whose tensors fit, or ask the operator to raise {ONNX_MEMORY_SETTING}",
            name=name,
            limit=limit,
        )


#: The environment variable that sets :data:`audit.external.MAX_SCORING_SECONDS`.
ONNX_SECONDS_SETTING = "FAIRGOV_ONNX_MAX_SECONDS"


class OnnxScoringOutOfMemory(AuditError):
    """The scoring process ran out of the address space it may use (``budget`` bytes
    beyond its start), outside what onnxruntime's arena accounts for, or was killed."""

    code: ClassVar[str] = "onnx_scoring_out_of_memory"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, budget: int) -> None:
        super().__init__(
            f"{name} ran out of memory while scoring (its process may grow by {budget:,} "
            "bytes) and was stopped: export a model whose tensors fit, or ask the operator "
            f"to raise {ONNX_MEMORY_SETTING}",
            name=name,
            budget=budget,
        )


class OnnxScoringTimeout(AuditError):
    """Scoring the model took longer than the operator's time limit; it was stopped."""

    code: ClassVar[str] = "onnx_scoring_timeout"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(
            f"{name} was still scoring after {seconds:g} s, the scoring time limit, and was "
            "stopped: export a model that scores the dataset faster, or ask the operator to "
            f"raise {ONNX_SECONDS_SETTING}",
            name=name,
            seconds=seconds,
        )
