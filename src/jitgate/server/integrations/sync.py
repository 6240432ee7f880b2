"""Discovery sync: apply a discover job's pages to resources and identities; schedule discovery.

The connector streams the directory in pages (``job_page``, up to 2,000 items each) before its
result; the handler reads them page by page, so a 50k-group, 100k-user tenant is upserted in
chunks with one ``SELECT … IN`` per page and kind, never as one list in memory (only the
user -> manager pairs and the memberships of interest are kept, to resolve at the end).

* groups, role definitions and administrative units are upserted as resources (flags, owners and
  tags in ``attributes`` / ``owners`` / ``tags``); users as identities (source ``entra``) of the
  reporting connector's tenant scope (``connectors.tenancy``: the tenant id the connector reports
  is pinned on its record first), matched by object id, then by UPN within that scope (a local
  identity is adopted while one connector serves every integration); a result from a connector
  that reports another tenant than it holds is refused (the integration goes to error);
* a full run marks resources of the covered types that it did not see ``removed_at``; a delta run
  applies tombstones (removed groups; removed users are disabled); role definitions and units are
  always listed in full;
* after all pages: managers resolve to identities (a manager may come on a later page), and the
  memberships of the groups of interest (the job's ``member_groups``, computed at enqueue from
  flows and integration owners; ``sync_groups``) set identities' ``groups``;
* the integration moves initializing/refreshing -> active, or warning (the connector's self-check
  reports gaps), or error (the job failed) with a message and ``last_sync_at``; one audit event
  (``integration.sync``) per run, with the counts.

The first run is full; later runs are delta runs with the stored delta links (``integration_sync``),
every ``discovery_interval``; a refresh (``refresh_integration``) asks for a full run. Every
discover job is queued here (``enqueue_discovery``, ``discovery_job``): with a protocol payload,
waking the connector's waiting claims on commit, and recorded as the integration's
(``IntegrationSync.job_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import or_, select, update

from jitgate.core.errors import Conflict
from jitgate.protocol.v1 import DiscoverData, DiscoveredItem, DiscoverPayload, ResourceType
from jitgate.server.actor import Actor
from jitgate.server.audit.operations import record_event
from jitgate.server.connectors.models import Connector
from jitgate.server.connectors.protocol.instances import connector_actor_for
from jitgate.server.connectors.tenancy import TenantScope, pin_tenant
from jitgate.server.integrations.models import Integration, IntegrationStatus, Resource
from jitgate.server.integrations.service import tenant_scope
from jitgate.server.integrations.sync_groups import apply_memberships
from jitgate.server.integrations.sync_items import (
    PeopleLinks,
    SyncCounts,
    apply_page,
    resolve_managers,
)
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import enqueue_job
from jitgate.server.jobs.service import iter_job_items, parse_payload

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.integrations.uses import IntegrationUses

SYNC = Actor.system("discovery")
ITEMS = TypeAdapter[list[DiscoveredItem]](list[DiscoveredItem])
GROUP_TYPES = ("entra-group",)
ROLE_TYPES = ("entra-role", "entra-administrative-unit")
SYNCABLE = (
    IntegrationStatus.INITIALIZING,
    IntegrationStatus.REFRESHING,
    IntegrationStatus.ACTIVE,
    IntegrationStatus.WARNING,
    IntegrationStatus.ERROR,
)


def _state(session: Session, integration_id: str) -> IntegrationSync:
    state = session.get(IntegrationSync, integration_id, with_for_update=True)
    if state is None:
        state = IntegrationSync(integration_id=integration_id)
        session.add(state)
        session.flush()
    return state


@dataclass
class _Run:
    integration: Integration
    payload: DiscoverPayload
    started: datetime
    counts: SyncCounts = field(default_factory=SyncCounts)
    links: PeopleLinks = field(default_factory=PeopleLinks)


def _finished_run(job: Job, result: JobResult) -> tuple[DiscoverPayload, DiscoverData] | str:
    """What the run asked for and found, or why there is nothing to apply (the failure shown).

    A stored payload that is not a protocol one (a job dead-lettered at its claim for it) is a
    failed run like any other: the integration shows why.
    """
    data = result.data
    if job.status is not JobStatus.SUCCEEDED or not isinstance(data, DiscoverData):
        error = result.error.message if result.error else "the connector reported no data"
        return f"discovery failed: {error}"[:2000]
    try:
        payload = parse_payload(job.kind, job.payload)
    except ValidationError as err:
        return f"discovery failed: the job's payload is not valid: {err.errors()[:3]}"[:2000]
    if not isinstance(payload, DiscoverPayload):
        return f"discovery failed: a discover job holds a {payload.kind} payload"
    return payload, data


def handle_discover_result(*, session: Session, clock: Clock, job: Job, result: JobResult) -> None:
    """Apply a finished discover job to resources, identities and the integration's status."""
    integration = (
        session.get(Integration, job.integration_id, with_for_update=True)
        if job.integration_id
        else None
    )
    if integration is None or integration.deleted_at is not None:
        return
    state = _state(session, integration.id)
    if state.job_id == job.id:
        state.job_id = None
    finished = _finished_run(job, result)
    if isinstance(finished, str):
        _finish(session, clock, integration, status=IntegrationStatus.ERROR, message=finished)
        return
    payload, data = finished
    try:
        scope = _scope(session, clock, integration, job, data)
    except Conflict as err:
        _finish(session, clock, integration, status=IntegrationStatus.ERROR, message=err.detail)
        return
    run = _Run(integration=integration, payload=payload, started=clock.now())
    if payload.member_groups is not None:
        run.links.groups = {}
    for page in _pages(session, job):
        apply_page(
            session, clock, integration, page, scope=scope, counts=run.counts, links=run.links
        )
    resolve_managers(session, scope, run.links.managers)
    if payload.member_groups is not None and run.links.groups is not None:
        changed = apply_memberships(
            session, integration, scope, payload.member_groups, run.links.groups
        )
        run.counts.seen["user.groups_changed"] += changed
    if payload.mode == "full":
        _mark_vanished(session, clock, integration, run.started, types=(*GROUP_TYPES, *ROLE_TYPES))
        state.last_full_at = run.started
    else:
        _mark_vanished(session, clock, integration, run.started, types=ROLE_TYPES)
    state.users_delta_link = data.users_delta_link
    state.groups_delta_link = data.groups_delta_link
    state.last_run_at = run.started
    status, message = _health(session, integration)
    counts = {**run.counts.as_dict(), "mode": payload.mode}
    _finish(session, clock, integration, status=status, message=message, counts=counts)


