"""The reconciler tick: expire what is due, plan, apply, queue periodic reads; one at a time.

``run_tick(sessions=…, clock=…, config=…)`` is the entry point of the server loop, the
``jitgate reconcile`` command and the tests. One tick is one transaction, committed at the end
(rolled back with ``dry_run``). Only one tick runs at a time across every replica: on PostgreSQL
through ``pg_try_advisory_xact_lock`` (a second tick returns at once, ``skipped``); on SQLite the
tick's ``BEGIN IMMEDIATE`` transaction holds the database write lock, so ticks queue.

Invariant 6: the tick keeps no work in memory between runs. Everything it decides is a grant or
job row in its transaction; a crash mid-tick rolls back and the next tick plans it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import text

from jitgate.core.db import is_postgres
from jitgate.core.settings import default_interval
from jitgate.server.actor import RECONCILER
from jitgate.server.guests.cleanup import schedule_guest_cleanup
from jitgate.server.guests.invite import invite_or_fail
from jitgate.server.integrations.sync import schedule_discovery
from jitgate.server.reconciler.apply import Applied, apply
from jitgate.server.reconciler.drift import schedule_drift_reads
from jitgate.server.reconciler.plan import DEFAULT_PIM_GRACE, PlanOptions, plan
from jitgate.server.reconciler.state import Focus, load_world
from jitgate.server.requests.granting import expire_grants
from jitgate.server.requests.integration_uses import INTEGRATION_USES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings

log = logging.getLogger(__name__)
#: The advisory lock key of the reconciler tick ("jitgate" in ASCII, as a bigint).
TICK_LOCK_KEY = 0x6A69746761746501
#: ``Settings``' defaults, for a config built without settings (tests, library callers).
DEFAULT_DISCOVERY_INTERVAL = default_interval("discovery_interval_s")
DEFAULT_DRIFT_INTERVAL = default_interval("drift_interval_s")


@dataclass(frozen=True, slots=True)
class ReconcilerConfig:
    """The reconciler's timings (from ``Settings``; unset ones are ``Settings``' defaults)."""

    pim_grace: timedelta = DEFAULT_PIM_GRACE
    discovery_interval: timedelta = DEFAULT_DISCOVERY_INTERVAL
    drift_interval: timedelta = DEFAULT_DRIFT_INTERVAL
    periodic: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ReconcilerConfig:
        """Read the timings from the settings."""
        return cls(
            pim_grace=timedelta(seconds=settings.pim_grace_s),
            discovery_interval=timedelta(seconds=settings.discovery_interval_s),
            drift_interval=timedelta(seconds=settings.drift_interval_s),
        )


@dataclass
class TickReport:
    """What one tick did."""

    skipped: bool = False
    dry_run: bool = False
    expired_requests: list[str] = field(default_factory=list)
    failed_grants: list[str] = field(default_factory=list)
    failure_reasons: dict[str, str] = field(default_factory=dict)
    invite_jobs: list[str] = field(default_factory=list)
    delete_user_jobs: list[str] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)
    discovery_jobs: list[str] = field(default_factory=list)
    read_jobs: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A readable summary, one line per step."""
        if self.skipped:
            return ["skipped: another reconciler tick is running"]
        lines = [f"expire request {rid}" for rid in self.expired_requests]
        lines += [
            f"fail grant {gid}: {self.failure_reasons.get(gid, 'the identity has no object id')}"
            for gid in self.failed_grants
        ]
        lines += [f"invite guest job {jid}" for jid in self.invite_jobs]
        lines += [f"delete invited guest job {jid}" for jid in self.delete_user_jobs]
        lines += [f"{a.action.describe()} -> {a.outcome}" for a in self.applied]
        lines += [f"discover job {jid}" for jid in self.discovery_jobs]
        lines += [f"read membership job {jid}" for jid in self.read_jobs]
        return lines


def acquire_tick_lock(session: Session) -> bool:
    """Take the tick lock for this transaction; ``False`` when another tick holds it."""
    if is_postgres(session):
        got = session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": TICK_LOCK_KEY})
        return bool(got)
    # SQLite: the first statement opened the transaction with BEGIN IMMEDIATE (the write lock).
    session.execute(text("SELECT 1"))
    return True


def tick(
    *,
    session: Session,
    clock: Clock,
    config: ReconcilerConfig,
    dry_run: bool = False,
    focus: Focus | None = None,
) -> TickReport:
    """One reconciler pass inside the caller's transaction (the caller commits or rolls back).

    With ``focus`` only those keys are planned (an approval or a revocation just committed), by
    the same plan as a full tick; if anything expired meanwhile the whole due world is planned,
    so revocations never wait behind a focused grant.
    """
    report = TickReport(dry_run=dry_run)
    if not acquire_tick_lock(session):
        report.skipped = True
        return report
    report.expired_requests = expire_grants(session=session, clock=clock, actor=RECONCILER)
    if report.expired_requests:
        focus = None
    now = clock.now()
    world = load_world(session, now, focus=focus)
    guests = invite_or_fail(
        session=session, clock=clock, grant_ids=world.unresolvable, dry_run=dry_run
    )
    report.failed_grants = list(guests.failed)
    report.failure_reasons = dict(guests.failed)
    report.invite_jobs = guests.invite_jobs
    options = PlanOptions(
        pim_integrations=world.pim_integrations,
        pim_grace=config.pim_grace,
        inflight=world.inflight,
        applied_ends=world.applied_ends,
        blocked=world.blocked,
    )
    actions = plan(world.grants, world.actual, world.standing, now, options)
    report.applied = apply(actions, session=session, clock=clock, dry_run=dry_run)
    if not dry_run and focus is None:
        report.delete_user_jobs = schedule_guest_cleanup(session=session, clock=clock)
    if config.periodic and not dry_run and focus is None:
        report.discovery_jobs = schedule_discovery(
            uses=INTEGRATION_USES, session=session, clock=clock, interval=config.discovery_interval
        )
        report.read_jobs = schedule_drift_reads(
            session=session, clock=clock, interval=config.drift_interval
        )
    return report


def run_tick(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    config: ReconcilerConfig | None = None,
    dry_run: bool = False,
    focus: Focus | None = None,
) -> TickReport:
    """Run one tick in a transaction of its own: committed, or rolled back for a dry run."""
    with sessions() as session:
        try:
            report = tick(
                session=session,
                clock=clock,
                config=config or ReconcilerConfig(),
                dry_run=dry_run,
                focus=focus,
            )
            if dry_run or report.skipped:
                session.rollback()
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
    if report.applied or report.expired_requests:
        log.info(
            "reconciler tick",
            extra={"actions": len(report.applied), "expired": len(report.expired_requests)},
        )
    return report
