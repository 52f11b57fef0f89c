"""Models: trained model files and their gate status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import SessionDep
from api.errors import NotFound, responses
from api.schemas.audits import ModelPublic, ModelsPublic
from api.schemas.common import Limit, Offset
from audit.db_models import ModelStatus
from audit.service import get_model, list_models

router = APIRouter(prefix="/models", tags=["models"])


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


@router.get("/{model_id}", response_model=ModelPublic, responses=responses(404))
def read_model(
    session: SessionDep, model_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> ModelPublic:
    """One model version."""
    row = get_model(session, model_id)
    if row is None:
        raise NotFound("model", str(model_id))
    return ModelPublic.of(row)
