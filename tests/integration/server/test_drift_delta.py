"""Drift with delta membership reads: the snapshot they update is judged as a full read would be.

``DeltaDirectory`` answers group member reads the way the connector does with Graph's delta
query: a read without a link (or with one it does not know) is a full round with a new link; a
read with a link returns only the members added and removed since. The drift tests run with both
directories and must reach the same findings.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine_world import Directory, approved, engine_world, events, open_jobs, run_connector, tick
from jitgate.protocol.v1 import (
    JobResult,
    MemberRef,
    Outcome,
    ReadMembershipData,
    ReadMembershipPayload,
)
from jitgate.server.grants.models import Membership, StandingMembership
from jitgate.server.integrations.models import IntegrationStatus, MembershipMode
from jitgate.server.integrations.sync_models import ObservedMember, ResourceSync
from jitgate.server.jobs.models import Job, JobKind
from jitgate.server.jobs.service import parse_payload
from jitgate.server.reconciler.observed import observe, snapshot
from jitgate.server.reconciler.tick import ReconcilerConfig

DRIFT = ReconcilerConfig(
    periodic=True,
    drift_interval=timedelta(minutes=15),
    discovery_interval=timedelta(days=365),  # not what these tests are about
)


class DeltaDirectory(Directory):
    """Member reads are delta rounds; ``reads`` records (link given, full?) per read."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.rounds: dict[str, frozenset[str]] = {}
        self.reads: list[tuple[str | None, bool]] = []

    def respond(self, job: Job) -> JobResult:
        payload = parse_payload(job.kind, job.payload)
        if not isinstance(payload, ReadMembershipPayload) or payload.permission != "member":
            return super().respond(job)
        now = frozenset(self.holders(payload.resource_external_id))
        link = f"https://graph.test/v1.0/groups/delta?$deltatoken={len(self.rounds)}"
        self.rounds[link] = now
        before = self.rounds.get(payload.delta_link or "")
        self.reads.append((payload.delta_link, before is None))
        if before is None:
            data = ReadMembershipData(
                members=[MemberRef(id=m) for m in sorted(now)],
                delta_link=link,
                request_ids=self._rid(),
            )
        else:
            data = ReadMembershipData(
                full=False,
                members=[MemberRef(id=m) for m in sorted(now - before)],
                removed=[MemberRef(id=m) for m in sorted(before - now)],
                delta_link=link,
                request_ids=self._rid(),
            )
        return JobResult(outcome=Outcome.SUCCEEDED, data=data)


DIRECTORIES = pytest.mark.parametrize("make_directory", [Directory, DeltaDirectory])


def _granted(session, sessions, clock, w, directory, *, who=None):
    approved(session, clock, w, who=who)
    tick(sessions, clock)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)


def _read(session, sessions, clock, w, directory) -> Job:
    """A drift tick queues the read; the connector answers it."""
    tick(sessions, clock, DRIFT)
    [job] = open_jobs(session, JobKind.READ_MEMBERSHIP)
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    return job


def _sync(session, w) -> ResourceSync:
    session.expire_all()
    sync = session.get(ResourceSync, (w.finance.id, "member", "/"))
    assert sync is not None
    return sync


def _principals(events_) -> list[str]:
    return [e.after["principal_id"] for e in events_]


@DIRECTORIES
def test_a_member_removed_by_hand_is_missing(session, sessions, clock, make_directory):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = make_directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)  # the first round: every member
    assert events(session, "drift.missing") == []
    clock.advance(timedelta(minutes=15))
    directory.holders(w.finance.external_id).discard("oid-alice")
    _read(session, sessions, clock, w, directory)
    assert _principals(events(session, "drift.missing")) == ["oid-alice"]
    tick(sessions, clock)
    assert [j.kind for j in open_jobs(session)] == [JobKind.GRANT]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert directory.holders(w.finance.external_id) == {"oid-alice"}
    if isinstance(directory, DeltaDirectory):
        assert [full for _, full in directory.reads] == [True, False]


@DIRECTORIES
def test_an_unknown_member_is_reported_in_additive_mode(session, sessions, clock, make_directory):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = make_directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=15))
    directory.holders(w.finance.external_id).add("oid-stranger")
    _read(session, sessions, clock, w, directory)
    assert _principals(events(session, "drift.unknown_member")) == ["oid-stranger"]
    clock.advance(timedelta(minutes=15))
    _read(session, sessions, clock, w, directory)  # a delta round without changes
    assert len(events(session, "drift.unknown_member")) == 1, "reported once"
    clock.advance(timedelta(minutes=15))
    directory.holders(w.finance.external_id).discard("oid-stranger")
    _read(session, sessions, clock, w, directory)
    session.expire_all()
    assert session.scalars(select(StandingMembership)).one().removed_at is not None
    assert _principals(events(session, "membership.standing_gone")) == ["oid-stranger"]


