"""The pure heart of the reconciler: desired grants vs applied memberships -> actions. No I/O.

A *membership key* is (integration, resource, permission, scope, principal object id). For each
key the plan compares:

* **desired**: grants that are live now (``starts_at <= now < ends_at``, not ended, pending or
  active);
* **actual**: keys the broker knows it applied (its ``membership`` rows);
* **standing**: keys that existed before any grant and are protected (invariant 2; in an
  authoritative integration only the allow-listed ones are passed in here);
* **inflight**: keys with an open grant or revoke job (one open job per key).

Rules (invariants 1, 2, 3):

* desired, not applied, no write in flight -> ``Grant`` (one job for every live grant of the key:
  an active grant whose membership was removed by hand is granted again);
* desired and applied (or standing) -> ``Activate`` each pending grant without a Graph call, and
  ``MarkEnded``
  each ended grant (another live grant still needs the membership: an early expiry never removes a
  later grant);
* desired and applied in ``pim`` mode, Entra's expiry (``applied_ends``) earlier than the latest
  end of the live grants, no write in flight -> ``Extend`` it to that end (an extended request,
  or a later overlapping grant: Entra would otherwise remove the access at the old end). An
  earlier end never shortens it: jitgate ends access early by removing it, as for a revoke;
* not desired, applied, not standing, nothing in flight -> ``Revoke`` (in ``pim`` mode, a grant
  that simply reached its end is first ``Verify``-ed until the grace period is over: Entra removes
  it itself);
* not desired and standing -> ``MarkEnded`` (the broker never removes access it did not give);
* not desired, applied, its removal refused for good until a retry time (``blocked``) ->
  nothing until then (``jitgate.server.reconciler.blocked``);
* not desired, not applied, no grant job in flight -> ``MarkEnded`` (nothing to remove: e.g. a
  grant revoked before it started).

Revocations come first in the output (invariant 7).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from jitgate.core.settings import default_interval
from jitgate.server.grants.keys import InFlightJob, MembershipKey
from jitgate.server.grants.states import EndReason, GrantStatus

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping, Sequence
    from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class GrantView:
    """What the plan needs to know about one grant."""

    id: str
    key: MembershipKey
    status: GrantStatus
    starts_at: datetime
    ends_at: datetime | None
    ended_at: datetime | None = None
    end_reason: EndReason | None = None

    def is_live(self, now: datetime) -> bool:
        """In force now: started, not past its end, not ended, pending or active."""
        return (
            self.status in {GrantStatus.PENDING, GrantStatus.ACTIVE}
            and self.ended_at is None
            and self.starts_at <= now
            and (self.ends_at is None or now < self.ends_at)
        )


class ActionKind(StrEnum):
    """What an action does."""

    REVOKE = "revoke"
    VERIFY = "verify"
    MARK_ENDED = "mark_ended"
    EXTEND = "extend"
    GRANT = "grant"
    ACTIVATE = "activate"


ORDER = {
    ActionKind.REVOKE: 0,
    ActionKind.VERIFY: 1,
    ActionKind.MARK_ENDED: 2,
    ActionKind.EXTEND: 3,
    ActionKind.GRANT: 4,
    ActionKind.ACTIVATE: 5,
}
#: Writes on a key: while one is in flight the key gets no other write.
WRITES = frozenset({InFlightJob.GRANT, InFlightJob.EXTEND, InFlightJob.REVOKE})


@dataclass(frozen=True, slots=True)
class Action:
    """One step: a job on a key (grant, revoke, verify) or a grant row change without Graph."""

    kind: ActionKind
    key: MembershipKey
    grant_ids: tuple[str, ...] = ()
    ends_at: datetime | None = None
    pim_fallback: bool = False

    def describe(self) -> str:
        """One readable line (dry runs, logs)."""
        k = self.key
        grants = ",".join(self.grant_ids) or "-"
        return (
            f"{self.kind} principal={k.principal_id} resource={k.resource_id} "
            f"permission={k.permission} scope={k.scope} grants={grants}"
        )


#: PIM mode's grace after ends_at unless the caller says (``pim_grace_s``).
DEFAULT_PIM_GRACE = default_interval("pim_grace_s")


@dataclass(frozen=True, slots=True)
class PlanOptions:
    """Per-integration modes the plan needs."""

    pim_integrations: frozenset[str] = frozenset()
    pim_grace: timedelta = DEFAULT_PIM_GRACE
    inflight: Mapping[MembershipKey, InFlightJob] = field(default_factory=dict)
    #: ``pim`` mode: the expiry Entra holds for each applied key (where it is known).
    applied_ends: Mapping[MembershipKey, datetime] = field(default_factory=dict)
    #: Keys whose removal Graph refused for good: no revoke until their retry time.
    blocked: Collection[MembershipKey] = frozenset()


def plan(
    desired: Iterable[GrantView],
    actual: Collection[MembershipKey],
    standing: Collection[MembershipKey],
    now: datetime,
    options: PlanOptions | None = None,
) -> list[Action]:
    """Return the actions that bring applied memberships in line with live grants."""
    options = options or PlanOptions()
    by_key: dict[MembershipKey, list[GrantView]] = defaultdict(list)
    for grant in desired:
        by_key[grant.key].append(grant)
    keys = set(by_key) | set(actual)
    actions: list[Action] = []
    for key in sorted(keys):
        actions.extend(
            _plan_key(
                key,
                by_key.get(key, []),
                applied=key in actual,
                protected=key in standing,
                now=now,
                options=options,
            )
        )
    return sorted(actions, key=lambda a: ORDER[a.kind])


def _ids(grants: Sequence[GrantView]) -> tuple[str, ...]:
    return tuple(sorted(g.id for g in grants))


def _plan_key(
    key: MembershipKey,
    grants: list[GrantView],
    *,
    applied: bool,
    protected: bool,
    now: datetime,
    options: PlanOptions,
) -> list[Action]:
    live = [g for g in grants if g.is_live(now)]
    ending = [g for g in grants if g.status is GrantStatus.REVOKING]
    flight = options.inflight.get(key)
    if live:
        actions = _desired(key, live, ending, held=applied or protected, flight=flight)
        if applied and flight not in WRITES:
            actions += _extension(key, live, options)
        return actions
    if applied and not protected:
        return _undesired_applied(key, grants, ending, now=now, options=options, flight=flight)
    if flight is InFlightJob.GRANT:
        return []  # the write may still land: decide once its result is in
    return [Action(ActionKind.MARK_ENDED, key, (g.id,)) for g in sorted(ending, key=lambda g: g.id)]


def _desired(
    key: MembershipKey,
    live: list[GrantView],
    ending: list[GrantView],
    *,
    held: bool,
    flight: InFlightJob | None,
) -> list[Action]:
    by_id = sorted(ending, key=lambda g: g.id)
    actions = [Action(ActionKind.MARK_ENDED, key, (g.id,)) for g in by_id]
    if flight in WRITES:
        return actions  # one write at a time per key: decide once its result is in
    pending = sorted((g for g in live if g.status is GrantStatus.PENDING), key=lambda g: g.id)
    if held:
        return actions + [Action(ActionKind.ACTIVATE, key, (g.id,)) for g in pending]
    ends = [g.ends_at for g in live]
    ends_at = None if None in ends else max(e for e in ends if e is not None)
    return [*actions, Action(ActionKind.GRANT, key, _ids(live), ends_at=ends_at)]


def _extension(key: MembershipKey, live: list[GrantView], options: PlanOptions) -> list[Action]:
    """``Extend`` when Entra's expiry is earlier than the latest end of the live grants."""
    applied_end = options.applied_ends.get(key)
    if key.integration_id not in options.pim_integrations or applied_end is None:
        return []
    ends = [g.ends_at for g in live]
    if None in ends:
        return []  # jitgate never asks Entra for permanent access
    target = max(e for e in ends if e is not None)
    if target <= applied_end:
        return []
    return [Action(ActionKind.EXTEND, key, _ids(live), ends_at=target)]


def _undesired_applied(
    key: MembershipKey,
    grants: list[GrantView],
    ending: list[GrantView],
    *,
    now: datetime,
    options: PlanOptions,
    flight: InFlightJob | None,
) -> list[Action]:
    if flight in WRITES or key in options.blocked:
        return []
    if key.integration_id in options.pim_integrations and ending:
        natural = all(g.end_reason is EndReason.EXPIRED and g.ends_at is not None for g in ending)
        end = max((g.ends_at for g in grants if g.ends_at is not None), default=now)
        if natural and now < end + options.pim_grace:
            if flight is InFlightJob.VERIFY:
                return []
            return [Action(ActionKind.VERIFY, key, _ids(ending))]
        return [Action(ActionKind.REVOKE, key, _ids(ending), pim_fallback=natural)]
    return [Action(ActionKind.REVOKE, key, _ids(ending))]
