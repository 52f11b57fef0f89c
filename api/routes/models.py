"""Models: trained model files and their gate status; registered external (ONNX) models."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, status

from api import uploads
from api.deps import CtxDep, CurrentOperator, SessionDep
from api.errors import NotFound, responses
from api.runs import audit_env
from api.schemas.audits import ModelPublic, ModelsPublic
from api.schemas.common import Limit, Offset
from api.schemas.external import ExternalModelPublic, ExternalModelsPublic
from audit.db_models import ModelStatus
from audit.external import list_external_models, register_onnx
from audit.service import get_model, list_models

router = APIRouter(prefix="/models", tags=["models"])

_ONNX_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The ONNX file itself.",
        "content": {
            media: {"schema": {"type": "string", "format": "binary"}}
            for media in ("application/octet-stream", "application/onnx")
        },
    }
}
ModelName = Annotated[
    str,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="The model's name: letters, digits, '.', '_' and '-'.",
    ),
]


@router.get("", response_model=ModelsPublic, responses=responses())
def read_models(
    session: SessionDep,
    status: Annotated[ModelStatus | None, Query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ModelsPublic:
    """Model versions, most recently updated first."""
    page = list_models(session, status=status, offset=offset, limit=limit)
    return ModelsPublic(data=[ModelPublic.of(r) for r in page.rows], count=page.count)


@router.post(
    "/external",
    response_model=ExternalModelPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 413),
    openapi_extra=_ONNX_BODY,
)
async def register_external_model(
    request: Request, ctx: CtxDep, _operator: CurrentOperator, name: ModelName
) -> ExternalModelPublic:
    """Register an ONNX model (operators): the body is the file. It is checked (the ONNX
    checker, standard operator domains only, a signature fairgov can feed and read) and
    stored by hash; the same name and bytes give the same registration again."""
    limit = ctx.settings.api_max_upload_bytes
    data = await uploads.read_upload(request.stream(), limit=limit)
    if not data:
        raise uploads.EmptyUpload("ONNX file")
    register = partial(register_onnx, audit_env(ctx), name=name, data=data, max_bytes=limit)
    return ExternalModelPublic.of(await anyio.to_thread.run_sync(register))


@router.get("/external", response_model=ExternalModelsPublic, responses=responses())
def read_external_models(
    session: SessionDep,
    name: Annotated[str | None, Query(max_length=200, description="A model name.")] = None,
) -> ExternalModelsPublic:
    """Registered ONNX models, with their hashes and signatures."""
    found = [ExternalModelPublic.of(m) for m in list_external_models(session, name)]
    return ExternalModelsPublic(data=found, count=len(found))


@router.get("/{model_id}", response_model=ModelPublic, responses=responses(404))
def read_model(
    session: SessionDep, model_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> ModelPublic:
    """One model version."""
    row = get_model(session, model_id)
    if row is None:
        raise NotFound("model", str(model_id))
    return ModelPublic.of(row)