@DIRECTORIES
def test_an_unknown_member_is_removed_in_authoritative_mode(
    session, sessions, clock, make_directory
):
    w = engine_world(
        session,
        clock,
        status=IntegrationStatus.ACTIVE,
        membership_mode=MembershipMode.AUTHORITATIVE,
    )
    directory = make_directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=15))
    directory.holders(w.finance.external_id).add("oid-stranger")
    _read(session, sessions, clock, w, directory)
    assert _principals(events(session, "drift.remove")) == ["oid-stranger"]
    assert [j.payload["principal_id"] for j in open_jobs(session, JobKind.REVOKE)] == [
        "oid-stranger"
    ]
    run_connector(sessions, clock, w.integration.connector_id, directory.respond)
    assert directory.holders(w.finance.external_id) == {"oid-alice"}
    clock.advance(timedelta(minutes=15))
    _read(session, sessions, clock, w, directory)  # the removal comes back as a delta
    assert len(events(session, "drift.remove")) == 1
    if isinstance(directory, DeltaDirectory):
        assert snapshot(session, _sync(session, w)) == {"oid-alice"}


@DIRECTORIES
def test_a_write_newer_than_the_read_is_not_judged(session, sessions, clock, make_directory):
    """READ_SETTLE holds for delta reads too: a stale miss of a fresh grant is not drift."""
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = make_directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=15))
    _granted(session, sessions, clock, w, directory, who=w.bob)
    directory.holders(w.finance.external_id).discard("oid-bob")  # what a stale read shows
    _read(session, sessions, clock, w, directory)
    assert events(session, "drift.missing") == []
    session.expire_all()
    rows = session.scalars(select(Membership).order_by(Membership.principal_id)).all()
    assert [(r.principal_id, r.applied) for r in rows] == [("oid-alice", True), ("oid-bob", True)]


def test_the_delta_link_is_stored_and_sent_with_the_next_read(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = DeltaDirectory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    first = _read(session, sessions, clock, w, directory)
    assert first.payload.get("delta_link") is None
    sync = _sync(session, w)
    assert sync.delta_link is not None
    assert sync.last_full_at == clock.now()
    assert snapshot(session, sync) == {"oid-alice"}
    link = sync.delta_link
    clock.advance(timedelta(minutes=15))
    directory.holders(w.finance.external_id).add("oid-stranger")
    second = _read(session, sessions, clock, w, directory)
    assert second.payload["delta_link"] == link
    sync = _sync(session, w)
    assert sync.delta_link not in {None, link}
    assert snapshot(session, sync) == {"oid-alice", "oid-stranger"}
    assert directory.reads == [(None, True), (link, False)]


def test_a_full_round_is_forced_once_the_last_is_a_day_old(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = DeltaDirectory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    full_at = _sync(session, w).last_full_at
    clock.advance(timedelta(hours=23))
    _read(session, sessions, clock, w, directory)
    assert _sync(session, w).delta_link is not None, "younger than a day: keep the link"
    clock.advance(timedelta(hours=2))
    _read(session, sessions, clock, w, directory)  # still a delta round, judged as usual
    sync = _sync(session, w)
    assert (sync.delta_link, sync.last_full_at) == (None, full_at)
    clock.advance(timedelta(minutes=15))
    forced = _read(session, sessions, clock, w, directory)
    assert forced.payload.get("delta_link") is None
    sync = _sync(session, w)
    assert sync.delta_link is not None
    assert sync.last_full_at == clock.now()
    assert [full for _, full in directory.reads] == [True, False, False, True]


def test_a_full_read_without_a_link_keeps_no_snapshot(session, sessions, clock):
    """Owners, roles and connectors without delta reads: the read is judged as it is."""
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = DeltaDirectory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)
    sync = _sync(session, w)
    assert snapshot(session, sync) == {"oid-alice"}
    members = observe(
        session=session,
        clock=clock,
        sync=sync,
        data=ReadMembershipData(members=[MemberRef(id="oid-alice"), MemberRef(id="oid-x")]),
    )
    assert members == {"oid-alice", "oid-x"}
    assert (sync.delta_link, sync.last_full_at) == (None, None)
    assert session.scalars(select(ObservedMember)).all() == []


def test_changes_without_a_snapshot_are_not_judged(session, sessions, clock):
    w = engine_world(session, clock, status=IntegrationStatus.ACTIVE)
    directory = Directory()
    _granted(session, sessions, clock, w, directory)
    clock.advance(timedelta(minutes=1))
    _read(session, sessions, clock, w, directory)  # a full read without a link: no snapshot
    sync = _sync(session, w)
    sync.delta_link = "https://graph.test/v1.0/groups/delta?$deltatoken=stale"
    changes = ReadMembershipData(full=False, removed=[MemberRef(id="oid-alice")])
    assert observe(session=session, clock=clock, sync=sync, data=changes) is None
    assert sync.delta_link is None, "the next read is a full round"