def _scope(
    session: Session, clock: Clock, integration: Integration, job: Job, data: DiscoverData
) -> TenantScope:
    """The reporting connector's tenant scope (pinning the tenant it reports), or ``Conflict``."""
    connector = session.get(Connector, job.connector_id, with_for_update=True)
    if connector is None or integration.connector_id != connector.id:
        msg = "discovery came from a connector that no longer serves this integration"
        raise Conflict(msg)
    actor = connector_actor_for(connector.id, connector.name)
    pin_tenant(
        session=session, clock=clock, actor=actor, connector=connector, reported=data.tenant_id
    )
    return tenant_scope(session, connector)


def _pages(session: Session, job: Job) -> Any:  # noqa: ANN401 - an iterator of item lists
    """Yield the job's posted items in chunks of one page (validated)."""
    chunk: list[dict[str, Any]] = []
    for item in iter_job_items(session=session, job=job):
        chunk.append(item)
        if len(chunk) >= 2000:  # noqa: PLR2004 - the protocol's page size
            yield ITEMS.validate_python(chunk)
            chunk = []
    if chunk:
        yield ITEMS.validate_python(chunk)


def _mark_vanished(
    session: Session,
    clock: Clock,
    integration: Integration,
    started: datetime,
    *,
    types: tuple[str, ...],
) -> None:
    enabled = set(integration.resource_types)
    covered = [
        t
        for t in types
        if t in enabled or (t == "entra-administrative-unit" and "entra-role" in enabled)
    ]
    if not covered:
        return
    session.execute(
        update(Resource)
        .where(
            Resource.integration_id == integration.id,
            Resource.type.in_(covered),
            Resource.removed_at.is_(None),
            Resource.last_seen_at < started,
        )
        .values(removed_at=clock.now())
        .execution_options(synchronize_session=False)
    )


