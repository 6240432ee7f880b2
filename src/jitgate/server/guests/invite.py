"""The reconciler step for grantees without an Entra object id: invite them, or fail the grant.

A grant is made to a principal's object id. An identity jitgate knows only by mail (a local
identity, someone ``request_for`` named from outside the tenant) has none. When the grant's
integration has ``invite_guests`` on, the tick queues one ``invite_guest`` job for the identity
(at grant priority) and leaves the grant pending; the job's result stores the guest's object id on
the identity (``guests.results``) and marks the grant due, so the next (focused) tick grants it.
Without ``invite_guests`` the grant fails with a message that says so.

The self-check job with the guest permissions a connector's integrations need is the
integrations area's (``integrations.guest_check``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.core.errors import Conflict
from jitgate.protocol.v1 import InviteGuestPayload
from jitgate.server.actor import RECONCILER
from jitgate.server.catalog.registry import DEFAULT_INVITE_REDIRECT_URL
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import enqueue_job
from jitgate.server.jobs.service import parse_payload
from jitgate.server.requests.granting import fail_grant

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

OPEN_JOB = (JobStatus.QUEUED, JobStatus.LEASED)


@dataclass
class GuestStep:
    """What the step did: grants failed (with why), invitations queued, identities waiting."""

    failed: dict[str, str] = field(default_factory=dict)
    invite_jobs: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)


def invite_address(identity: Identity) -> str | None:
    """The mail address to invite the identity with, if jitgate knows one."""
    for value in (identity.mail, identity.upn):
        if value and "@" in value and "#EXT#" not in value.upper():
            return value.strip().lower()
    return None


def open_invitations(session: Session) -> set[str]:
    """Identity ids with an ``invite_guest`` job queued or running."""
    rows = session.scalars(
        select(Job).where(Job.kind == JobKind.INVITE_GUEST, Job.status.in_(OPEN_JOB))
    )
    waiting: set[str] = set()
    for job in rows:
        payload = parse_payload(job.kind, job.payload)
        if isinstance(payload, InviteGuestPayload):
            waiting.add(payload.identity_id)
    return waiting


def _why_not(integration: Integration, identity: Identity) -> str | None:
    if not integration.invite_guests:
        return (
            f"the identity {identity.upn!r} has no Entra object id and integration "
            f"{integration.name!r} does not invite guests (invite_guests is off); "
            "it cannot be granted"
        )
    if integration.connector_id is None:
        return f"integration {integration.name!r} has no connector to invite the guest"
    if invite_address(identity) is None:
        return (
            f"the identity {identity.upn!r} has no Entra object id and no mail address to "
            "invite as a guest; it cannot be granted"
        )
    return None


def _fail(session: Session, clock: Clock, grant_id: str, error: str) -> bool:
    grant = session.get(Grant, grant_id)
    if grant is None or grant.status is not GrantStatus.PENDING:
        return False  # e.g. failed with another grant of its request a moment ago
    try:
        with session.begin_nested():
            fail_grant(
                session=session, clock=clock, grant_id=grant_id, error=error, actor=RECONCILER
            )
    except Conflict:
        return False
    return True


def invite_or_fail(
    *, session: Session, clock: Clock, grant_ids: Sequence[str], dry_run: bool
) -> GuestStep:
    """Queue an invitation per identity for these grants (pending, no object id), or fail them."""
    step = GuestStep()
    if not grant_ids:
        return step
    rows = session.execute(
        select(Grant, Identity, Integration)
        .join(Identity, Identity.id == Grant.identity_id)
        .join(Integration, Integration.id == Grant.integration_id)
        .where(Grant.id.in_(sorted(grant_ids)))
        .order_by(Grant.id)
    ).all()
    invited = open_invitations(session)
    wanted: dict[tuple[str, str], list[str]] = {}
    people: dict[tuple[str, str], tuple[Identity, Integration]] = {}
    for grant, identity, integration in rows:
        why = _why_not(integration, identity)
        if why is not None:
            if dry_run or _fail(session, clock, grant.id, why):
                step.failed[grant.id] = why
            continue
        if identity.id in invited:
            step.waiting.append(grant.id)
            continue
        wanted.setdefault((identity.id, integration.id), []).append(grant.id)
        people[identity.id, integration.id] = (identity, integration)
    for (identity_id, integration_id), ids in sorted(wanted.items()):
        if identity_id in invited:  # one invitation per identity, whatever the integration
            step.waiting += ids
            continue
        identity, integration = people[identity_id, integration_id]
        invited.add(identity_id)
        if dry_run:
            step.invite_jobs.append(f"dry-run:{identity_id}")
            continue
        payload = InviteGuestPayload(
            email=invite_address(identity) or "",
            display_name=identity.display_name or None,
            redirect_url=integration.invite_redirect_url or DEFAULT_INVITE_REDIRECT_URL,
            identity_id=identity.id,
            grant_ids=ids,
        )
        job = enqueue_job(
            session=session,
            clock=clock,
            connector_id=integration.connector_id or "",
            payload=payload,
            integration_id=integration.id,
        )
        step.invite_jobs.append(job.id)
    return step
