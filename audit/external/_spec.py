"""What an external audit scores: a registered model, on a voted dataset, read how."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audit.errors import InvalidModelSpec
from audit.spec import DatasetName, read_spec_file
from core.canonical import canonical_json


class ExternalAuditSpec(BaseModel):
    """An audit of a registered ONNX model on a registered, voted dataset.

    ``test_size`` unset (the default) scores every row of the dataset: the DAO voted it as
    held-out data. With ``test_size``, only the seeded, label-stratified held-out split is
    scored: the same rows a central run with that ``test_size`` and ``seed`` holds out.
    ``inputs`` orders the columns of a single-tensor model (default: the manifest's
    features). ``output`` says what a model's single float output is (needed only when it
    has no label output). ``cutoff`` turns probabilities into predictions; unset, a model's
    label output is used, or 0.5 when it gives only probabilities.

    Examples
    --------
    >>> ExternalAuditSpec(name="loans-xgb", model_hash="0x" + "ab" * 32,
    ...                   dataset="loans").cutoff is None
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="the registered model's name")
    model_hash: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    dataset: DatasetName
    test_size: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    inputs: tuple[str, ...] | None = Field(default=None, min_length=1)
    output: Literal["probability", "logit"] | None = None
    cutoff: float | None = Field(default=None, gt=0.0, lt=1.0)
    n_boot: int = Field(default=200, ge=0, le=10_000, description="bootstrap replicates")

    def canonical_json(self) -> bytes:
        """The spec as canonical JSON (the model hash in lower case)."""
        data = self.model_dump(mode="json")
        data["model_hash"] = self.model_hash.lower()
        return canonical_json(data)


def is_external_spec(data: Any) -> bool:
    """Whether parsed spec data (or a stored run's spec JSON object) is an
    :class:`ExternalAuditSpec`: it names the registered file's ``model_hash``, which a
    central or federated spec never does."""
    return isinstance(data, dict) and "model_hash" in data and data.get("federated") is not True


def parse_external_spec(data: Any) -> ExternalAuditSpec:
    """An :class:`ExternalAuditSpec` from parsed YAML or JSON; :class:`InvalidModelSpec` if bad."""
    try:
        return ExternalAuditSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "spec"
        raise InvalidModelSpec(f"{where}: {first['msg']}") from None


def load_external_spec(path: Path) -> ExternalAuditSpec:
    """An :class:`ExternalAuditSpec` from a YAML or JSON file; InvalidModelSpec if bad."""
    return parse_external_spec(read_spec_file(path))
