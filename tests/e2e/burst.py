"""A burst of grants, expiries, revocations and overlaps through a running ``DevStack``.

Shared by the crash and the fault tests: ``plan_burst`` picks (user, group) pairs with a seeded
RNG, ``run_burst`` submits, revokes and re-requests them (calling ``chaos`` between chunks),
``check_outcome`` compares the emulator's final state and the audit log with what must hold.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stackworld import (
    all_pages,
    audit_events,
    graph_write_events,
    group_resources,
    request_with_retry,
    users_by_upn,
    wait_statuses,
)

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from jitgate.devstack import DevStack

Pair = tuple[str, str]  # (user object id, group object id)
OPEN = {"pending", "approved", "granting", "active"}


@dataclass
class Burst:
    """What to do, and what was done."""

    upn: dict[str, str]  # user object id -> UPN
    resource: dict[str, str]  # group object id -> resource id
    initial: dict[str, set[str]]  # group object id -> members before the burst
    pairs: list[Pair]
    short: set[Pair]  # one-minute requests that expire on their own
    revoke: set[Pair]  # long requests revoked by an admin
    overlap: set[Pair]  # revoked, then requested again at once (the membership must stay)
    requests: dict[str, Pair] = field(default_factory=dict)  # request id -> pair
    expected: dict[str, set[str]] = field(default_factory=dict)  # request id -> final statuses

    def standing(self) -> set[Pair]:
        """Pairs that were members before the burst."""
        return {(u, g) for u, g in self.pairs if u in self.initial.get(g, set())}


def plan_burst(
    stack: DevStack, integration_id: str, rng: random.Random, *, pairs: int, standing: int
) -> Burst:
    """Pick ``pairs`` distinct (user, group) pairs, ``standing`` of them existing members."""
    exported = stack.graph.export()
    known = users_by_upn(stack)
    users = {
        u["id"]: u["userPrincipalName"]
        for u in exported["users"]
        if u["userPrincipalName"] in known and u.get("accountEnabled", True)
    }
    groups = {
        gid: r["id"]
        for gid, r in group_resources(stack, integration_id).items()
        if not r["attributes"]["dynamic"]
        and not r["attributes"]["mail_enabled"]
        and not r["attributes"]["on_premises_sync_enabled"]
    }
    initial = {g: set(exported["members"].get(g, [])) & set(users) for g in groups}
    members = sorted((u, g) for g, ms in initial.items() for u in ms)
    chosen = rng.sample(members, min(standing, len(members)))
    others = sorted((u, g) for g in groups for u in users if u not in initial[g])
    chosen += rng.sample(others, pairs - len(chosen))
    rng.shuffle(chosen)
    third = len(chosen) // 3
    short = set(chosen[:third])
    revoke = set(rng.sample(chosen[third:], third))
    overlap = set(rng.sample(sorted(revoke), third // 4))
    return Burst(users, groups, initial, chosen, short, revoke, overlap)


def _submit(stack: DevStack, burst: Burst, pair: Pair, minutes: int) -> str:
    body = {
        "grantee": burst.upn[pair[0]],
        "resource_ids": [burst.resource[pair[1]]],
        "permissions": ["member"],
        "duration_min": minutes,
    }
    response = request_with_retry(stack.api, "POST", "/requests", body)
    if response.status_code == 409:  # the server died after committing: find the request
        return _open_request(stack, burst, pair)
    response.raise_for_status()
    return str(response.json()["id"])


def _open_request(stack: DevStack, burst: Burst, pair: Pair) -> str:
    for row in all_pages(stack.api, "/requests"):
        if (
            row["grantee"]["upn"] == burst.upn[pair[0]]
            and row["units"][0]["resource_id"] == burst.resource[pair[1]]
            and row["status"] in OPEN
        ):
            return str(row["id"])
    raise AssertionError(f"no open request for {pair}")


def run_burst(
    stack: DevStack,
    burst: Burst,
    chaos: Callable[[], None],
    *,
    chunk: int = 40,
    expire: Callable[[list[str]], None] | None = None,
) -> None:
    """Submit every pair (short ones first), revoke some, re-request some; chaos in between.

    With ``expire``, the short requests are handed to it once all are submitted (e.g. to move
    their end into the past, so their expiries run during the revocations, not a minute later).
    """
    order = sorted(burst.pairs, key=lambda p: p not in burst.short)
    for start in range(0, len(order), chunk):
        for pair in order[start : start + chunk]:
            # With ``expire`` the test ends the short grants itself; a one-minute request could
            # otherwise expire on a loaded machine before ``expire`` sees it active.
            minutes = 1 if pair in burst.short and expire is None else 120
            request_id = _submit(stack, burst, pair, minutes)
            burst.requests[request_id] = pair
            if pair in burst.short:
                burst.expected[request_id] = {"expired"}
            elif pair in burst.revoke:
                burst.expected[request_id] = {"revoked"}
            else:
                burst.expected[request_id] = {"active"}
        chaos()
    if expire is not None:
        expire([rid for rid, pair in burst.requests.items() if pair in burst.short])
    by_pair = {pair: rid for rid, pair in burst.requests.items()}
    revoking = sorted(burst.revoke)
    for start in range(0, len(revoking), chunk):
        for pair in revoking[start : start + chunk]:
            response = request_with_retry(
                stack.api, "POST", f"/requests/{by_pair[pair]}/revoke", {"reason": "burst"}
            )
            assert response.status_code in {200, 409}, response.text
            if pair in burst.overlap:
                again = _submit(stack, burst, pair, 120)
                burst.requests[again] = pair
                burst.expected[again] = {"active"}
        chaos()


def settle(stack: DevStack, burst: Burst, *, timeout_s: float) -> dict[str, str]:
    """Wait until every request reached its final status."""
    statuses: dict[str, str] = {}
    for finals in {frozenset(v) for v in burst.expected.values()}:
        ids = [rid for rid, want in burst.expected.items() if want == finals]
        statuses.update(wait_statuses(stack, ids, set(finals), timeout_s=timeout_s))
    wrong = {
        rid: (statuses[rid], burst.expected[rid])
        for rid in burst.requests
        if statuses[rid] not in burst.expected[rid]
    }
    assert not wrong, f"{len(wrong)} requests ended wrongly: {list(wrong.items())[:5]}"
    return statuses


def _key(event: dict[str, Any]) -> Pair:
    payload = event["context"]["payload"]
    return payload["principal_id"], payload["resource_external_id"]


def check_outcome(stack: DevStack, burst: Burst, statuses: dict[str, str]) -> None:
    """Membership in the emulator, no standing membership removed, the audit log."""
    members = stack.graph.export()["members"]
    active = {burst.requests[rid] for rid, s in statuses.items() if s == "active"}
    standing = burst.standing()
    for user, group in burst.pairs:
        want = (user, group) in active or (user, group) in standing
        have = user in members.get(group, [])
        assert have == want, f"{burst.upn[user]} in {group}: member={have}, expected {want}"
    for group, before in burst.initial.items():
        lost = before - set(members.get(group, []))
        assert not lost, f"standing members of {group} removed: {sorted(lost)}"
    grants = all_pages(stack.api, "/grants")
    per_request = Counter(g["request_id"] for g in grants)
    assert set(per_request) == set(burst.requests)
    assert set(per_request.values()) == {1}, "duplicate grant rows"
    assert stack.call("GET", "/audit/verify")["ok"] is True
    events = audit_events(stack.api)
    assert not [e for e in events if e["action"] == "job.dead"], "dead jobs"
    writes = graph_write_events(events)
    per_job = Counter(e["target_id"] for e in writes)
    assert max(per_job.values()) == 1, "a Graph change audited twice"
    assert all(e["action"] == "job.succeeded" for e in writes), "a Graph change failed"
    # A grant write whose answer was lost can land after the revoke; the broker reads the key
    # again and removes it once more (membership.late_write): those removals are counted apart.
    late = {e["context"]["revoke_job_id"] for e in events if e["action"] == "membership.late_write"}
    assert {_key(e) for e in writes if e["target_id"] in late} <= set(burst.pairs) - standing
    writes = [e for e in writes if e["target_id"] not in late]
    _check_writes(burst, writes, active, standing)
    _check_overlaps(burst, events, writes)


def _check_writes(
    burst: Burst, writes: list[dict[str, Any]], active: set[Pair], standing: set[Pair]
) -> None:
    """Each non-standing pair: one add, and one remove unless it is still active."""
    adds = Counter(_key(e) for e in writes if e["after"]["kind"] == "grant")
    removes = Counter(_key(e) for e in writes if e["after"]["kind"] == "revoke")
    for pair in set(burst.pairs) - standing:
        if pair in burst.overlap:
            # The re-request comes right after the revocation: when the reconciler saw the
            # revocation before the new request existed, no grant covered the membership, so it
            # was removed and then granted again (remove-then-add). Invariant 3 forbids only a
            # removal while a live grant covers the key: then there would be no second add.
            assert adds[pair] in {1, 2}, f"{pair}: {adds[pair]} grant writes"
            moves = f"{adds[pair]} adds, {removes[pair]} removes"
            assert removes[pair] == adds[pair] - 1, f"{pair}: {moves}"
            continue
        assert adds[pair] == 1, f"{pair}: {adds[pair]} grant writes"
        assert removes[pair] == (0 if pair in active else 1), f"{pair}: {removes[pair]} removes"
    for pair in standing:
        assert removes[pair] == 0, f"standing {pair} removed"


def _check_overlaps(
    burst: Burst, events: list[dict[str, Any]], writes: list[dict[str, Any]]
) -> None:
    """Invariant 3: a removal never lands while the re-request's grant is already active."""
    activated = {e["target_id"]: e["seq"] for e in events if e["action"] == "grant.activate"}
    removed = {_key(e): e["seq"] for e in writes if e["after"]["kind"] == "revoke"}
    latest = {pair: rid for rid, pair in burst.requests.items()}  # insertion order: the re-request
    for pair in burst.overlap & set(removed):
        again = latest[pair]
        assert removed[pair] < activated[again], f"{pair}: removed under the active {again}"


def timed(label: str, timings: dict[str, float], since: float) -> float:
    """Record a phase's duration (for the failure message only; tests assert outcomes)."""
    now = time.monotonic()
    timings[label] = round(now - since, 1)
    return now
