"""Routes for the audit log: filter, export (JSON Lines, CSV), verify, signed checkpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from jitgate.server.audit import service
from jitgate.server.audit.schemas import (
    AuditCheckpointPage,
    AuditCheckpointRead,
    AuditEventPage,
    AuditEventRead,
    AuditVerifyCreate,
    AuditVerifyRead,
)
from jitgate.server.pagination import MAX_LIMIT
from jitgate.server.web.deps import ReaderActor, SessionDep, app_state
from jitgate.server.web.params import AwareDateTime

router = APIRouter(prefix="/audit", tags=["audit"])


def _filter(
    *,
    action: Annotated[str | None, Query(max_length=64, examples=["request.approve"])] = None,
    actor_id: Annotated[str | None, Query(max_length=36)] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[
        AwareDateTime | None, Query(description="Events at or after this time (with offset).")
    ] = None,
    until: Annotated[
        AwareDateTime | None, Query(description="Events before this time (with offset).")
    ] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> service.AuditFilter:
    return service.AuditFilter(
        action=action,
        actor_id=actor_id,
        target_type=target_type,
        target_id=target_id,
        source=source,
        since=since,
        until=until,
        after_seq=after_seq,
    )


@router.get("/events", summary="List audit events")
def list_events(
    session: SessionDep,
    actor: ReaderActor,
    flt: Annotated[service.AuditFilter, Depends(_filter)],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> AuditEventPage:
    """Return events in sequence order after ``after_seq`` (admins and auditors)."""
    del actor
    events = service.list_events(session=session, flt=flt, limit=limit)
    items = [AuditEventRead.model_validate(e) for e in events]
    return AuditEventPage(
        items=items, next_after_seq=items[-1].seq if len(items) == limit else None
    )


@router.get(
    "/export",
    summary="Export audit events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "JSON Lines or CSV",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        }
    },
)
def export_events(
    request: Request,
    session: SessionDep,
    actor: ReaderActor,
    flt: Annotated[service.AuditFilter, Depends(_filter)],
    fmt: Annotated[Literal["jsonl", "csv"], Query(alias="format")] = "jsonl",
) -> StreamingResponse:
    """Stream every matching event as JSON Lines or CSV (admins and auditors).

    The export is the log as it stood when the request arrived; it is read a page at a time
    while the client downloads, so its size is not bounded by the server's memory.
    """
    del actor
    events = service.stream_events(
        sessions=app_state(request).sessions, flt=flt, upto_seq=service.last_seq(session=session)
    )
    if fmt == "csv":
        return StreamingResponse(
            service.export_csv(events),
            media_type="text/csv",
            headers={"content-disposition": 'attachment; filename="audit.csv"'},
        )
    return StreamingResponse(
        service.export_jsonl(events),
        media_type="application/x-ndjson",
        headers={"content-disposition": 'attachment; filename="audit.jsonl"'},
    )


def _verify_read(result: service.VerifyResult) -> AuditVerifyRead:
    return AuditVerifyRead(
        ok=result.ok,
        events=result.events,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        legacy_seq=result.legacy_seq,
        checkpoints=result.checkpoints,
    )


@router.get("/verify", summary="Verify the audit hash chain")
def verify(session: SessionDep, actor: ReaderActor) -> AuditVerifyRead:
    """Walk the chain and report the first bad sequence number, if any."""
    del actor
    return _verify_read(service.verify_chain(session=session))


@router.post("/verify", summary="Verify the audit chain against outside checkpoints")
def verify_against(
    body: AuditVerifyCreate, session: SessionDep, actor: ReaderActor
) -> AuditVerifyRead:
    """Walk the chain and hold it against checkpoints kept outside the database as well."""
    del actor
    return _verify_read(service.verify_chain(session=session, checkpoints=body.checkpoints))


@router.get("/checkpoints", summary="List signed audit checkpoints")
def list_checkpoints(
    session: SessionDep,
    actor: ReaderActor,
    after_seq: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> AuditCheckpointPage:
    """Return signed checkpoints in sequence order after ``after_seq`` (admins and auditors).

    Save them outside the database: a copy is what proves later that the log was not cut back.
    """
    del actor
    rows = service.list_checkpoints(session=session, after_seq=after_seq, limit=limit)
    items = [AuditCheckpointRead.model_validate(r) for r in rows]
    return AuditCheckpointPage(
        items=items, next_after_seq=items[-1].seq if len(items) == limit else None
    )
