"""The server-side reconciler loop: a tick every ``reconcile_interval_s`` in the app's lifespan.

Each tick also queues the periodic discovery and drift reads. The loop holds no work (invariant
6): a tick is one committed transaction, so stopping the loop (or killing the server) loses
nothing; the next tick, here or in another replica, plans the same work again. ``create_app(…,
run_engine=True)`` starts it (``jitgate server`` does when ``reconciler_enabled``, the default);
tests start it explicitly or call ``run_tick`` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from jitgate.server.grants.reconciler import EngineConfig, run_tick

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock

log = logging.getLogger(__name__)


class ReconcilerLoop:
    """Runs ticks in a worker thread until stopped."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        clock: Clock,
        config: EngineConfig,
        interval_s: float,
    ) -> None:
        self.sessions, self.clock, self.config = sessions, clock, config
        self.interval_s = interval_s
        self.ticks = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop on the running event loop."""
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="jitgate-reconciler")

    async def stop(self) -> None:
        """Stop after the current tick."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(
                    run_tick, sessions=self.sessions, clock=self.clock, config=self.config
                )
                self.ticks += 1
            except Exception:
                log.exception("reconciler tick failed; the next tick tries again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.interval_s)
