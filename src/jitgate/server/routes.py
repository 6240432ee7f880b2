"""All API routers, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from jitgate.server.audit.api import router as audit_router
from jitgate.server.catalog.api import router as catalog_router
from jitgate.server.connectors.api import router as connectors_router
from jitgate.server.flows.api import router as flows_router
from jitgate.server.grants.api import router as grants_router
from jitgate.server.identities.api import router as identities_router
from jitgate.server.integrations.api import router as integrations_router
from jitgate.server.requests.api import router as requests_router
from jitgate.server.web.state import API_PREFIX

api_router = APIRouter(prefix=API_PREFIX)
for router in (
    identities_router,
    audit_router,
    catalog_router,
    connectors_router,
    integrations_router,
    flows_router,
    requests_router,
    grants_router,
):
    api_router.include_router(router)
