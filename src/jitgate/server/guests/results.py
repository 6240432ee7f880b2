"""Result handlers of ``invite_guest`` and ``delete_user`` jobs (``handlers`` registers them).

Called in the transaction that finishes the job, after the job row is updated; idempotent.

* An invitation that succeeded stores the user's object id on the identity and marks the
  waiting grants due (the loop's focused tick grants them at once). Only a guest the invitation
  *created* gets an ``invited_guest`` row; a user that already had the mail is reused and never
  deleted by jitgate. One ``guest.invite`` audit event either way. An invitation that failed
  fails its waiting grants with Graph's reason. The identity joins the tenant scope of the
  connector that invited it (``connectors.tenancy``); an object id another identity holds (in any
  tenant), or an identity of another tenant, fails the waiting grants instead.
* A deletion that succeeded (404 included: the user is already gone) marks the row deleted,
  clears the object id (and the tenant scope) from the identity and writes ``guest.delete``. A
  failed one changes nothing: the cleanup step tries again later.

Lock order (``jitgate.server.requests.granting``): the caller holds the job row; an invitation
locks the requests of its grants, then the identity; a deletion locks the ``invited_guest`` row,
then the identity.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import Conflict
from jitgate.protocol.v1 import (
    DeleteUserData,
    DeleteUserPayload,
    InviteGuestData,
    InviteGuestPayload,
)
from jitgate.server.actor import RECONCILER
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.tenancy import scope_of
from jitgate.server.grants.due import mark_due
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.guests.models import InvitedGuest
from jitgate.server.identities.models import Identity
from jitgate.server.jobs.models import JobStatus
from jitgate.server.jobs.service import parse_payload
from jitgate.server.requests.granting import fail_grant, lock_requests_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.jobs.models import Job

log = logging.getLogger(__name__)


def _pending(session: Session, grant_ids: list[str]) -> list[Grant]:
    if not grant_ids:
        return []
    rows = session.scalars(select(Grant).where(Grant.id.in_(grant_ids)).order_by(Grant.id))
    return [g for g in rows if g.status is GrantStatus.PENDING]


def _fail_all(session: Session, clock: Clock, grants: list[Grant], error: str) -> None:
    for grant in grants:
        session.refresh(grant)
        if grant.status is not GrantStatus.PENDING:
            continue  # ended with another grant of its request
        try:
            with session.begin_nested():
                fail_grant(
                    session=session, clock=clock, grant_id=grant.id, error=error, actor=RECONCILER
                )
        except Conflict:
            continue


def _error(result: JobResult) -> str:
    if result.error is None:
        return "the connector reported no result data"
    return f"{result.error.code}: {result.error.message}"


def handle_invite_guest_result(
    *, session: Session, clock: Clock, job: Job, result: JobResult
) -> None:
    """An invitation ended: give the identity its object id (and a row if created), or fail."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, InviteGuestPayload):
        return
    lock_requests_of(session, payload.grant_ids)
    grants = _pending(session, payload.grant_ids)
    data = result.data
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, InviteGuestData):
        why = f"inviting {payload.email} as a guest failed: {_error(result)}"
        _fail_all(session, clock, grants, why)
        return
    identity = session.get(Identity, payload.identity_id, with_for_update=True)
    if identity is None:
        return
    connector = session.get(Connector, job.connector_id)
    tenant = scope_of(connector) if connector is not None else None
    if identity.tenant_id is not None and identity.tenant_id != tenant:
        why = f"{payload.email} is an identity of another tenant; it is not invited here"
        _fail_all(session, clock, grants, why)
        return
    # any tenant's: an object id is unique across tenants, another tenant's is never taken over
    holder = session.scalars(select(Identity).where(Identity.object_id == data.user_id)).first()
    if holder is not None and holder.id != identity.id:
        why = f"the user {data.user_id} invited for {payload.email} is identity {holder.upn!r}"
        _fail_all(session, clock, grants, why)
        return
    now = clock.now()
    before = identity.object_id
    if identity.object_id is None:
        identity.object_id, identity.updated_at = data.user_id, now
        identity.tenant_id = tenant
    recorded = data.created and identity.object_id == data.user_id
    if recorded and job.integration_id is not None:
        session.add(
            InvitedGuest(
                identity_id=identity.id,
                integration_id=job.integration_id,
                entra_user_id=data.user_id,
                invited_at=now,
                invite_job_id=job.id,
            )
        )
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=RECONCILER,
        action="guest.invite",
        target_type="identity",
        target_id=identity.id,
        before={"object_id": before},
        after={
            "object_id": identity.object_id,
            "created": data.created,
            "recorded": recorded,
            "integration_id": job.integration_id,
        },
        context={"job_id": job.id, "request_ids": list(data.request_ids)},
    )
    mark_due(session, grants)


def handle_delete_user_result(
    *, session: Session, clock: Clock, job: Job, result: JobResult
) -> None:
    """A deletion ended: the invited guest is gone (already gone too), or it is tried later."""
    payload = parse_payload(job.kind, job.payload)
    if not isinstance(payload, DeleteUserPayload):
        return
    data = result.data
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, DeleteUserData):
        log.warning("guest deletion failed; tried again later", extra={"job_id": job.id})
        return
    guest = session.scalars(
        select(InvitedGuest).where(InvitedGuest.delete_job_id == job.id).with_for_update()
    ).one_or_none()
    if guest is None or guest.deleted_at is not None:
        return
    identity = session.get(Identity, guest.identity_id, with_for_update=True)
    now = clock.now()
    guest.deleted_at = now
    if identity is not None and identity.object_id == guest.entra_user_id:
        identity.object_id, identity.updated_at = None, now
        identity.tenant_id = None
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=RECONCILER,
        action="guest.delete",
        target_type="identity",
        target_id=guest.identity_id,
        before={"entra_user_id": guest.entra_user_id},
        after={"deleted_at": now.isoformat(), "outcome": str(data.outcome)},
        context={"job_id": job.id, "request_ids": list(data.request_ids)},
    )
