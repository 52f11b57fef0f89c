"""External (ONNX) models: a registration's public view."""

from __future__ import annotations

from pydantic import BaseModel, Field

from audit.external import ExternalModel, Signature


class ExternalModelPublic(BaseModel):
    """A registered ONNX model: its hash (the ``modelHash`` the gate and the chain use),
    size, the signature fairgov feeds and reads, and the exporter the file names."""

    name: str
    model_hash: str = Field(description='"0x" + sha256 of the ONNX file.')
    size: int = Field(description="The file's size in bytes.")
    signature: Signature
    producer: str = Field(description="The exporter the file names (not verified).")

    @classmethod
    def of(cls, model: ExternalModel) -> ExternalModelPublic:
        return cls(
            name=model.name,
            model_hash=model.model_hash,
            size=model.size,
            signature=model.signature,
            producer=model.producer,
        )


class ExternalModelsPublic(BaseModel):
    """Registered ONNX models."""

    data: list[ExternalModelPublic]
    count: int
