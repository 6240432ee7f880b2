"""The bulk write API the connector uses: many access changes, one result each, via ``$batch``.

``apply_changes`` takes (principal, resource, permission, action) items with priorities and:

1. refuses up front what can never work (bad ids, unchangeable groups) with a terminal result;
2. finds the ids of role assignments to revoke (one filtered read per principal, batched);
3. sends every write through ``BatchExecutor`` (revocations first, 20 per call, inner 429/5xx
   retried on their own Retry-After) and retries grants that hit replication-lag 404s;
4. maps each answer to ``applied``, ``already_present``, ``already_absent`` or ``failed``, and
   marks a change ``ambiguous`` when a write of it was sent and its answer lost on any try (it
   may still land later, e.g. after the change is undone). Grants read first whether the
   principal already holds the group relation or the role at the scope: "already exists" after
   a lost answer is then known to be standing access (the read said so) or the broker's own
   first try (it did not).

Before any write there is one round of reads, in one ``$batch`` run: the groups neither the
caller nor the ``GroupCache`` knows (to refuse unchangeable ones) and the held-before reads. The
held-before read must have answered before its write is sent: were it in the write's own
``$batch``, a lost answer would lose the read too, and its retry could see the write itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from jitgate.graph import odata
from jitgate.graph.batch import BatchExecutor, BatchRequest, BatchResult
from jitgate.graph.errors import GraphError, GraphNotFound, is_already_exists
from jitgate.graph.limiter import Priority
from jitgate.graph.operations.groups import (
    REPLICATION_ATTEMPTS,
    group_select,
    guid,
    interpret_write,
    membership_request,
    parse_group,
    replication_policy,
    unchangeable_reason,
)
from jitgate.graph.operations.memberships import EVENTUAL
from jitgate.graph.operations.models import AccessChange, Action, ChangeResult, Group, Outcome
from jitgate.graph.operations.roles import ASSIGNMENTS, assignment_body, parse_assignment, scope_id
from jitgate.protocol.v1 import Permission

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jitgate.graph.client import GraphClient
    from jitgate.graph.operations.group_cache import GroupCache


#: Assignment ids by (principal, role, scope), and the request ids of each principal's lookup.
RevokeTargets = tuple[dict[tuple[str, str, str], list[str]], dict[str, tuple[str, ...]]]


@dataclass(slots=True)
class _Plan:
    results: list[ChangeResult | None]
    known: dict[str, Group]
    revoke_targets: RevokeTargets
    can_manage_role_assignable: bool | None
    requests: list[BatchRequest] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # change index of each request
    lookup_ids: dict[int, tuple[str, ...]] = field(default_factory=dict)


def _fail(
    change: AccessChange, err: GraphError | ValueError, code: str | None = None
) -> ChangeResult:
    if isinstance(err, GraphError):
        return ChangeResult(
            change,
            Outcome.FAILED,
            (err.request_id,) if err.request_id else (),
            err.code or code,
            err.message,
            err.retryable,
        )
    return ChangeResult(change, Outcome.FAILED, (), code or "InvalidInput", str(err))


async def apply_changes(
    client: GraphClient,
    changes: Sequence[AccessChange],
    *,
    groups: Mapping[str, Group] | None = None,
    can_manage_role_assignable: bool | None = None,
    cache: GroupCache | None = None,
) -> list[ChangeResult]:
    """Apply ``changes`` idempotently through ``$batch``; results are in input order."""
    executor = BatchExecutor(client)
    known = dict(groups or {})
    held = await _read_before(executor, changes, known, cache)
    plan = _Plan(
        results=[None] * len(changes),
        known=known,
        revoke_targets=await _find_role_assignments(executor, changes),
        can_manage_role_assignable=can_manage_role_assignable,
    )
    for index, change in enumerate(changes):
        try:
            _plan_one(plan, index, change)
        except ValueError as err:
            plan.results[index] = _fail(change, err)
    await _execute(client, executor, changes, plan)
    return [
        _settle(r, i in held) if r is not None else _fail(c, ValueError("not run"))
        for i, (r, c) in enumerate(zip(plan.results, changes, strict=True))
    ]


def _settle(result: ChangeResult, held: bool) -> ChangeResult:
    """Held before the write: a late landing of it changes nothing, so it is not ambiguous."""
    return replace(result, ambiguous=False) if held and result.ambiguous else result


async def _read_before(
    executor: BatchExecutor,
    changes: Sequence[AccessChange],
    known: dict[str, Group],
    cache: GroupCache | None,
) -> set[int]:
    """Load the unknown groups into ``known``; return the grants already held (indexes)."""
    wanted = _groups_to_read(changes, known, cache)
    held_reads = _held_reads(changes)
    requests = [
        BatchRequest("GET", f"/groups/{gid}?$select={group_select()}", priority=Priority.GRANT)
        for gid in wanted
    ] + [request for _, request in held_reads]
    if not requests:
        return set()
    results = await executor.execute(requests)
    for gid, result in zip(wanted, results, strict=False):
        if result.ok and isinstance(result.body, dict):
            known[gid] = parse_group(result.body)
            if cache is not None:
                cache.put(known[gid])
    return {
        index
        for (index, _), result in zip(held_reads, results[len(wanted) :], strict=True)
        if result.ok and _holds(changes[index], result.body)
    }


def _holds(change: AccessChange, body: object) -> bool:
    """Whether a held-before read's answer shows the principal holding what it asks for."""
    if not isinstance(body, dict):
        return False
    found = body.get("value") or []
    if change.permission is not Permission.ACTIVE:
        return bool(found)  # the read filtered on the principal's id
    scope = scope_id(change.directory_scope_id)
    return any(
        a.role_definition_id == change.resource_id and a.directory_scope_id == scope
        for a in map(parse_assignment, found)
    )


