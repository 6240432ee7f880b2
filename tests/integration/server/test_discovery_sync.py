"""Discovery sync: pages of items -> resources and identities; integration status; scheduling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import CONNECTOR, events
from factories import make_integration
from jitgate.protocol.v1 import (
    DiscoverData,
    DiscoveredAdministrativeUnit,
    DiscoveredGroup,
    DiscoveredRole,
    DiscoveredUser,
    JobError,
    JobResult,
    Outcome,
    RemovedObject,
)
from jitgate.server.connectors.models import Connector
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import IntegrationStatus, Resource
from jitgate.server.integrations.sync import enqueue_discovery, schedule_discovery
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.jobs.handlers import default_registry
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import claim_jobs
from jitgate.server.jobs.results import report_job_result, store_job_page

USERS = [
    DiscoveredUser(id="u-boss", user_principal_name="Boss@contoso.example", display_name="Boss"),
    DiscoveredUser(
        id="u-ann",
        user_principal_name="ann@contoso.example",
        mail="Ann@contoso.example",
        manager_id="u-boss",
    ),
]
GROUP = DiscoveredGroup(
    id="g-fin",
    display_name="Finance",
    is_assignable_to_role=True,
    group_types=["Unified"],
    owners=["u-boss"],
    tags={"env": "prod"},
)
ROLE = DiscoveredRole(id="r-ga", display_name="Global Administrator", template_id="62e9")
UNIT = DiscoveredAdministrativeUnit(id="au-1", display_name="Europe")


def _run(sessions, clock, integration, pages, result=None):
    """Claim the integration's discover job, post ``pages`` and report ``result``."""
    handlers = default_registry()
    with sessions() as s:
        [job] = [
            j
            for j in claim_jobs(
                session=s,
                clock=clock,
                handlers=handlers,
                connector_id=integration.connector_id,
                instance_key="i1",
                max_jobs=10,
            )
            if j.kind is JobKind.DISCOVER
        ]
        for number, items in enumerate(pages):
            store_job_page(
                session=s,
                clock=clock,
                connector_id=integration.connector_id,
                instance_key="i1",
                job_id=job.id,
                lease_token=job.lease_token,
                page=number,
                items=items,
            )
        result = result or JobResult(
            outcome=Outcome.SUCCEEDED,
            data=DiscoverData(
                pages=len(pages),
                users_delta_link="users-delta-1",
                groups_delta_link="groups-delta-1",
            ),
        )
        report_job_result(
            session=s,
            clock=clock,
            actor=CONNECTOR,
            handlers=handlers,
            connector_id=integration.connector_id,
            instance_key="i1",
            job_id=job.id,
            lease_token=job.lease_token,
            result=result,
        )
        s.commit()
    return job


def test_full_sync_upserts_and_activates(session, sessions, clock):
    integration = make_integration(session, clock)
    assert integration.status is IntegrationStatus.INITIALIZING
    _run(sessions, clock, integration, [[*USERS, GROUP], [ROLE, UNIT]])
    session.expire_all()
    assert integration.status is IntegrationStatus.ACTIVE
    assert integration.last_sync_at == clock.now()
    group = session.scalars(select(Resource).where(Resource.external_id == "g-fin")).one()
    assert group.attributes["is_assignable_to_role"] is True
    assert group.attributes["dynamic"] is False
    assert (group.owners, group.tags) == (["u-boss"], {"env": "prod"})
    types = set(
        session.scalars(select(Resource.type).where(Resource.integration_id == integration.id))
    )
    assert types == {"entra-group", "entra-role", "entra-administrative-unit"}
    ann = session.scalars(select(Identity).where(Identity.object_id == "u-ann")).one()
    boss = session.scalars(select(Identity).where(Identity.object_id == "u-boss")).one()
    assert (ann.upn, ann.mail, ann.manager_id, ann.source) == (
        "ann@contoso.example",
        "ann@contoso.example",
        boss.id,
        "entra",
    )
    state = session.get(IntegrationSync, integration.id)
    assert state.users_delta_link == "users-delta-1"
    [event] = events(session, "integration.sync")
    assert event.after["status"] == "active"


def test_vanished_resources_are_marked_and_delta_uses_links(session, sessions, clock):
    integration = make_integration(session, clock)
    _run(sessions, clock, integration, [[*USERS, GROUP, ROLE]])
    clock.advance(timedelta(hours=1))
    job = enqueue_discovery(session=session, clock=clock, integration=integration, full=True)
    session.commit()
    assert job.payload["mode"] == "full"
    _run(sessions, clock, integration, [[*USERS, ROLE]])
    session.expire_all()
    group = session.scalars(select(Resource).where(Resource.external_id == "g-fin")).one()
    assert group.removed_at == clock.now()
    clock.advance(timedelta(hours=1))
    assert schedule_discovery(session=session, clock=clock, interval=timedelta(hours=1))
    session.commit()
    delta = session.scalars(
        select(Job).where(Job.kind == JobKind.DISCOVER, Job.status == JobStatus.QUEUED)
    ).one()
    assert (delta.payload["mode"], delta.payload["users_delta_link"]) == ("delta", "users-delta-1")
    tomb = RemovedObject(id="u-ann", object_type="user")
    _run(sessions, clock, integration, [[GROUP, tomb]])
    session.expire_all()
    assert group.removed_at is None, "seen again"
    ann = session.scalars(select(Identity).where(Identity.object_id == "u-ann")).one()
    assert ann.account_enabled is False
    assert schedule_discovery(session=session, clock=clock, interval=timedelta(hours=1)) == []


def test_failed_discovery_is_an_error_and_self_check_gaps_a_warning(session, sessions, clock):
    integration = make_integration(session, clock)
    failure = JobResult(
        outcome=Outcome.FAILED, error=JobError(code="Forbidden", message="no Directory.Read.All")
    )
    _run(sessions, clock, integration, [], failure)
    session.expire_all()
    assert integration.status is IntegrationStatus.ERROR
    assert "no Directory.Read.All" in integration.status_message
    connector = session.get(Connector, integration.connector_id)
    connector.self_check = {"ok": False, "missing": ["RoleManagement.ReadWrite.Directory"]}
    enqueue_discovery(session=session, clock=clock, integration=integration)
    session.commit()
    _run(sessions, clock, integration, [USERS])
    session.expire_all()
    assert integration.status is IntegrationStatus.WARNING
    assert "RoleManagement.ReadWrite.Directory" in integration.status_message
