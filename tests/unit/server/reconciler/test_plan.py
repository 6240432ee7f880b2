"""The pure plan: desired grants x applied memberships x standing -> actions (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jitgate.server.grants.keys import InFlightJob, MembershipKey
from jitgate.server.grants.states import EndReason, GrantStatus
from jitgate.server.reconciler.plan import ActionKind, GrantView, PlanOptions, plan

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def key(principal="alice", resource="r1", integration="i1"):
    return MembershipKey(integration, resource, "member", "/", principal)


def grant(gid, k=None, *, status=GrantStatus.PENDING, start=-H, end=H, ended=None, reason=None):
    return GrantView(
        id=gid,
        key=k or key(),
        status=status,
        starts_at=NOW + start,
        ends_at=None if end is None else NOW + end,
        ended_at=ended,
        end_reason=reason,
    )


def expired(gid, k=None, end=-H / 2):
    return grant(
        gid,
        k,
        status=GrantStatus.REVOKING,
        start=-2 * H,
        end=end,
        ended=NOW + end,
        reason=EndReason.EXPIRED,
    )


def kinds(actions):
    return [(a.kind, a.grant_ids) for a in actions]


def test_due_grant_is_granted_once_for_every_pending_grant_of_the_key():
    actions = plan([grant("g2"), grant("g1")], set(), set(), NOW)
    assert kinds(actions) == [(ActionKind.GRANT, ("g1", "g2"))]
    assert actions[0].ends_at == NOW + H


def test_grant_not_yet_started_is_left_alone():
    assert plan([grant("g1", start=H, end=2 * H)], set(), set(), NOW) == []


def test_expired_applied_membership_is_revoked():
    actions = plan([expired("g1")], {key()}, set(), NOW)
    assert kinds(actions) == [(ActionKind.REVOKE, ("g1",))]


def test_applied_membership_without_any_grant_is_revoked():
    assert kinds(plan([], {key()}, set(), NOW)) == [(ActionKind.REVOKE, ())]


def test_overlapping_grants_first_expiry_only_ends_the_grant_row():
    actions = plan(
        [expired("early"), grant("later", status=GrantStatus.ACTIVE)], {key()}, set(), NOW
    )
    assert kinds(actions) == [(ActionKind.MARK_ENDED, ("early",))]


def test_pending_grant_on_applied_key_is_activated_without_graph():
    actions = plan([grant("a", status=GrantStatus.ACTIVE), grant("b")], {key()}, set(), NOW)
    assert kinds(actions) == [(ActionKind.ACTIVATE, ("b",))]


def test_standing_membership_is_never_revoked_at_expiry():
    actions = plan([expired("g1")], {key()}, {key()}, NOW)
    assert kinds(actions) == [(ActionKind.MARK_ENDED, ("g1",))]


def test_standing_key_grants_are_activated_without_a_write():
    assert kinds(plan([grant("g1")], set(), {key()}, NOW)) == [(ActionKind.ACTIVATE, ("g1",))]


def test_revoked_before_start_ends_without_graph():
    early = grant("g1", status=GrantStatus.REVOKING, start=H, ended=NOW, reason=EndReason.REVOKED)
    assert kinds(plan([early], set(), set(), NOW)) == [(ActionKind.MARK_ENDED, ("g1",))]


def test_open_job_on_the_key_queues_nothing_more():
    inflight = PlanOptions(inflight={key(): InFlightJob.GRANT})
    assert plan([grant("g1")], set(), set(), NOW, inflight) == []
    revoking = PlanOptions(inflight={key(): InFlightJob.REVOKE})
    assert plan([expired("g1")], {key()}, set(), NOW, revoking) == []


def test_ended_grant_waits_for_its_grant_write_in_flight():
    options = PlanOptions(inflight={key(): InFlightJob.GRANT})
    assert plan([expired("g1")], set(), set(), NOW, options) == []


def test_revocations_come_first():
    other = key("bob")
    actions = plan([grant("g1"), expired("g2", other)], {other}, set(), NOW)
    assert [a.kind for a in actions] == [ActionKind.REVOKE, ActionKind.GRANT]


def test_pim_expiry_is_verified_within_grace_then_revoked():
    options = PlanOptions(pim_integrations=frozenset({"i1"}), pim_grace=H)
    within = plan([expired("g1")], {key()}, set(), NOW, options)
    assert kinds(within) == [(ActionKind.VERIFY, ("g1",))]
    late = plan([expired("g1", end=-2 * H)], {key()}, set(), NOW, options)
    assert kinds(late) == [(ActionKind.REVOKE, ("g1",))]
    assert late[0].pim_fallback


def test_pim_early_revocation_is_revoked_at_once():
    options = PlanOptions(pim_integrations=frozenset({"i1"}), pim_grace=H)
    revoked = grant("g1", status=GrantStatus.REVOKING, ended=NOW, reason=EndReason.REVOKED)
    actions = plan([revoked], {key()}, set(), NOW, options)
    assert kinds(actions) == [(ActionKind.REVOKE, ("g1",))]
    assert not actions[0].pim_fallback


# --- pim extensions ---------------------------------------------------------------------------

PIM = PlanOptions(pim_integrations=frozenset({"i1"}), applied_ends={key(): NOW + H})


def test_pim_extension_moves_the_expiry_entra_holds():
    extended = grant("g1", status=GrantStatus.ACTIVE, end=3 * H)
    actions = plan([extended], {key()}, set(), NOW, PIM)
    assert kinds(actions) == [(ActionKind.EXTEND, ("g1",))]
    assert actions[0].ends_at == NOW + 3 * H


def test_direct_mode_extension_needs_no_graph_write():
    extended = grant("g1", status=GrantStatus.ACTIVE, end=3 * H)
    direct = PlanOptions(applied_ends={key(): NOW + H})
    assert plan([extended], {key()}, set(), NOW, direct) == []


def test_pim_expiry_already_at_the_grant_end_is_left_alone():
    assert plan([grant("g1", status=GrantStatus.ACTIVE, end=H)], {key()}, set(), NOW, PIM) == []


def test_pim_expiry_unknown_is_not_extended():
    options = PlanOptions(pim_integrations=frozenset({"i1"}))
    extended = grant("g1", status=GrantStatus.ACTIVE, end=3 * H)
    assert plan([extended], {key()}, set(), NOW, options) == []


def test_overlapping_pim_grants_extend_to_the_latest_end():
    grants = [
        grant("short", status=GrantStatus.ACTIVE, end=H / 2),
        grant("long", status=GrantStatus.ACTIVE, end=5 * H),
        grant("new", end=2 * H),
    ]
    actions = plan(grants, {key()}, set(), NOW, PIM)
    assert kinds(actions) == [
        (ActionKind.EXTEND, ("long", "new", "short")),
        (ActionKind.ACTIVATE, ("new",)),
    ]
    assert actions[0].ends_at == NOW + 5 * H


def test_an_earlier_end_never_shortens_the_pim_expiry():
    options = PlanOptions(pim_integrations=frozenset({"i1"}), applied_ends={key(): NOW + 4 * H})
    grants = [grant("g1", status=GrantStatus.ACTIVE, end=2 * H), grant("g2", end=3 * H)]
    assert kinds(plan(grants, {key()}, set(), NOW, options)) == [(ActionKind.ACTIVATE, ("g2",))]


def test_pim_extension_waits_for_a_write_in_flight():
    extended = grant("g1", status=GrantStatus.ACTIVE, end=3 * H)
    for sort in (InFlightJob.GRANT, InFlightJob.EXTEND, InFlightJob.REVOKE):
        options = PlanOptions(
            pim_integrations=frozenset({"i1"}),
            applied_ends={key(): NOW + H},
            inflight={key(): sort},
        )
        assert plan([extended], {key()}, set(), NOW, options) == []
    reading = PlanOptions(
        pim_integrations=frozenset({"i1"}),
        applied_ends={key(): NOW + H},
        inflight={key(): InFlightJob.VERIFY},
    )
    assert kinds(plan([extended], {key()}, set(), NOW, reading)) == [(ActionKind.EXTEND, ("g1",))]


def test_pim_key_not_applied_is_granted_to_the_latest_end_not_extended():
    grants = [grant("g1", end=2 * H), grant("g2", end=3 * H)]
    actions = plan(grants, set(), set(), NOW, PIM)
    assert kinds(actions) == [(ActionKind.GRANT, ("g1", "g2"))]
    assert actions[0].ends_at == NOW + 3 * H


# --- properties -------------------------------------------------------------------------------

KEYS = st.builds(key, st.sampled_from(["alice", "bob", "carol"]), st.sampled_from(["r1", "r2"]))
OFFSETS = st.integers(min_value=-180, max_value=180).map(lambda m: timedelta(minutes=m))


@st.composite
def grant_views(draw, gid):
    k = draw(KEYS)
    status = draw(st.sampled_from(list(GrantStatus)))
    start = draw(OFFSETS)
    end = draw(
        st.none() | st.integers(min_value=1, max_value=240).map(lambda m: timedelta(minutes=m))
    )
    ends_at = None if end is None else NOW + start + end
    ended = None
    reason = None
    if status in {GrantStatus.REVOKING, GrantStatus.ENDED, GrantStatus.FAILED}:
        ended = NOW + draw(OFFSETS)
        reason = draw(st.sampled_from(list(EndReason)))
    return GrantView(gid, k, status, NOW + start, ends_at, ended, reason)


@st.composite
def worlds(draw):
    count = draw(st.integers(min_value=0, max_value=8))
    grants = [draw(grant_views(f"g{i}")) for i in range(count)]
    actual = draw(st.sets(KEYS, max_size=6))
    standing = draw(st.sets(KEYS, max_size=3))
    inflight = draw(st.dictionaries(KEYS, st.sampled_from(list(InFlightJob)), max_size=2))
    return grants, actual, standing, inflight


def _live_keys(grants):
    return {g.key for g in grants if g.is_live(NOW)}


@settings(max_examples=400)
@given(worlds())
def test_never_revokes_standing_or_covered_membership(world):
    grants, actual, standing, inflight = world
    actions = plan(grants, actual, standing, NOW, PlanOptions(inflight=inflight))
    revoked = {a.key for a in actions if a.kind is ActionKind.REVOKE}
    assert not revoked & standing
    assert not revoked & _live_keys(grants)


@settings(max_examples=400)
@given(worlds())
def test_every_expired_uncovered_applied_membership_is_revoked(world):
    grants, actual, standing, _ = world
    actions = plan(grants, actual, standing, NOW)
    revoked = {a.key for a in actions if a.kind is ActionKind.REVOKE}
    assert revoked == actual - standing - _live_keys(grants)


@pytest.mark.parametrize("mode", ["direct", "pim"])
@settings(max_examples=300)
@given(world=worlds())
def test_one_job_per_key_and_revocations_first(world, mode):
    grants, actual, standing, inflight = world
    options = PlanOptions(inflight=inflight)
    if mode == "pim":  # Entra's expiry is known and may be outlasted: extensions join in
        ends = dict.fromkeys(actual, NOW)
        options = PlanOptions(
            pim_integrations=frozenset({"i1"}), inflight=inflight, applied_ends=ends
        )
    actions = plan(grants, actual, standing, NOW, options)
    writes = {ActionKind.GRANT, ActionKind.EXTEND, ActionKind.REVOKE}
    jobs = [a.key for a in actions if a.kind in writes]
    assert len(jobs) == len(set(jobs))
    writing = {k for k, sort in inflight.items() if sort is not InFlightJob.VERIFY}
    assert not set(jobs) & writing
    order = [a.kind is ActionKind.REVOKE for a in actions]
    assert order == sorted(order, reverse=True)


@settings(max_examples=300)
@given(worlds())
def test_every_live_key_not_held_gets_one_grant_write(world):
    grants, actual, standing, _ = world
    actions = plan(grants, actual, standing, NOW)
    granted = {a.key for a in actions if a.kind is ActionKind.GRANT}
    assert granted == _live_keys(grants) - actual - standing


@settings(max_examples=300)
@given(worlds())
def test_every_live_pending_grant_is_served(world):
    grants, actual, standing, _ = world
    actions = plan(grants, actual, standing, NOW)
    served = {
        gid
        for a in actions
        if a.kind in {ActionKind.GRANT, ActionKind.ACTIVATE}
        for gid in a.grant_ids
    }
    pending = {g.id for g in grants if g.is_live(NOW) and g.status is GrantStatus.PENDING}
    assert pending <= served
