"""What the reconciler plans over: due grants, applied memberships, standing rows, open jobs.

"What is due" is indexed: pending grants by ``status`` + ``starts_at``, ending grants by
``status``, applied memberships no live grant covers (and unapplied ones a live grant wants, and
``pim`` ones a live grant outlasts: an extension) by ``ix_membership_applied``. Only the keys
those touch are loaded, with every not-ended grant on them (overlapping grants, invariant 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime  # noqa: TC003 - a dataclass field type
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, or_, select

from jitgate.protocol.v1 import GrantMode
from jitgate.server.grants.keys import InFlightJob, MembershipKey
from jitgate.server.grants.models import Grant, Membership, StandingMembership
from jitgate.server.grants.states import GrantStatus
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Integration, MembershipMode
from jitgate.server.integrations.sync_models import ResourceSync
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.reconciler.blocked import is_blocked
from jitgate.server.reconciler.plan import GrantView

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from sqlalchemy.orm import Session

OPEN_JOB = (JobStatus.QUEUED, JobStatus.LEASED)
NOT_ENDED = (GrantStatus.PENDING, GrantStatus.ACTIVE, GrantStatus.REVOKING)
CHUNK = 500


@dataclass
class World:
    """Everything one tick plans over."""

    grants: list[GrantView] = field(default_factory=list)
    actual: set[MembershipKey] = field(default_factory=set)
    standing: set[MembershipKey] = field(default_factory=set)
    inflight: dict[MembershipKey, InFlightJob] = field(default_factory=dict)
    #: The expiry Entra holds for applied keys (``pim`` mode, where known).
    applied_ends: dict[MembershipKey, datetime] = field(default_factory=dict)
    pim_integrations: frozenset[str] = frozenset()
    #: Applied keys whose removal Graph refused for good, left alone until their retry time.
    blocked: set[MembershipKey] = field(default_factory=set)
    #: Pending, due grants whose identity has no Entra object id: they cannot be granted.
    unresolvable: list[str] = field(default_factory=list)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def live_grant_clause(now: datetime) -> object:
    """SQL: the grant is in force at ``now``."""
    return and_(
        Grant.status.in_((GrantStatus.PENDING, GrantStatus.ACTIVE)),
        Grant.ended_at.is_(None),
        Grant.starts_at <= now,
        or_(Grant.ends_at.is_(None), Grant.ends_at > now),
    )


def key_of(row: Membership | StandingMembership) -> MembershipKey:
    """The key of a membership or standing row."""
    return MembershipKey(
        row.integration_id, row.resource_id, row.permission, row.scope, row.principal_id
    )


def _due_resource_ids(session: Session, now: datetime, limit: int) -> set[str]:
    pending = select(Grant.resource_id).where(
        Grant.status == GrantStatus.PENDING, Grant.starts_at <= now
    )
    ending = select(Grant.resource_id).where(Grant.status == GrantStatus.REVOKING)
    covered = (
        select(Grant.id)
        .join(Identity, Identity.id == Grant.identity_id)
        .where(
            Grant.resource_id == Membership.resource_id,
            Grant.permission == Membership.permission,
            Grant.scope == Membership.scope,
            Identity.object_id == Membership.principal_id,
            live_grant_clause(now),  # type: ignore[arg-type]
        )
    )
    orphaned = select(Membership.resource_id).where(Membership.applied.is_(True), ~exists(covered))
    # e.g. removed by hand (drift) while a grant still wants it: granted again
    missing = select(Membership.resource_id).where(Membership.applied.is_(False), exists(covered))
    # pim: a live grant ends after the expiry Entra holds (an extension): the expiry moves
    outlasted = (
        select(Membership.resource_id)
        .join(Integration, Integration.id == Membership.integration_id)
        .where(
            Membership.applied.is_(True),
            Membership.applied_ends_at.is_not(None),
            Integration.grant_mode == GrantMode.PIM,
            exists(covered.where(Grant.ends_at > Membership.applied_ends_at)),
        )
    )
    ids: set[str] = set()
    for query in (pending, ending, orphaned, missing, outlasted):
        ids.update(session.scalars(query.distinct().limit(limit)))
    return ids


@dataclass(frozen=True, slots=True)
class Focus:
    """Only these keys: the resources x identities an operation just changed (a focused tick).

    Every grant and membership of a focused key is loaded, so the plan of each key is the same
    as a full tick's; keys outside the focus are left to the next full tick.
    """

    resource_ids: frozenset[str]
    identity_ids: frozenset[str]

    def principal_ids(self, session: Session) -> set[str]:
        """The Entra object ids of the focused identities."""
        rows = session.scalars(
            select(Identity.object_id).where(
                Identity.id.in_(sorted(self.identity_ids)), Identity.object_id.is_not(None)
            )
        )
        return {oid for oid in rows if oid is not None}


def load_world(
    session: Session, now: datetime, *, limit: int = 5000, focus: Focus | None = None
) -> World:
    """Load the grants, memberships, standing rows and open jobs of every due (or focused) key."""
    world = World()
    if focus is None:
        resource_ids = sorted(_due_resource_ids(session, now, limit))
        principals: set[str] | None = None
    else:
        resource_ids = sorted(focus.resource_ids)
        principals = focus.principal_ids(session)
    integration_ids: set[str] = set()
    for chunk in _chunks(resource_ids):
        _load_grants(session, now, chunk, world, focus)
        members = select(Membership).where(Membership.resource_id.in_(chunk))
        if principals is not None:
            members = members.where(Membership.principal_id.in_(sorted(principals)))
        for m in session.scalars(members):
            integration_ids.add(m.integration_id)
            if m.applied:
                world.actual.add(key_of(m))
                if m.applied_ends_at is not None:
                    world.applied_ends[key_of(m)] = m.applied_ends_at
                if is_blocked(m, now):
                    world.blocked.add(key_of(m))
            if m.job_id is not None and m.job_kind is not None:
                world.inflight[key_of(m)] = InFlightJob(m.job_kind)
        _load_verifies(session, chunk, world)
        _load_standing(session, chunk, world)
    integration_ids |= {g.key.integration_id for g in world.grants}
    _drop_closed_jobs(session, world)
    world.pim_integrations = frozenset(
        session.scalars(
            select(Integration.id).where(
                Integration.id.in_(integration_ids), Integration.grant_mode == GrantMode.PIM
            )
        )
    )
    return world


def _load_grants(
    session: Session, now: datetime, chunk: Sequence[str], world: World, focus: Focus | None
) -> None:
    query = (
        select(Grant, Identity.object_id)
        .join(Identity, Identity.id == Grant.identity_id)
        .where(Grant.resource_id.in_(chunk), Grant.status.in_(NOT_ENDED))
        .order_by(Grant.id)
    )
    if focus is not None:
        query = query.where(Grant.identity_id.in_(sorted(focus.identity_ids)))
    rows = session.execute(query)
    for grant, object_id in rows:
        if object_id is None:
            if grant.status is GrantStatus.PENDING and grant.starts_at <= now:
                world.unresolvable.append(grant.id)
            continue
        key = MembershipKey(
            grant.integration_id, grant.resource_id, grant.permission, grant.scope, object_id
        )
        world.grants.append(
            GrantView(
                id=grant.id,
                key=key,
                status=grant.status,
                starts_at=grant.starts_at,
                ends_at=grant.ends_at,
                ended_at=grant.ended_at,
                end_reason=grant.end_reason,
            )
        )


def _load_standing(session: Session, chunk: Sequence[str], world: World) -> None:
    rows = session.execute(
        select(StandingMembership, Integration.membership_mode)
        .join(Integration, Integration.id == StandingMembership.integration_id)
        .where(StandingMembership.resource_id.in_(chunk), StandingMembership.removed_at.is_(None))
    )
    for row, mode in rows:
        if mode is MembershipMode.ADDITIVE or row.allowed:
            world.standing.add(key_of(row))


def _load_verifies(session: Session, chunk: Sequence[str], world: World) -> None:
    """A key whose resource has an open membership read counts as being verified."""
    reads = session.execute(
        select(ResourceSync.resource_id, ResourceSync.permission, ResourceSync.scope)
        .join(Job, Job.id == ResourceSync.job_id)
        .where(ResourceSync.resource_id.in_(chunk), Job.status.in_(OPEN_JOB))
    ).all()
    verifying = {(r, p, s) for r, p, s in reads}
    for key in world.actual | {g.key for g in world.grants}:
        triple = (key.resource_id, key.permission, key.scope)
        if triple in verifying and key not in world.inflight:
            world.inflight[key] = InFlightJob.VERIFY


def _drop_closed_jobs(session: Session, world: World) -> None:
    """Forget ``job_id`` links whose jobs already finished (their handler cleared or died)."""
    tracked = [k for k, sort in world.inflight.items() if sort is not InFlightJob.VERIFY]
    if not tracked:
        return
    rows = session.execute(
        select(Membership, Job.status)
        .outerjoin(Job, Job.id == Membership.job_id)
        .where(
            Membership.job_id.is_not(None),
            Membership.resource_id.in_({k.resource_id for k in tracked}),
        )
    )
    for membership, status in rows:
        if status not in OPEN_JOB:
            world.inflight.pop(key_of(membership), None)