def _health(session: Session, integration: Integration) -> tuple[IntegrationStatus, str | None]:
    connector = (
        session.get(Connector, integration.connector_id) if integration.connector_id else None
    )
    check = connector.self_check if connector is not None else None
    if check is not None and not check.get("ok", True):
        missing = ", ".join(str(m) for m in check.get("missing") or []) or "see the connector"
        return IntegrationStatus.WARNING, f"the connector's self-check found gaps: {missing}"[:2000]
    return IntegrationStatus.ACTIVE, None


def _finish(
    session: Session,
    clock: Clock,
    integration: Integration,
    *,
    status: IntegrationStatus,
    message: str | None,
    counts: dict[str, object] | None = None,
) -> None:
    before = {"status": str(integration.status), "status_message": integration.status_message}
    now = clock.now()
    integration.status = status
    integration.status_message = message
    integration.last_sync_at = now
    integration.updated_at = now
    session.flush()
    record_event(
        session=session,
        clock=clock,
        actor=SYNC,
        action="integration.sync",
        target_type="integration",
        target_id=integration.id,
        before=before,
        after={"status": str(status), "status_message": message},
        context=counts,
    )


def _open_discovery(session: Session, integration_id: str) -> Job | None:
    """The integration's queued or running discover job, if any (there is at most one)."""
    return session.scalars(
        select(Job).where(
            Job.integration_id == integration_id,
            Job.kind == JobKind.DISCOVER,
            Job.status.in_((JobStatus.QUEUED, JobStatus.LEASED)),
        )
    ).first()


def _enqueue(
    *,
    session: Session,
    clock: Clock,
    integration: Integration,
    connector_id: str,
    full: bool,
    uses: IntegrationUses,
) -> Job:
    """Queue one discover job and record it as the integration's (the one write of them)."""
    state = _state(session, integration.id)
    delta = not full and state.users_delta_link is not None
    payload = DiscoverPayload(
        mode="delta" if delta else "full",
        resource_types=[
            ResourceType(t)
            for t in integration.resource_types
            if t in {str(r) for r in ResourceType}
        ],
        users_delta_link=state.users_delta_link if delta else None,
        groups_delta_link=state.groups_delta_link if delta else None,
        member_groups=uses.member_groups(session),
    )
    job = enqueue_job(
        session=session,
        clock=clock,
        connector_id=connector_id,
        payload=payload,
        integration_id=integration.id,
    )
    state.job_id = job.id
    return job


def enqueue_discovery(
    *,
    session: Session,
    clock: Clock,
    integration: Integration,
    uses: IntegrationUses,
    full: bool = False,
) -> Job | None:
    """Queue a discover job (delta when links are stored) unless one is open."""
    if integration.connector_id is None or _open_discovery(session, integration.id) is not None:
        return None
    return _enqueue(
        session=session,
        clock=clock,
        integration=integration,
        connector_id=integration.connector_id,
        full=full,
        uses=uses,
    )


def discovery_job(
    *,
    session: Session,
    clock: Clock,
    integration: Integration,
    uses: IntegrationUses,
    full: bool = False,
) -> Job:
    """The integration's open discover job, else a new one (``Conflict`` without a connector)."""
    if integration.connector_id is None:
        raise Conflict("the integration has no connector")
    open_job = _open_discovery(session, integration.id)
    if open_job is not None:
        return open_job
    return _enqueue(
        session=session,
        clock=clock,
        integration=integration,
        connector_id=integration.connector_id,
        full=full,
        uses=uses,
    )


def schedule_discovery(
    *, session: Session, clock: Clock, interval: timedelta, uses: IntegrationUses
) -> list[str]:
    """Queue discovery of every integration whose last sync is older than ``interval``."""
    now = clock.now()
    due = session.scalars(
        select(Integration)
        .where(
            Integration.deleted_at.is_(None),
            Integration.connector_id.is_not(None),
            Integration.status.in_(SYNCABLE),
            or_(Integration.last_sync_at.is_(None), Integration.last_sync_at <= now - interval),
        )
        .order_by(Integration.id)
    ).all()
    jobs = []
    for integration in due:
        job = enqueue_discovery(session=session, clock=clock, integration=integration, uses=uses)
        if job is not None:
            jobs.append(job.id)
    return jobs
