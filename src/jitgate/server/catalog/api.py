"""Routes of the catalog: integration types and their config metadata (any signed-in user)."""

from __future__ import annotations

from fastapi import APIRouter

from jitgate.server.catalog.registry import get_integration_type, list_integration_types
from jitgate.server.catalog.schemas import IntegrationTypeRead
from jitgate.server.web.deps import ActorDep

router = APIRouter(tags=["catalog"])


@router.get("/catalog", summary="List integration types")
def list_catalog(actor: ActorDep) -> list[IntegrationTypeRead]:
    """Return every integration type with its Integration Config Metadata."""
    del actor
    return [IntegrationTypeRead.of(t) for t in list_integration_types()]


@router.get("/catalog/{type_id}", summary="Get an integration type")
def get_catalog_type(actor: ActorDep, type_id: str) -> IntegrationTypeRead:
    """Return one integration type's config metadata: every parameter and its limits."""
    del actor
    return IntegrationTypeRead.of(get_integration_type(type_id))
