"""Every Entra operation against the emulator in-process."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from jitgate.core.clock import ManualClock
from jitgate.graph.errors import (
    GraphBadRequest,
    GraphForbidden,
    GraphNotFound,
    UnchangeableGroupError,
)
from jitgate.graph.operations import discovery, groups, pim, principals, roles, selfcheck
from jitgate.graph.operations.models import Group, Outcome, PrincipalKind, Removed, User

pytestmark = pytest.mark.anyio

SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def new_user(key: str, **extra: object) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "displayName": key,
        "userPrincipalName": f"{key}@contoso.onmicrosoft.com",
        "mail": f"{key}@contoso.onmicrosoft.com",
        "accountEnabled": True,
        "userType": "Member",
        **extra,
    }


async def find_group(graph, group_id) -> Group:
    group, request_ids = await groups.get_group(graph, group_id)
    assert request_ids
    return group


async def test_full_discovery_then_delta(state, graph, names):
    users = discovery.discover_users(graph)
    found = [u async for u in users]
    assert len(found) == len(state.tenant.users)
    assert all(isinstance(u, User) for u in found)
    assert users.delta_link
    assert users.request_ids

    group_sync = discovery.discover_groups(graph)
    listed = {g.display_name: g async for g in group_sync if isinstance(g, Group)}
    assert listed["All Employees (dynamic)"].is_dynamic
    assert listed["Security Admins (role-assignable)"].is_assignable_to_role
    assert listed["VPN Users (synced)"].on_premises_sync_enabled
    assert listed["Finance Distribution List"].mail_enabled
    assert not listed["Finance Distribution List"].security_enabled
    assert listed["Engineering"].is_unified
    assert listed["Production Access"].owners == ("alex@contoso.onmicrosoft.com",)
    assert listed["Production Access"].tags["owners"] == ("alex@contoso.onmicrosoft.com",)

    # nothing changed: an empty delta
    again = discovery.discover_users(graph, delta_link=users.delta_link)
    assert [u async for u in again] == []
    assert again.delta_link

    # another admin creates one user and deletes another: the next delta says so
    with state.tenant.lock:
        state.tenant.add_object("user", new_user("newbie"))
        state.tenant.delete_object(names["pradeep"])
    delta = discovery.discover_users(graph, delta_link=again.delta_link)
    changed = [u async for u in delta]
    assert [u.display_name for u in changed if isinstance(u, User)] == ["newbie"]
    assert [(r.id, r.reason) for r in changed if isinstance(r, Removed)] == [
        (names["pradeep"], "changed")  # a deleted user is soft-deleted first (restorable)
    ]


async def test_group_delta_reports_changes_with_owners(state, graph, names):
    sync = discovery.discover_groups(graph)
    _ = [g async for g in sync]
    group = await find_group(graph, names["Production Access"])
    await groups.add_group_owner(graph, group=group, principal_id=names["grady"])
    # group delta does not track owners; a renamed group is reported, read with its owners
    with state.tenant.lock:
        state.tenant.groups[group.id]["displayName"] = "Production Access (renamed)"
        state.tenant.touch("group", group.id)
    delta = discovery.discover_groups(graph, delta_link=sync.delta_link)
    changed = [g async for g in delta]
    prod = [g for g in changed if isinstance(g, Group) and g.id == group.id]
    assert prod, changed
    assert "grady@contoso.onmicrosoft.com" in prod[-1].owners
    assert not [g for g in changed if isinstance(g, Removed)]


async def test_role_definitions_and_administrative_units(graph):
    definitions = await roles.list_role_definitions(graph)
    by_name = {d.display_name: d for d in definitions.items}
    assert by_name["Privileged Role Administrator"].template_id == (
        "e8611ab8-c189-46e8-94e1-60213ab1f814"
    )
    assert definitions.request_ids
    units = await roles.list_administrative_units(graph)
    assert [u.display_name for u in units.items] == ["EMEA"]


async def test_resolve_by_id_upn_mail_and_guest(state, graph, names):
    by_id = await principals.resolve_principal(graph, names["adele"])
    assert by_id.kind is PrincipalKind.USER
    assert by_id.request_ids
    by_upn = await principals.resolve_principal(graph, "ADELE@contoso.onmicrosoft.com")
    assert by_upn.id == by_id.id
    group = await principals.resolve_principal(graph, names["Production Access"])
    assert group.kind is PrincipalKind.GROUP

    guest_upn = "o'brien_fabrikam.com#EXT#@contoso.onmicrosoft.com"
    guest_obj = new_user("guest", userPrincipalName=guest_upn, mail="o'brien@fabrikam.com")
    guest_obj["userType"] = "Guest"
    with state.tenant.lock:
        state.tenant.add_object("user", guest_obj)
    guest = await principals.resolve_principal(graph, guest_upn)
    assert guest.is_guest
    by_mail = await principals.resolve_principal(graph, "o'brien@fabrikam.com")
    assert by_mail.id == guest.id
    with pytest.raises(GraphNotFound):
        await principals.resolve_principal(graph, "nobody' or userType eq 'Member")
    with pytest.raises(GraphNotFound):
        await principals.resolve_principal(graph, "00000000-0000-4000-8000-000000000000")


async def test_members_and_owners_are_read(graph, names):
    members = await groups.list_group_members(graph, names["Engineering"])
    assert {m.user_principal_name for m in members.items} >= {"diego@contoso.onmicrosoft.com"}
    assert members.request_ids
    owners = await groups.list_group_owners(graph, names["Engineering"])
    assert [o.id for o in owners.items] == [names["alex"]]


async def test_membership_writes_are_idempotent(graph, names):
    group = await find_group(graph, names["Production Access"])
    user = names["grady"]
    first = await groups.add_group_member(graph, group=group, principal_id=user)
    again = await groups.add_group_member(graph, group=group, principal_id=user)
    assert (first.outcome, again.outcome) == (Outcome.APPLIED, Outcome.ALREADY_PRESENT)
    assert first.request_ids
    assert again.request_ids
    members = await groups.list_group_members(graph, group.id)
    assert user in {m.id for m in members.items}
    gone = await groups.remove_group_member(graph, group=group, principal_id=user)
    gone_again = await groups.remove_group_member(graph, group=group, principal_id=user)
    assert (gone.outcome, gone_again.outcome) == (Outcome.APPLIED, Outcome.ALREADY_ABSENT)

    owner = await groups.add_group_owner(graph, group=group, principal_id=user)
    assert owner.outcome is Outcome.APPLIED
    assert (await groups.remove_group_owner(graph, group=group, principal_id=user)).outcome is (
        Outcome.APPLIED
    )


@pytest.mark.parametrize(
    "name",
    [
        "All Employees (dynamic)",
        "Finance Distribution List",
        "IT Mail-enabled Security",
        "VPN Users (synced)",
    ],
)
async def test_unchangeable_groups_fail_before_any_call(graph, names, name):
    group = await find_group(graph, names[name])
    sent = graph.requests_sent
    with pytest.raises(UnchangeableGroupError) as info:
        await groups.add_group_member(graph, group=group, principal_id=names["grady"])
    assert not info.value.retryable
    assert graph.requests_sent == sent


async def test_role_assignable_group_without_the_role_fails_fast(connect, readonly_app, names):
    client_id, secret = readonly_app
    async with connect(client_id=client_id, client_secret=secret) as graph:
        report = await selfcheck.self_check(graph, resource_types={"entra-group"})
        assert not report.can_manage_role_assignable_groups
        group = await find_group(graph, names["Security Admins (role-assignable)"])
        with pytest.raises(UnchangeableGroupError, match="Privileged Role Administrator"):
            await groups.add_group_member(
                graph,
                group=group,
                principal_id=names["grady"],
                can_manage_role_assignable=report.can_manage_role_assignable_groups,
            )


async def test_role_assignment_at_directory_and_au_scope(graph, names):
    user = names["diego"]
    emea = f"/administrativeUnits/{names['EMEA']}"
    for scope in ("/", emea):
        made = await roles.assign_role(
            graph,
            principal_id=user,
            role_definition_id=HELPDESK,
            directory_scope_id=scope,
        )
        assert made.outcome is Outcome.APPLIED
        assert made.object_id
        dup = await roles.assign_role(
            graph,
            principal_id=user,
            role_definition_id=HELPDESK,
            directory_scope_id=scope,
        )
        assert dup.outcome is Outcome.ALREADY_PRESENT
        assert dup.object_id == made.object_id
        listed = await roles.list_role_assignments(
            graph, role_definition_id=HELPDESK, directory_scope_id=scope
        )
        assert user in {a.principal_id for a in listed.items}
    removed = await roles.unassign_role(
        graph, principal_id=user, role_definition_id=HELPDESK, directory_scope_id=emea
    )
    assert removed.outcome is Outcome.APPLIED
    again = await roles.unassign_role(
        graph, principal_id=user, role_definition_id=HELPDESK, directory_scope_id=emea
    )
    assert again.outcome is Outcome.ALREADY_ABSENT
    still = await roles.list_role_assignments(graph, principal_id=user, directory_scope_id="/")
    assert [a.role_definition_id for a in still.items] == [HELPDESK]


async def test_pim_role_assign_and_remove(state, graph, names):
    clock = ManualClock(state.tenant.clock.now())
    ends = clock.now() + timedelta(hours=2)
    made = await pim.request_role_assignment(
        graph,
        action="adminAssign",
        principal_id=names["grady"],
        role_definition_id=SECURITY_ADMINISTRATOR,
        clock=clock,
        ends_at=ends,
        justification="ticket 42",
    )
    assert made.outcome is Outcome.APPLIED
    assert made.detail == "Provisioned"
    assert made.request_ids
    dup = await pim.request_role_assignment(
        graph,
        action="adminAssign",
        principal_id=names["grady"],
        role_definition_id=SECURITY_ADMINISTRATOR,
        clock=clock,
        ends_at=ends,
    )
    assert dup.outcome is Outcome.ALREADY_PRESENT
    gone = await pim.request_role_assignment(
        graph,
        action="adminRemove",
        principal_id=names["grady"],
        role_definition_id=SECURITY_ADMINISTRATOR,
        clock=clock,
    )
    assert gone.outcome is Outcome.APPLIED
    assert gone.detail == "Revoked"
    absent = await pim.request_role_assignment(
        graph,
        action="adminRemove",
        principal_id=names["grady"],
        role_definition_id=SECURITY_ADMINISTRATOR,
        clock=clock,
    )
    assert absent.outcome is Outcome.ALREADY_ABSENT


async def test_pim_for_groups_member_and_owner(state, graph, names):
    clock = ManualClock(state.tenant.clock.now())
    group_id = names["Database Admins"]
    for access in ("member", "owner"):
        made = await pim.request_group_assignment(
            graph,
            action="adminAssign",
            group_id=group_id,
            principal_id=names["diego"],
            access_id=access,
            clock=clock,
            ends_at=clock.now() + timedelta(hours=1),
        )
        assert made.outcome is Outcome.APPLIED
    members = await groups.list_group_members(graph, group_id)
    assert names["diego"] in {m.id for m in members.items}
    gone = await pim.request_group_assignment(
        graph,
        action="adminRemove",
        group_id=group_id,
        principal_id=names["diego"],
        access_id="member",
        clock=clock,
    )
    assert gone.outcome is Outcome.APPLIED


async def test_self_check_lists_what_is_missing(graph, connect, readonly_app):
    full = await selfcheck.self_check(graph, grant_mode="direct")
    assert full.ok, full.missing
    assert "Privileged Role Administrator" in full.directory_roles
    client_id, secret = readonly_app
    async with connect(client_id=client_id, client_secret=secret) as weak:
        report = await selfcheck.self_check(weak, grant_mode="direct")
    assert not report.ok
    text = "\n".join(report.missing)
    assert "GroupMember.ReadWrite.All is required" in text
    assert "Privileged Role Administrator is required to change role-assignable groups" in text
    assert "RoleManagement.Read.Directory" in text


async def test_missing_permission_is_terminal(connect, readonly_app, names):
    client_id, secret = readonly_app
    async with connect(client_id=client_id, client_secret=secret) as weak:
        group = await find_group(weak, names["Production Access"])
        sent = weak.requests_sent
        with pytest.raises(GraphForbidden) as info:
            await groups.add_group_member(weak, group=group, principal_id=names["grady"])
        assert info.value.code == "Authorization_RequestDenied"
        assert info.value.request_id
        assert weak.requests_sent == sent + 1  # not retried


async def test_pim_role_update_moves_the_expiry(state, graph, names):
    clock = ManualClock(state.tenant.clock.now())
    user = names["grady"]
    first, later = clock.now() + timedelta(minutes=10), clock.now() + timedelta(minutes=30)
    target = {"principal_id": user, "role_definition_id": SECURITY_ADMINISTRATOR, "clock": clock}
    await pim.request_role_assignment(graph, action="adminAssign", ends_at=first, **target)
    moved = await pim.request_role_assignment(graph, action="adminUpdate", ends_at=later, **target)
    assert moved.outcome is Outcome.APPLIED
    assert moved.request_ids

    async def held() -> bool:
        found = await roles.list_role_assignments(graph, principal_id=user, directory_scope_id="/")
        return SECURITY_ADMINISTRATOR in {a.role_definition_id for a in found.items}

    state.tenant.clock.advance(timedelta(minutes=20))  # past the first end
    assert await held()
    state.tenant.clock.advance(timedelta(minutes=10, seconds=1))  # past the new end
    assert not await held()
    gone = await pim.request_role_assignment(graph, action="adminUpdate", ends_at=later, **target)
    assert gone.outcome is Outcome.ALREADY_ABSENT


async def test_pim_group_update_moves_the_expiry(state, graph, names):
    clock = ManualClock(state.tenant.clock.now())
    group_id, user = names["Database Admins"], names["diego"]
    first, later = clock.now() + timedelta(minutes=10), clock.now() + timedelta(minutes=30)
    target = {"group_id": group_id, "principal_id": user, "clock": clock}
    await pim.request_group_assignment(graph, action="adminAssign", ends_at=first, **target)
    moved = await pim.request_group_assignment(graph, action="adminUpdate", ends_at=later, **target)
    assert moved.outcome is Outcome.APPLIED

    async def member() -> bool:
        return user in {m.id for m in (await groups.list_group_members(graph, group_id)).items}

    state.tenant.clock.advance(timedelta(minutes=20))
    assert await member()
    state.tenant.clock.advance(timedelta(minutes=10, seconds=1))
    assert not await member()


async def test_pim_update_beyond_the_policy_maximum_is_refused(state, graph, names):
    clock = ManualClock(state.tenant.clock.now())
    target = {"group_id": names["Database Admins"], "principal_id": names["diego"], "clock": clock}
    await pim.request_group_assignment(
        graph, action="adminAssign", ends_at=clock.now() + timedelta(hours=1), **target
    )
    with pytest.raises(GraphBadRequest, match="ExpirationRule"):
        await pim.request_group_assignment(
            graph, action="adminUpdate", ends_at=clock.now() + timedelta(days=400), **target
        )


async def test_a_delta_link_to_another_host_is_never_followed(state, graph, monkeypatch):
    first = discovery.discover_users(graph)
    [u async for u in first]
    assert first.delta_link
    foreign = first.delta_link.replace("https://emulator.test", "https://elsewhere.example")
    called: list[str] = []
    real = type(graph).request

    async def spy(self, method, path, **kwargs):
        called.append(path)
        return await real(self, method, path, **kwargs)

    monkeypatch.setattr(type(graph), "request", spy)
    again = discovery.discover_users(graph, delta_link=foreign)
    found = [u async for u in again]
    assert len(found) == len(state.tenant.users)  # a full round instead
    assert called
    assert not [path for path in called if "elsewhere.example" in path]
