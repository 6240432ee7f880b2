"""Running jobs with Microsoft Graph: writes (direct and PIM), discovery, reads, self-check.

Direct grants and revocations of several jobs go to Graph together through
``bulk.apply_changes`` (``$batch`` of up to 20, revocations first); everything else runs one
job at a time. Membership reads of group members go through the members delta query
(``member_delta``: the changes since the job's ``delta_link``, or all members without one);
owners and role assignments have no delta in Graph and are read in full. Every result carries
Graph's request ids for the audit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from jitgate.connector.discover import run_discovery
from jitgate.connector.results import change_result, error_result, write_result
from jitgate.graph.operations import bulk, groups, guests, member_delta, pim, roles, selfcheck
from jitgate.graph.operations.group_cache import GroupCache
from jitgate.graph.operations.models import AccessChange, Action
from jitgate.protocol.v1 import (
    DeleteUserData,
    DeleteUserPayload,
    DiscoverData,
    GrantMode,
    GrantPayload,
    InviteGuestData,
    InviteGuestPayload,
    JobResult,
    JobSpec,
    MemberRef,
    Outcome,
    Permission,
    ReadMembershipData,
    ReadMembershipPayload,
    ResourceType,
    RevokePayload,
    SelfCheckData,
    SelfCheckPayload,
    WriteOutcome,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from jitgate.core.clock import Clock
    from jitgate.graph.client import GraphClient
    from jitgate.graph.operations.models import DirectoryObjectRef
    from jitgate.graph.operations.pim import PimAction
    from jitgate.protocol.v1 import DiscoveredItem

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs jobs; never raises for a job's own failure (it becomes a result)."""

    async def run_writes(self, specs: Sequence[JobSpec]) -> list[JobResult]:
        """Run direct grant/revoke jobs together; results in input order."""
        ...

    async def run_one(
        self,
        spec: JobSpec,
        pages: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]],
    ) -> JobResult:
        """Run any other job."""
        ...

    async def self_check(self, payload: SelfCheckPayload) -> SelfCheckData:
        """Check the Graph permissions and Entra roles held."""
        ...


def is_direct_write(spec: JobSpec) -> bool:
    """Direct-mode grants and revocations can share a ``$batch``."""
    payload = spec.payload
    return isinstance(payload, GrantPayload | RevokePayload) and (
        payload.grant_mode is GrantMode.DIRECT
    )


def _change(spec: JobSpec) -> AccessChange:
    payload = spec.payload
    if not isinstance(payload, GrantPayload | RevokePayload):
        raise TypeError("not a write")
    return AccessChange(
        action=Action.GRANT if isinstance(payload, GrantPayload) else Action.REVOKE,
        principal_id=payload.principal_id,
        resource_id=payload.resource_external_id,
        permission=Permission(str(payload.permission)),
        directory_scope_id=payload.directory_scope_id,
        key=spec.id,
    )


