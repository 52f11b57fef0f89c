"""Models: trained model files and their gate status."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from sqlmodel import col, func, select

from api.deps import SessionDep
from api.errors import NotFound, responses
from api.schemas.audits import ModelPublic, ModelsPublic
from api.schemas.common import Limit, Offset
from audit.db_models import ModelVersion

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=ModelsPublic, responses=responses())
def read_models(
    session: SessionDep,
    status: Annotated[Literal["candidate", "approved", "blocked"] | None, Query()] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> ModelsPublic:
    """Model versions, most recently updated first."""
    query = select(ModelVersion)
    counting = select(func.count()).select_from(ModelVersion)
    if status is not None:
        query = query.where(ModelVersion.status == status)
        counting = counting.where(ModelVersion.status == status)
    rows = session.exec(
        query.order_by(col(ModelVersion.updated_at).desc(), col(ModelVersion.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return ModelsPublic(
        data=[ModelPublic.of(r) for r in rows], count=int(session.exec(counting).one())
    )


@router.get("/{model_id}", response_model=ModelPublic, responses=responses(404))
def read_model(
    session: SessionDep, model_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> ModelPublic:
    """One model version."""
    row = session.get(ModelVersion, model_id)
    if row is None:
        raise NotFound("model", str(model_id))
    return ModelPublic.of(row)