def _held_reads(changes: Sequence[AccessChange]) -> list[tuple[int, BatchRequest]]:
    """For each grant: does its principal hold the relation (or the role at the scope) already?

    Group relations are read filtered on the principal; role assignments are listed by
    principal (the filter graph.md documents) and matched on role and scope here.
    """
    reads: list[tuple[int, BatchRequest]] = []
    for index, change in enumerate(changes):
        if change.action is not Action.GRANT:
            continue
        try:
            pid = guid(change.principal_id)
            if change.permission is Permission.ACTIVE:
                scope_id(change.directory_scope_id)
                url = f"{ASSIGNMENTS}?$filter={odata.eq('principalId', pid)}"
                reads.append((index, BatchRequest("GET", url, priority=Priority.GRANT)))
                continue
            gid = guid(change.resource_id)
        except ValueError:
            continue  # refused when planned
        relation = "owners" if change.permission is Permission.OWNER else "members"
        query = f"$filter={odata.eq('id', pid)}&$select=id&$count=true"
        url = f"/groups/{gid}/{relation}?{query}"
        reads.append((index, BatchRequest("GET", url, priority=Priority.GRANT, headers=EVENTUAL)))
    return reads


def _plan_one(plan: _Plan, index: int, change: AccessChange) -> None:
    priority = change.effective_priority
    if change.permission is Permission.ACTIVE:
        scope = scope_id(change.directory_scope_id)
        if change.action is Action.GRANT:
            body = assignment_body(change.principal_id, change.resource_id, scope)
            plan.requests.append(BatchRequest("POST", ASSIGNMENTS, body=body, priority=priority))
            plan.owners.append(index)
            return
        pid = guid(change.principal_id)
        targets = plan.revoke_targets[0].get((pid, change.resource_id, scope), [])
        lookup = plan.revoke_targets[1].get(pid, ())
        plan.lookup_ids[index] = lookup
        if not targets:
            plan.results[index] = ChangeResult(
                change, Outcome.ALREADY_ABSENT, lookup, detail="no such assignment"
            )
        for target in targets:
            plan.requests.append(
                BatchRequest("DELETE", f"{ASSIGNMENTS}/{target}", priority=priority)
            )
            plan.owners.append(index)
        return
    group = plan.known.get(change.resource_id)
    if group is None:
        if change.action is Action.REVOKE:
            plan.results[index] = ChangeResult(
                change, Outcome.ALREADY_ABSENT, detail="group not found"
            )
        else:
            plan.results[index] = ChangeResult(
                change, Outcome.FAILED, (), "Request_ResourceNotFound", "group not found"
            )
        return
    reason = unchangeable_reason(
        group, change.permission, can_manage_role_assignable=plan.can_manage_role_assignable
    )
    if reason is not None:
        plan.results[index] = ChangeResult(change, Outcome.FAILED, (), "UnchangeableGroup", reason)
        return
    request = membership_request(change.action, group.id, change.principal_id, change.permission)
    plan.requests.append(replace(request, priority=priority))
    plan.owners.append(index)


