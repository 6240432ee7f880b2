"""The server's ASGI app: ``create_app(settings)`` builds everything; nothing at import time."""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import FastAPI, Request

import jitgate
from jitgate.core.clock import Clock, SystemClock
from jitgate.core.db import READ_ONLY, make_engine, make_session_factory
from jitgate.core.logging import request_id_var
from jitgate.server.audit.keys import bind_key_ring, load_ring
from jitgate.server.connectors.protocol.api import install_connector_api
from jitgate.server.connectors.protocol.deps import check_connector_request
from jitgate.server.connectors.protocol.runtime import JobsRuntime
from jitgate.server.handlers import default_registry
from jitgate.server.identities.tokens import API_TOKENS
from jitgate.server.integrations.guest_check import queue_guest_self_check
from jitgate.server.integrations.service import INTEGRATION_FACTS
from jitgate.server.metrics import install_metrics
from jitgate.server.portal.install import install_portal
from jitgate.server.reconciler.loop import ReconcilerLoop
from jitgate.server.reconciler.tick import ReconcilerConfig
from jitgate.server.requests.integration_uses import INTEGRATION_USES
from jitgate.server.routes import api_router
from jitgate.server.web.admission import Admission, LaneCollector, Lanes
from jitgate.server.web.apidocs import install_api_docs
from jitgate.server.web.authfirst import AuthFirst
from jitgate.server.web.headers import SecurityHeaders
from jitgate.server.web.limits import BodyLimits
from jitgate.server.web.problems import (
    PROBLEM_JSON,
    PROBLEM_SCHEMA,
    install_problem_handlers,
)
from jitgate.server.web.state import AppState
from jitgate.server.web.throttle import install_auth_throttle

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from sqlalchemy.orm import Session, sessionmaker
    from starlette.responses import Response

    from jitgate.core.settings import Settings

log = logging.getLogger("jitgate.http")
#: Worker threads beyond the lanes: dependencies of refused requests, the metrics scrape.
SPARE_THREADS = 8

DESCRIPTION = """\
jitgate gives people temporary membership of Microsoft Entra groups and temporary Entra
directory-role assignments. Access flows decide who may request what, who approves and for how
long; a connector inside your network makes the change through Microsoft Graph and removes it
when the time is up. Every change is audited.

Authenticate with an API token: `Authorization: Bearer jg_at_…`. Errors are RFC 9457
`application/problem+json` documents.
"""


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    sessions: sessionmaker[Session] | None = None,
    run_reconciler: bool = False,
) -> FastAPI:
    """Build the server app; tests pass their own clock and session factory.

    ``run_reconciler`` starts the reconciler loop in the lifespan (``jitgate server`` passes
    ``settings.reconciler_enabled``; tests leave it off and tick by hand).
    """
    if sessions is None:
        engine = make_engine(
            settings.resolved_database_url(),
            pool_size=settings.pool_size(),
            slow_tx_s=settings.db_slow_tx_s,
        )
        bind_key_ring(engine, load_ring(settings))
        sessions = make_session_factory(engine)
    clock = clock or SystemClock()
    lanes = Lanes.from_settings(settings)
    loop = ReconcilerLoop(
        sessions=sessions,
        clock=clock,
        config=ReconcilerConfig.from_settings(settings),
        interval_s=settings.reconcile_interval_s,
        gate=lambda: lanes.write.hold(priority=True),  # never behind the API's queue
    )
    if run_reconciler:
        loop.attach(sessions)  # approvals and revocations are planned as soon as they commit

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, lanes.threads_needed + SPARE_THREADS)
        if run_reconciler:
            loop.start()
        try:
            yield
        finally:
            await loop.stop()
            if portal.oidc is not None:
                portal.oidc.close()

    app = FastAPI(
        lifespan=lifespan,
        title="jitgate",
        version=jitgate.__version__,
        description=DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served offline by web.apidocs, with its own CSP
        redoc_url=None,
        responses={
            "default": {
                "description": "An RFC 9457 problem",
                "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
            }
        },
    )
    app.state.jitgate = AppState(
        settings=settings, clock=clock, sessions=sessions, tokens=API_TOKENS
    )
    app.state.reconciler = loop
    app.state.integration_uses = INTEGRATION_USES
    app.state.lanes = lanes
    install_problem_handlers(app)
    app.add_middleware(
        BodyLimits,
        default_limit=settings.request_body_limit_bytes,
        connector_limit=settings.connector_body_limit_bytes,
    )
    # Added after BodyLimits, so it runs first: a token is checked before any body byte is read.
    app.add_middleware(AuthFirst, check_connector=check_connector_request)
    # Outside both: a request waits for its lane before it uses a thread (the token check too).
    app.add_middleware(Admission, lanes=lanes)
    app.middleware("http")(_request_context)
    app.add_middleware(SecurityHeaders)
    install_api_docs(app)
    app.include_router(api_router)
    portal = install_portal(app, settings)
    handlers = default_registry(
        late_write_window=timedelta(seconds=settings.late_write_window_s),
        full_read_every=timedelta(seconds=settings.drift_full_read_interval_s),
    )
    install_connector_api(
        app,
        sessions,
        JobsRuntime(
            handlers=handlers,
            integrations=INTEGRATION_FACTS,
            after_start_check=queue_guest_self_check,
        ),
    )
    metrics = install_metrics(app, settings=settings, sessions=sessions, clock=clock)
    metrics.registry.register(LaneCollector(lanes))
    install_auth_throttle(app, settings=settings, clock=clock, registry=metrics.registry)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:  # on the event loop: no thread, no lane, no database
        return {"status": "ok"}

    return app


async def _request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    incoming = request.headers.get("x-request-id", "")
    rid = incoming if 0 < len(incoming) <= 64 and incoming.isascii() else uuid.uuid4().hex  # noqa: PLR2004
    token = request_id_var.set(rid)
    # GET/HEAD only read: their transactions never take SQLite's write lock (core.db.READ_ONLY)
    reading = READ_ONLY.set(request.method in {"GET", "HEAD"})
    started = time.perf_counter()
    try:
        response = await call_next(request)
    finally:
        READ_ONLY.reset(reading)
        request_id_var.reset(token)
    response.headers["x-request-id"] = rid
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - started) * 1000, 1),
            "request_id": rid,
        },
    )
    return response
