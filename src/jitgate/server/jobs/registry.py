"""The result-handler registry: what the server does when a job of a kind ends.

Each ``JobKind`` has at most one handler, called inside the transaction that finishes the job,
after the job row is updated (``job.status`` is ``succeeded``, ``failed`` or ``dead``; ``retry``
results that still have attempts left are not handed over). A handler that raises rolls the
whole report back: the connector's report fails and it reports again (or the lease expires and
the job runs again), so a handler must be idempotent and must not commit.

The reconciler registers its ``grant`` / ``revoke`` / ``discover`` / ``read_membership``
handlers in ``jitgate.server.handlers.default_registry``; this package owns ``self_check``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from jitgate.server.jobs.models import JobKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.orm import Session

    from jitgate.core.clock import Clock
    from jitgate.protocol.v1 import JobResult
    from jitgate.server.jobs.models import Job


class ResultHandler(Protocol):
    """Apply a finished job's result to the domain (called with keyword arguments)."""

    def __call__(self, *, session: Session, clock: Clock, job: Job, result: JobResult) -> None:
        """Handle ``result`` for ``job`` (already marked succeeded, failed or dead)."""
        ...


class HandlerRegistry:
    """``JobKind -> ResultHandler``; a kind without a handler just keeps its result on the row."""

    def __init__(self, handlers: Mapping[JobKind, ResultHandler] | None = None) -> None:
        self._handlers: dict[JobKind, ResultHandler] = dict(handlers or {})

    def register(self, kind: JobKind, handler: ResultHandler, *, replace: bool = False) -> None:
        """Register the handler of ``kind``; a second one is an error unless ``replace``."""
        kind = JobKind(kind)
        if kind in self._handlers and not replace:
            raise ValueError(f"a result handler for {kind} is already registered")
        self._handlers[kind] = handler

    def handler_for(self, kind: JobKind) -> ResultHandler | None:
        """Return the handler of ``kind``, if any."""
        return self._handlers.get(JobKind(kind))

    def kinds(self) -> frozenset[JobKind]:
        """The kinds that have a handler."""
        return frozenset(self._handlers)
