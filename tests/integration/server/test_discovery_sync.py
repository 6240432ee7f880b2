"""Discovery sync: pages of items -> resources and identities; integration status; scheduling."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine_world import CONNECTOR, events
from factories import make_flow, make_identity, make_integration
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
from jitgate.server.handlers import default_registry
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import IntegrationStatus, Resource
from jitgate.server.integrations.sync import enqueue_discovery, schedule_discovery
from jitgate.server.integrations.sync_models import IntegrationSync
from jitgate.server.jobs.models import Job, JobKind, JobStatus
from jitgate.server.jobs.operations import claim_jobs
from jitgate.server.jobs.results import report_job_result, store_job_page
from jitgate.server.requests.integration_uses import INTEGRATION_USES

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
    job = enqueue_discovery(
        uses=INTEGRATION_USES, session=session, clock=clock, integration=integration, full=True
    )
    session.commit()
    assert job.payload["mode"] == "full"
    _run(sessions, clock, integration, [[*USERS, ROLE]])
    session.expire_all()
    group = session.scalars(select(Resource).where(Resource.external_id == "g-fin")).one()
    assert group.removed_at == clock.now()
    clock.advance(timedelta(hours=1))
    assert schedule_discovery(
        uses=INTEGRATION_USES, session=session, clock=clock, interval=timedelta(hours=1)
    )
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
    assert (
        schedule_discovery(
            uses=INTEGRATION_USES, session=session, clock=clock, interval=timedelta(hours=1)
        )
        == []
    )


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
    enqueue_discovery(uses=INTEGRATION_USES, session=session, clock=clock, integration=integration)
    session.commit()
    _run(sessions, clock, integration, [USERS])
    session.expire_all()
    assert integration.status is IntegrationStatus.WARNING
    assert "RoleManagement.ReadWrite.Directory" in integration.status_message


def _flow_naming_groups(session, clock, integration, group_id):
    """A flow whose requestors, approvers and escalation name groups, by name and by id."""
    policy = {"approver_groups": [{"approvers": [{"type": "group", "values": ["Approvers"]}]}]}
    escalation = {"tiers": [[{"approvers": [{"type": "group", "values": ["Escalation"]}]}]]}
    requestors = {
        "conditions": [
            {"type": "group", "values": ["Finance", group_id]},
            {"type": "group", "match_operator": "starts_with", "values": ["fin"]},
            {"type": "user", "values": ["not-a-group@contoso.example"]},
        ]
    }
    return make_flow(
        session,
        clock,
        integration,
        requestors=requestors,
        approver_policy=policy,
        escalation_policy=escalation,
    )


def test_discover_jobs_name_the_groups_flows_and_owners_refer_to(session, sessions, clock):
    integration = make_integration(
        session, clock, owners=[{"attribute": "group", "values": ["Ops"]}]
    )
    _run(sessions, clock, integration, [[GROUP]])  # discovers "Finance" for the pattern
    _flow_naming_groups(session, clock, integration, "0b9c2f54-07f6-4f55-8e4a-3c1d2a6f7e10")
    job = enqueue_discovery(
        uses=INTEGRATION_USES, session=session, clock=clock, integration=integration
    )
    session.commit()
    assert job.payload["member_groups"] == [
        "0b9c2f54-07f6-4f55-8e4a-3c1d2a6f7e10",
        "Approvers",
        "Escalation",
        "Finance",
        "Ops",
    ]


def _interested_in(session, clock, integration, refs):
    """The integration's queued discover job (queued now if none), reading ``refs``' members."""
    enqueue_discovery(uses=INTEGRATION_USES, session=session, clock=clock, integration=integration)
    job = session.scalars(
        select(Job).where(Job.kind == JobKind.DISCOVER, Job.status == JobStatus.QUEUED)
    ).one()
    job.payload = {**job.payload, "member_groups": refs}
    session.commit()


def _identity(session, oid):
    return session.scalars(select(Identity).where(Identity.object_id == oid)).one()


def test_managers_resolve_after_all_pages_and_groups_of_interest_are_exact(
    session, sessions, clock
):
    integration = make_integration(session, clock)
    manual = {"id": "manual", "name": "Hand-made"}
    make_identity(session, clock, "carol@contoso.example", groups=[manual, {"id": "g-fin"}])
    make_identity(session, clock, "dave@contoso.example", object_id="u-dave")
    dave = _identity(session, "u-dave")
    dave.source, dave.groups = "entra", [{"id": "g-fin", "name": "Finance"}, {"id": "old"}]
    session.commit()
    _interested_in(session, clock, integration, ["g-fin"])
    ann = USERS[1].model_copy(update={"group_ids": ["g-fin"], "manager_id": "u-boss"})
    carol = DiscoveredUser(
        id="u-carol", user_principal_name="carol@contoso.example", group_ids=["g-fin"]
    )
    # the manager comes on a later page than her report
    _run(sessions, clock, integration, [[ann, carol, GROUP], [USERS[0]]])
    session.expire_all()
    boss = _identity(session, "u-boss")
    assert _identity(session, "u-ann").manager_id == boss.id
    assert _identity(session, "u-ann").groups == [{"id": "g-fin", "name": "Finance"}]
    carol_row = _identity(session, "u-carol")
    assert carol_row.source == "local"
    assert carol_row.groups == [manual, {"id": "g-fin", "name": "Finance"}]  # hand-made kept
    assert _identity(session, "u-dave").groups == []  # not reported in g-fin: loses it

    # a delta round: Ann was not read; the boss is reported as a member only
    _interested_in(session, clock, integration, ["g-fin"])
    member = DiscoveredUser(id="u-boss", group_ids=["g-fin"], membership_only=True)
    no_manager = USERS[1].model_copy(update={"manager_id": "", "group_ids": []})
    _run(sessions, clock, integration, [[member, no_manager]])
    session.expire_all()
    boss = _identity(session, "u-boss")
    assert (boss.groups, boss.display_name) == ([{"id": "g-fin", "name": "Finance"}], "Boss")
    assert _identity(session, "u-ann").groups == []
    assert _identity(session, "u-ann").manager_id is None