class GraphExecutor:
    """The real executor: the graph package's Entra operations."""

    def __init__(self, client: GraphClient, clock: Clock, *, tenant_id: str | None = None) -> None:
        self.client = client
        self.clock = clock
        #: Named in discover and self-check results: the server pins it (one connector a tenant).
        self.tenant_id = tenant_id
        #: From the last self-check; ``None`` lets the graph package decide.
        self.can_manage_role_assignable: bool | None = None
        #: Groups read before writes, kept a few minutes (one Graph round trip less per write).
        self.groups = GroupCache(client.timer.monotonic)

    async def run_writes(self, specs: Sequence[JobSpec]) -> list[JobResult]:
        """Apply direct writes through ``$batch``."""
        changes: list[AccessChange] = []
        results: list[JobResult | None] = [None] * len(specs)
        for index, spec in enumerate(specs):
            try:
                changes.append(_change(spec))
            except (TypeError, ValueError) as err:
                results[index] = error_result(ValueError(str(err)))
        try:
            applied = await bulk.apply_changes(
                self.client,
                changes,
                can_manage_role_assignable=self.can_manage_role_assignable,
                cache=self.groups,
            )
        except Exception as err:  # noqa: BLE001 - every job gets the failure as its result
            failure = error_result(err)
            return [r or failure for r in results]
        by_key = {c.change.key: c for c in applied}
        for index, spec in enumerate(specs):
            if results[index] is None:
                grant = isinstance(spec.payload, GrantPayload)
                results[index] = change_result(grant=grant, change=by_key[spec.id])
        return [r for r in results if r is not None]

    async def run_one(
        self,
        spec: JobSpec,
        pages: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]],
    ) -> JobResult:
        """Run one job; failures become results."""
        try:
            return await self._dispatch(spec, pages)
        except Exception as err:  # noqa: BLE001 - a job's failure is its result
            return error_result(err)

    async def _dispatch(
        self,
        spec: JobSpec,
        pages: Callable[[JobSpec, int, list[DiscoveredItem]], Awaitable[None]],
    ) -> JobResult:
        payload = spec.payload
        if isinstance(payload, GrantPayload | RevokePayload):
            if payload.grant_mode is GrantMode.PIM:
                return await self._pim(payload)
            return (await self.run_writes([spec]))[0]
        if isinstance(payload, ReadMembershipPayload):
            return await self._read(payload)
        if isinstance(payload, SelfCheckPayload):
            data = await self.self_check(payload)
            return JobResult(outcome=Outcome.SUCCEEDED, data=data)
        if isinstance(payload, InviteGuestPayload | DeleteUserPayload):
            return await self._guest(payload)
        return self._named(await run_discovery(self.client, spec, payload, pages))

    def _named(self, result: JobResult) -> JobResult:
        """A discover result that names the tenant the connector reaches."""
        if not isinstance(result.data, DiscoverData) or not self.tenant_id:
            return result
        found = result.data.model_copy(update={"tenant_id": self.tenant_id})
        return result.model_copy(update={"data": found})

    async def _pim(self, payload: GrantPayload | RevokePayload) -> JobResult:
        grant = isinstance(payload, GrantPayload)
        ends_at = payload.ends_at if isinstance(payload, GrantPayload) else None
        action: PimAction = "adminAssign" if grant else "adminRemove"
        if isinstance(payload, GrantPayload) and payload.extend:
            action = "adminUpdate"  # move the expiry of the assignment held (graph.operations.pim)
        if payload.resource_type is ResourceType.ROLE:
            result = await pim.request_role_assignment(
                self.client,
                action=action,
                principal_id=payload.principal_id,
                role_definition_id=payload.resource_external_id,
                directory_scope_id=payload.directory_scope_id,
                clock=self.clock,
                ends_at=ends_at,
            )
        else:
            result = await pim.request_group_assignment(
                self.client,
                action=action,
                group_id=payload.resource_external_id,
                principal_id=payload.principal_id,
                access_id="owner" if payload.permission == "owner" else "member",
                clock=self.clock,
                ends_at=ends_at,
            )
        return write_result(grant=grant, result=result)

    async def _guest(self, payload: InviteGuestPayload | DeleteUserPayload) -> JobResult:
        if isinstance(payload, DeleteUserPayload):
            deletion = await guests.delete_user(self.client, payload.user_id)
            data: InviteGuestData | DeleteUserData = DeleteUserData(
                outcome=WriteOutcome(str(deletion.outcome)),
                request_ids=list(deletion.request_ids)[:200],
            )
            return JobResult(outcome=Outcome.SUCCEEDED, data=data)
        guest = await guests.invite_guest(
            self.client,
            email=payload.email,
            redirect_url=payload.redirect_url,
            display_name=payload.display_name,
            send_message=payload.send_invitation_message,
        )
        data = InviteGuestData(
            user_id=guest.user_id,
            created=guest.created,
            user_principal_name=guest.user_principal_name,
            request_ids=list(guest.request_ids)[:200],
        )
        return JobResult(outcome=Outcome.SUCCEEDED, data=data)

    async def _read(self, payload: ReadMembershipPayload) -> JobResult:
        if payload.resource_type is ResourceType.ROLE:
            found = await roles.list_role_assignments(
                self.client,
                role_definition_id=payload.resource_external_id,
                directory_scope_id=payload.directory_scope_id,
            )
            members = [
                MemberRef(id=a.principal_id, kind="principal", assignment_id=a.id)
                for a in found.items
            ]
            return _read_result(members, found.request_ids)
        if payload.permission == "owner":  # owners have no delta query: always a full read
            listing = await groups.list_group_owners(self.client, payload.resource_external_id)
            return _read_result([_member(m) for m in listing.items], listing.request_ids)
        delta = await member_delta.read_member_delta(
            self.client, payload.resource_external_id, payload.delta_link
        )
        if delta.restarted:
            log.info(
                "membership delta link refused; read in full",
                extra={"group_id": payload.resource_external_id},
            )
        data = ReadMembershipData(
            members=[_member(m) for m in delta.present],
            removed=[_member(m) for m in delta.removed],
            full=delta.full,
            delta_link=delta.delta_link,
            request_ids=list(delta.request_ids)[:200],
        )
        return JobResult(outcome=Outcome.SUCCEEDED, data=data)

    async def self_check(self, payload: SelfCheckPayload) -> SelfCheckData:
        """Run the self-check and remember whether role-assignable groups are writable."""
        report = await selfcheck.self_check(
            self.client,
            resource_types={str(t) for t in payload.resource_types},
            grant_mode=payload.grant_mode,
            invite_guests=payload.invite_guests,
            delete_users=payload.delete_users,
        )
        self.can_manage_role_assignable = report.can_manage_role_assignable_groups
        return SelfCheckData(
            ok=report.ok,
            service_principal_id=report.service_principal_id,
            app_permissions=list(report.app_permissions),
            directory_roles=list(report.directory_roles),
            missing=list(report.missing),
            can_manage_role_assignable_groups=report.can_manage_role_assignable_groups,
            checked_at=self.clock.now(),
            request_ids=list(report.request_ids)[:200],
            tenant_id=self.tenant_id,
        )


def _member(ref: DirectoryObjectRef) -> MemberRef:
    return MemberRef(id=ref.id, kind=str(ref.kind), user_principal_name=ref.user_principal_name)


def _read_result(members: list[MemberRef], request_ids: Sequence[str]) -> JobResult:
    data = ReadMembershipData(members=members, request_ids=list(request_ids)[:200])
    return JobResult(outcome=Outcome.SUCCEEDED, data=data)