def _groups_to_read(
    changes: Sequence[AccessChange], known: dict[str, Group], cache: GroupCache | None
) -> list[str]:
    """The group ids neither the caller nor the cache knows (cached ones go into ``known``)."""
    wanted: list[str] = []
    for change in changes:
        if change.permission is Permission.ACTIVE or change.resource_id in known:
            continue
        try:
            gid = guid(change.resource_id, "group id")
        except ValueError:
            continue
        cached = cache.get(gid) if cache is not None else None
        if cached is not None:
            known[change.resource_id] = cached
        elif gid not in wanted:
            wanted.append(gid)
    return wanted


def _revoked_role_principals(changes: Sequence[AccessChange]) -> list[str]:
    principals: list[str] = []
    for change in changes:
        if change.permission is Permission.ACTIVE and change.action is Action.REVOKE:
            try:
                pid = guid(change.principal_id)
            except ValueError:
                continue
            if pid not in principals:
                principals.append(pid)
    return principals


async def _find_role_assignments(
    executor: BatchExecutor, changes: Sequence[AccessChange]
) -> RevokeTargets:
    """Ids of the role assignments to revoke, keyed by (principal, role, scope)."""
    principals = _revoked_role_principals(changes)
    requests = [
        BatchRequest(
            "GET",
            f"{ASSIGNMENTS}?$filter={odata.eq('principalId', pid)}",
            priority=Priority.REVOKE,
        )
        for pid in principals
    ]
    found: dict[tuple[str, str, str], list[str]] = {}
    lookups: dict[str, tuple[str, ...]] = {}
    for pid, result in zip(principals, await executor.execute(requests), strict=True):
        if result.error is not None:
            raise result.error
        lookups[pid] = (result.request_id,) if result.request_id else ()
        for obj in (result.body or {}).get("value") or []:
            a = parse_assignment(obj)
            found.setdefault((pid, a.role_definition_id, a.directory_scope_id), []).append(a.id)
    return found, lookups


async def _execute(
    client: GraphClient, executor: BatchExecutor, changes: Sequence[AccessChange], plan: _Plan
) -> None:
    pending = list(range(len(plan.requests)))
    outcomes: dict[int, BatchResult] = {}
    for attempt in range(1, REPLICATION_ATTEMPTS + 1):
        results = await executor.execute([plan.requests[i] for i in pending])
        retry: list[int] = []
        for i, result in zip(pending, results, strict=True):
            lost = result.ambiguous or (i in outcomes and outcomes[i].ambiguous)
            outcomes[i] = replace(result, ambiguous=lost)
            change = changes[plan.owners[i]]
            lagging = isinstance(result.error, GraphNotFound) and change.action is Action.GRANT
            if lagging and attempt < REPLICATION_ATTEMPTS:
                retry.append(i)
        if not retry:
            break
        pending = retry
        await client.timer.sleep(replication_policy(client.retry).backoff(attempt))
    for i, result in sorted(outcomes.items()):
        _record(plan, changes[plan.owners[i]], plan.owners[i], result)


def _record(plan: _Plan, change: AccessChange, index: int, result: BatchResult) -> None:
    ids = plan.lookup_ids.get(index, ()) + ((result.request_id,) if result.request_id else ())
    previous = plan.results[index]
    ambiguous = result.ambiguous
    if previous is not None:
        ids = previous.request_ids + ids
        ambiguous = ambiguous or previous.ambiguous
    outcome = _outcome(change, result.error)
    extra: dict[str, Any] = {}
    if (
        change.permission is Permission.ACTIVE
        and isinstance(result.body, dict)
        and result.body.get("id")
    ):
        extra["assignment_id"] = result.body["id"]
    if outcome is None:
        err = result.error
        assert err is not None  # noqa: S101 - _outcome returns None only for errors
        plan.results[index] = ChangeResult(
            change,
            Outcome.FAILED,
            ids,
            err.reported_code,
            err.message,
            err.retryable,
            ambiguous=ambiguous,
        )
        return
    if previous is not None and previous.outcome is Outcome.APPLIED:
        outcome = Outcome.APPLIED  # several assignments deleted for one change
    plan.results[index] = ChangeResult(change, outcome, ids, extra=extra, ambiguous=ambiguous)


def _outcome(change: AccessChange, err: GraphError | None) -> Outcome | None:
    if change.permission is not Permission.ACTIVE:
        return interpret_write(change.action, err)
    if err is None:
        return Outcome.APPLIED
    if change.action is Action.GRANT and is_already_exists(err):
        return Outcome.ALREADY_PRESENT
    if change.action is Action.REVOKE and isinstance(err, GraphNotFound):
        return Outcome.ALREADY_ABSENT
    return None
