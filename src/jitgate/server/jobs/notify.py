"""Waking long-polls in this process when jobs are committed for a connector.

``enqueue_job`` marks the session (``ENQUEUED_KEY``); after that session commits, the notifier
wakes the claim requests of those connectors waiting in this process. Work never depends on the
wake-up: waiting claims also poll the database, so jobs queued by another process (a reconciler
replica) are found within the poll interval. The notifier holds no work (invariant 6).

No lost wake-ups: every notification bumps the connector's *generation*. A claim reads the
generation before it looks at the database and waits ``since`` it; a commit that lands between
the look and the wait has already bumped it, so the wait returns at once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from sqlalchemy import event

from jitgate.server.jobs.operations import ENQUEUED_KEY

if TYPE_CHECKING:
    from collections.abc import Iterable

    from sqlalchemy.orm import Session, sessionmaker


class JobNotifier:
    """Thread-safe: a commit in a worker thread wakes waiters on any event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._generations: dict[str, int] = {}

    def generation(self, connector_id: str) -> int:
        """How many notifications this connector has had (read it before looking for jobs)."""
        with self._lock:
            return self._generations.get(connector_id, 0)

    def notify(self, connector_ids: Iterable[str]) -> None:
        """Wake every waiter of these connectors."""
        with self._lock:
            ids = set(connector_ids)
            for cid in ids:
                self._generations[cid] = self._generations.get(cid, 0) + 1
            targets = [w for cid in ids for w in self._waiters.get(cid, ())]
        for loop, waiter in targets:
            if not loop.is_closed():
                loop.call_soon_threadsafe(waiter.set)

    async def wait(self, connector_id: str, seconds: float, *, since: int | None = None) -> bool:
        """Wait up to ``seconds`` for a wake-up; return whether one came.

        With ``since`` (a ``generation``), a notification that came after it counts at once.
        """
        waiter = asyncio.Event()
        entry = (asyncio.get_running_loop(), waiter)
        with self._lock:
            if since is not None and self._generations.get(connector_id, 0) != since:
                return True
            self._waiters.setdefault(connector_id, set()).add(entry)
        try:
            async with asyncio.timeout(max(0.0, seconds)):
                await waiter.wait()
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiters.get(connector_id, set()).discard(entry)
        return True

    def attach(self, sessions: sessionmaker[Session]) -> None:
        """Notify after commits of sessions from this factory that enqueued jobs."""

        def after_commit(session: Session) -> None:
            ids = session.info.pop(ENQUEUED_KEY, None)
            if ids:
                self.notify(ids)

        def after_rollback(session: Session) -> None:
            session.info.pop(ENQUEUED_KEY, None)

        event.listen(sessions, "after_commit", after_commit)
        event.listen(sessions, "after_soft_rollback", lambda s, _t: after_rollback(s))
