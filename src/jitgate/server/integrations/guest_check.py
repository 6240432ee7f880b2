"""The guest permissions a connector needs: a self-check job when its integrations need them.

A self-check job with the guest permissions (``User.Invite.All``, ``User.DeleteRestore.All``) is
queued for a connector whose integrations invite guests or clean them up: when such a setting
(or the integration's connector) changes, and after an agent's start check (the connector
protocol calls ``queue_guest_self_check`` through the ``JobsRuntime`` the app gives it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from jitgate.protocol.v1 import GrantMode, ResourceType, SelfCheckPayload
from jitgate.server.integrations.models import Integration
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import enqueue_job

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock

OPEN_JOB = (JobStatus.QUEUED, JobStatus.LEASED)


def guest_self_check(session: Session, connector_id: str) -> SelfCheckPayload | None:
    """The self-check a connector needs when its integrations invite or delete guests."""
    integrations = list(
        session.scalars(
            select(Integration).where(
                Integration.connector_id == connector_id, Integration.deleted_at.is_(None)
            )
        )
    )
    invite = any(i.invite_guests for i in integrations)
    delete = any(i.user_cleanup_days is not None for i in integrations)
    if not (invite or delete):
        return None
    types = sorted({t for i in integrations for t in i.resource_types})
    pim = any(i.grant_mode is GrantMode.PIM for i in integrations)
    return SelfCheckPayload(
        resource_types=[ResourceType(t) for t in types if t in {r.value for r in ResourceType}],
        grant_mode=GrantMode.PIM if pim else GrantMode.DIRECT,
        invite_guests=invite,
        delete_users=delete,
    )


def queue_guest_self_check(session: Session, clock: Clock, connector_id: str) -> Job | None:
    """Queue a self-check with the guest permissions, unless none are needed or one is open."""
    payload = guest_self_check(session, connector_id)
    if payload is None:
        return None
    pending = session.scalars(
        select(Job.id).where(
            Job.connector_id == connector_id,
            Job.kind == JobKind.SELF_CHECK,
            Job.status.in_(OPEN_JOB),
        )
    ).first()
    if pending is not None:
        return None
    return enqueue_job(session=session, clock=clock, connector_id=connector_id, payload=payload)
