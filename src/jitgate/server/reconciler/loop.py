"""The server-side reconciler loop: full ticks on a schedule, focused ticks as soon as work lands.

* A **full tick** runs every ``reconcile_interval_s`` and also when the next grant is due to
  start or end sooner than that (so an expiry is planned at its second, not up to an interval
  late). Each full tick also queues the periodic discovery and drift reads.
* A **focused tick** runs right after a local commit that approved or revoked something
  (``jitgate.server.grants.due``): it plans only those keys, with the same plan, so a grant job
  is queued (and the waiting connector woken) within milliseconds of the approval.

The loop holds no work (invariant 6): a tick is one committed transaction, and the keys a commit
names are a hint only, so stopping the loop (or killing the server) loses nothing; the next full
tick, here or in another replica, plans the same work again.

A tick that loses a lock race (a deadlock, a lock timeout: ``is_busy``) is rolled back and run
again shortly; that is a warning without a stack trace, not an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import event, func, or_, select

from jitgate.core.db import is_busy
from jitgate.server.grants.due import take_due
from jitgate.server.grants.models import Grant
from jitgate.server.grants.states import GrantStatus
from jitgate.server.reconciler.state import Focus
from jitgate.server.reconciler.tick import ReconcilerConfig, TickReport, run_tick

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable
    from contextlib import AbstractAsyncContextManager

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock

log = logging.getLogger(__name__)
#: How soon a focused tick that found the tick lock taken (PostgreSQL) tries again.
LOCK_RETRY_S = 0.05
#: How soon a tick that lost a lock race (and was rolled back) runs again.
BUSY_RETRY_S = 1.0


def seconds_until_due(session: Session, clock: Clock, cap: float) -> float:
    """Seconds until the next grant starts or ends (at most ``cap``)."""
    now = clock.now()
    starts = select(func.min(Grant.starts_at)).where(
        Grant.status == GrantStatus.PENDING, Grant.starts_at > now
    )
    ends = select(func.min(Grant.ends_at)).where(
        or_(Grant.status == GrantStatus.PENDING, Grant.status == GrantStatus.ACTIVE),
        Grant.ended_at.is_(None),
        Grant.ends_at > now,
    )
    times = [t for t in (session.scalar(starts), session.scalar(ends)) if t is not None]
    if not times:
        return cap
    return max(0.0, min(cap, (min(times) - now).total_seconds()))


class ReconcilerLoop:
    """Runs ticks in a worker thread until stopped.

    ``gate`` is entered around each tick: the server passes its write lane with priority
    (``web.admission``), so a tick waits only for the write of the moment, never behind the
    API's queue, and on SQLite never queues for the write lock holding a connection.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        config: ReconcilerConfig,
        interval_s: float,
        gate: Callable[[], AbstractAsyncContextManager[None]] | None = None,
    ) -> None:
        self.sessions, self.clock, self.config = sessions, clock, config
        self.gate = gate or _open_gate
        self.interval_s = interval_s
        self.ticks = 0
        self.focused_ticks = 0
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._kicked: set[tuple[str, str]] = set()

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Run a focused tick after each commit of these sessions that made grants due."""

        def after_commit(session: Session) -> None:
            pairs = take_due(session)
            if pairs:
                self.kick(pairs)

        event.listen(sessions, "after_commit", after_commit)
        event.listen(sessions, "after_soft_rollback", lambda s, _t: take_due(s))

    def kick(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Plan these (resource id, identity id) pairs now (thread-safe; a hint, not work)."""
        with self._lock:
            self._kicked.update(pairs)
            loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="jitgate-reconciler")

    async def stop(self) -> None:
        """Stop after the current tick."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        with self._lock:
            self._loop = None

    def _take(self) -> set[tuple[str, str]]:
        with self._lock:
            pairs, self._kicked = self._kicked, set()
        return pairs

    def _full_tick(self) -> float:
        run_tick(sessions=self.sessions, clock=self.clock, config=self.config)
        with self.sessions() as session:
            wait = seconds_until_due(session, self.clock, self.interval_s)
        self.ticks += 1
        return wait

    def _focused_tick(self, pairs: set[tuple[str, str]]) -> tuple[TickReport, float]:
        focus = Focus(
            resource_ids=frozenset(r for r, _ in pairs),
            identity_ids=frozenset(i for _, i in pairs),
        )
        report = run_tick(sessions=self.sessions, clock=self.clock, config=self.config, focus=focus)
        with self.sessions() as session:  # e.g. a grant shorter than the interval
            wait = seconds_until_due(session, self.clock, self.interval_s)
        self.focused_ticks += 1
        return report, wait

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_full = loop.time()
        while not self._stop.is_set():
            self._wake.clear()
            full = loop.time() >= next_full
            wait = await self._step(full)
            if wait is not None:
                due = loop.time() + wait
                next_full = due if full else min(next_full, due)
            if self._kicked:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, next_full - loop.time()))

    async def _step(self, full: bool) -> float | None:
        """One tick; return the wait until the next full tick when this was one."""
        return await (self._full_step() if full else self._focused_step())

    async def _full_step(self) -> float:
        self._take()  # a full tick plans every due key, kicked ones included
        try:
            async with self.gate():
                return await asyncio.to_thread(self._full_tick)
        except Exception as err:
            if not is_busy(err):
                log.exception("reconciler tick failed; the next tick tries again")
                return self.interval_s
            _log_busy(err)
            return min(BUSY_RETRY_S, self.interval_s)

    async def _focused_step(self) -> float | None:
        pairs = self._take()
        if not pairs:
            return None
        try:
            async with self.gate():
                report, wait = await asyncio.to_thread(self._focused_tick, pairs)
        except Exception as err:
            if not is_busy(err):
                log.exception("focused reconciler tick failed; the next full tick plans it")
                return None
            _log_busy(err)
            self.kick(pairs)
            await asyncio.sleep(BUSY_RETRY_S)
            return None
        if report.skipped:  # another replica's tick holds the lock: try again shortly
            self.kick(pairs)
            await asyncio.sleep(LOCK_RETRY_S)
        return wait


@contextlib.asynccontextmanager
async def _open_gate() -> AsyncIterator[None]:
    yield


def _log_busy(err: Exception) -> None:
    """A tick lost a lock race: a warning with the driver's first line, no stack trace."""
    orig = getattr(err, "orig", err)
    log.warning(
        "reconciler tick lost a lock race (rolled back); it runs again shortly",
        extra={"error": str(orig).splitlines()[0] if str(orig) else type(orig).__name__},
    )
