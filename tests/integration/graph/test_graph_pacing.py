"""The shipped client learns a budget smaller than its tier's, against the emulator, in emulator
time (``EmulatorTimer``): few 429s, every write applied, the learnt rate kept for the next job."""

from __future__ import annotations

import pytest

from conftest import make_client
from jitgate.emulator.state import build_state
from jitgate.graph.operations import bulk
from jitgate.graph.operations.groups import parse_group
from jitgate.graph.operations.models import AccessChange, Action, Outcome
from jitgate.protocol.v1 import Permission

pytestmark = pytest.mark.anyio
DONE = {Outcome.APPLIED, Outcome.ALREADY_PRESENT}


def plan(state, start: int, count: int):
    users = sorted(state.tenant.users)
    groups = sorted(
        g["id"]
        for g in state.tenant.groups.values()
        if not set(g.get("groupTypes") or []) & {"Unified", "DynamicMembership"}
        and not g.get("mailEnabled")
        and not g.get("isAssignableToRole")
        and not g.get("onPremisesSyncEnabled")
    )
    changes = [
        AccessChange(
            Action.GRANT, users[i // len(groups)], groups[i % len(groups)], Permission.MEMBER
        )
        for i in range(start, start + count)
    ]
    return changes, {g: parse_group(state.tenant.groups[g]) for g in groups}


@pytest.fixture
def small_bucket():
    """An app + tenant write bucket of 60 per 30 s (2 a second): a tenth of the tier's pace."""
    state = build_state(generate={"users": 30, "groups": 20, "members_per_group": 0})
    state.settings.update({"tier": "L", "write_budget": 60, "write_window_s": 30.0})
    return state


async def test_a_smaller_bucket_is_learnt_with_few_429s(small_bucket):
    state = small_bucket
    async with make_client(state) as graph:
        changes, known = plan(state, 0, 200)
        start = graph.timer.monotonic()
        results = await bulk.apply_changes(graph, changes, groups=known)
        seconds = graph.timer.monotonic() - start
        assert all(r.outcome in DONE for r in results)
        limiter = graph.limiter
        assert limiter.write_capacity == pytest.approx(60, rel=0.25)
        assert 1.0 <= limiter.write_rate <= 2.2  # 2 a second, and probing a little above
        # the best possible is (200 - 60) / 2 = 70 s
        assert seconds <= 70 / 0.8
        # a tiny bucket (three $batch requests) and slow refill: measuring takes several episodes
        assert limiter.stats.throttled <= 200 * 0.2
        learnt, episodes = limiter.write_rate, limiter.stats.episodes
        # the next job starts from what was learnt: no new burst episode, hardly a 429
        more, _ = plan(state, 200, 100)
        again = await bulk.apply_changes(graph, more, groups=known)
        assert all(r.outcome in DONE for r in again)
        assert limiter.stats.episodes - episodes <= 2
        assert limiter.write_rate == pytest.approx(learnt, rel=0.3)


async def test_revocations_go_before_queued_grants_while_paced(small_bucket):
    state = small_bucket
    async with make_client(state) as graph:
        changes, known = plan(state, 0, 60)
        await bulk.apply_changes(graph, changes, groups=known)  # the burst is spent
        grants, _ = plan(state, 60, 40)
        revokes = [
            AccessChange(Action.REVOKE, c.principal_id, c.resource_id, c.permission)
            for c in changes[:20]
        ]
        results = await bulk.apply_changes(graph, grants + revokes, groups=known)
        assert all(r.outcome in DONE for r in results)
        log = [op for _, op in list(state.tenant.write_log)[-60:]]
        # the limiter lets revocations go first; a throttled one is retried after its round
        assert log[0] == "remove"
        assert log.index("add") >= 4
