"""429 storms, 5xx, dropped connections, timeouts, replication lag, duplicates, $batch retries."""

from __future__ import annotations

import pytest

from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.errors import GraphThrottled
from jitgate.graph.limiter import Priority
from jitgate.graph.operations import bulk, groups, roles
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.graph.retry import RetryPolicy
from jitgate.protocol.v1 import Permission

pytestmark = pytest.mark.anyio
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def faults(state, *rules):
    state.settings.update({"faults": list(rules)})


async def test_429_storm_is_ridden_out_with_retry_after(state, graph, names):
    faults(state, {"route": "GET /v1.0/groups", "status": 429, "count": 4, "retry_after": 2.5})
    members = await groups.list_group_members(graph, names["Engineering"])
    assert members.items
    assert graph.throttled_responses == 4
    assert graph.timer.slept.count(2.5) >= 4  # waited what Graph asked, each time
    assert graph.limiter.stats.throttled == 4


async def test_endless_429_gives_up_within_the_bounds(state, connect, names):
    faults(state, {"route": "GET /v1.0/groups", "status": 429, "retry_after": 1.0})
    async with connect(retry=RetryPolicy(max_attempts=3, deadline_s=60)) as graph:
        with pytest.raises(GraphThrottled) as info:
            await groups.list_group_members(graph, names["Engineering"])
        assert info.value.retry_after == 1.0
        assert graph.throttled_responses == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried(state, graph, names, status):
    faults(state, {"route": "POST /v1.0/groups", "status": status, "count": 2})
    group, _ = await groups.get_group(graph, names["Production Access"])
    result = await groups.add_group_member(graph, group=group, principal_id=names["grady"])
    assert result.outcome is Outcome.APPLIED


async def test_dropped_connection_is_transient_and_retried(state, graph, names):
    faults(state, {"route": "GET /v1.0/groups", "status": 0, "count": 2})
    owners = await groups.list_group_owners(graph, names["Engineering"])
    assert [o.id for o in owners.items] == [names["alex"]]


async def test_replication_lag_404_after_create_is_retried(state, graph, names):
    state.settings.update({"replication_lag_ms": 1500.0})
    group, _ = await groups.get_group(graph, names["Production Access"])
    # the group was "just created": reads and writes 404 until the lag has passed
    state.tenant.created_at[group.id] = state.tenant.now()
    result = await groups.add_group_member(graph, group=group, principal_id=names["grady"])
    assert result.outcome is Outcome.APPLIED
    assert sum(graph.timer.slept) >= 1.5


async def test_role_grant_then_immediate_revoke_by_id_despite_lag(state, graph, names):
    state.settings.update({"replication_lag_ms": 5000.0})
    made = await roles.assign_role(graph, principal_id=names["lee"], role_definition_id=HELPDESK)
    assert made.object_id
    gone = await roles.unassign_role(
        graph,
        principal_id=names["lee"],
        role_definition_id=HELPDESK,
        assignment_id=made.object_id,
    )
    assert gone.outcome is Outcome.APPLIED


async def test_bulk_duplicates_and_mixed_outcomes(state, graph, names):
    prod, dl = names["Production Access"], names["Finance Distribution List"]
    changes = [
        AccessChange(Action.GRANT, names["grady"], prod, Permission.MEMBER, key="a"),
        AccessChange(Action.GRANT, names["grady"], prod, Permission.MEMBER, key="dup"),
        AccessChange(Action.REVOKE, names["lee"], prod, Permission.MEMBER, key="absent"),
        AccessChange(Action.REVOKE, names["diego"], prod, Permission.MEMBER, key="present"),
        AccessChange(Action.GRANT, names["grady"], dl, Permission.MEMBER, key="dl"),
        AccessChange(Action.GRANT, names["lee"], HELPDESK, Permission.ACTIVE, key="role"),
        AccessChange(Action.REVOKE, names["lynne"], HELPDESK, Permission.ACTIVE, key="norole"),
        AccessChange(Action.GRANT, "not-a-guid", prod, Permission.MEMBER, key="bad"),
    ]
    results = {r.change.key: r for r in await bulk.apply_changes(graph, changes)}
    assert {results["a"].outcome, results["dup"].outcome} == {
        Outcome.APPLIED,
        Outcome.ALREADY_PRESENT,
    }
    assert results["absent"].outcome is Outcome.ALREADY_ABSENT
    assert results["present"].outcome is Outcome.APPLIED
    assert results["dl"].outcome is Outcome.FAILED
    assert results["dl"].error_code == "UnchangeableGroup"
    assert not results["dl"].retryable
    assert results["role"].outcome is Outcome.APPLIED
    assert results["role"].extra["assignment_id"]
    assert results["norole"].outcome is Outcome.ALREADY_ABSENT
    assert results["bad"].outcome is Outcome.FAILED
    assert all(r.request_ids for k, r in results.items() if k not in {"dl", "bad"})

    revoke = [AccessChange(Action.REVOKE, names["lee"], HELPDESK, Permission.ACTIVE, key="r")]
    (done,) = await bulk.apply_changes(graph, revoke)
    assert done.outcome is Outcome.APPLIED


async def test_inner_429_and_503_in_batch_are_retried_per_request(state, graph, names):
    prod = names["Production Access"]
    users = [names[k] for k in ("grady", "lee", "lynne", "megan", "johanna", "isaiah")]
    faults(
        state,
        {"route": "POST /v1.0/groups", "status": 429, "count": 3, "retry_after": 1.5},
        {"route": "POST /v1.0/groups", "status": 503, "count": 1},
    )
    changes = [AccessChange(Action.GRANT, u, prod, Permission.MEMBER) for u in users]
    results = await bulk.apply_changes(graph, changes)
    assert [r.outcome for r in results] == [Outcome.APPLIED] * len(users)
    members = await groups.list_group_members(graph, prod)
    assert set(users) <= {m.id for m in members.items}


async def test_batch_returns_results_in_input_order_across_many_batches(graph, names):
    executor = BatchExecutor(graph)
    wanted = [names["Engineering"], "00000000-0000-4000-8000-00000000dead"] * 25
    results = await executor.execute(
        [BatchRequest("GET", f"/groups/{g}?$select=id", priority=Priority.READ) for g in wanted]
    )
    assert executor.stats.batches == 3
    assert [r.ok for r in results] == [True, False] * 25
    assert results[0].body["id"] == names["Engineering"]
    assert results[1].error is not None
    assert results[1].error.http_status == 404
