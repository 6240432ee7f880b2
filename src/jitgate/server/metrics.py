"""``GET /metrics``: Prometheus text from a per-app ``CollectorRegistry`` (never the global one).

Everything is read from the database, so any replica reports the same state:

* gauges, computed at scrape: ``jitgate_overdue_revocations`` (grants still active or revoking
  more than ``revocation_objective_s`` after their end), ``jitgate_job_queue_depth{kind,status}``,
  ``jitgate_dead_jobs``, ``jitgate_unbacked_members`` (drift: reported members nothing backs),
  ``jitgate_pim_fallback_revocations`` (PIM expiries Entra missed, revoked by the broker);
* histograms and counters, fed at scrape from rows that changed since the last scrape of this
  app (a watermark that starts when the app starts): ``jitgate_revocation_lateness_seconds
  {reason}`` (removal confirmed minus ``ends_at`` for expiries, minus ``ended_at`` for
  revocations), ``jitgate_grant_latency_seconds`` (approval, or the later start, to the Graph
  write confirmed), ``jitgate_graph_throttled_total`` (429s the connector reported in results).
  With several replicas, scrape one (or aggregate with ``max``): each replica counts every event.

Auth: with ``metrics_token`` set, ``/metrics`` needs ``Authorization: Bearer <token>``. Unset, it
answers 401 unless ``metrics_open`` is true (counts only, no names or ids: the usual Prometheus
set-up on a private network; ``jitgate up`` turns it on). Refusals count towards the
failed-authentication throttle (``web.throttle``).
"""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, or_, select

from jitgate.core.errors import Unauthenticated
from jitgate.server.grants.models import Grant, Membership, StandingMembership
from jitgate.server.grants.states import EndReason, GrantStatus
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.jobs.service import count_dead_jobs, queue_depth_by_kind
from jitgate.server.reconciler.blocked import count_blocked
from jitgate.server.requests.models import AccessRequest
from jitgate.server.web.throttle import refuse

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import Clock
    from jitgate.core.settings import Settings

BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class _Gauges:
    """A collector whose gauges are queried at scrape time."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, objective: timedelta) -> None:
        self.sessions, self.clock, self.objective = sessions, clock, objective

    def describe(self) -> list[Any]:
        """No fixed description (the registry must not call ``collect`` at registration)."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """Read every gauge in one short session."""
        with self.sessions() as session:
            yield from gauges(session, self.clock.now(), self.objective)
            session.rollback()


def overdue_revocations(session: Session, now: datetime, objective: timedelta) -> int:
    """Grants still in force or awaiting removal more than ``objective`` after their end."""
    threshold = now - objective
    query = select(func.count(Grant.id)).where(
        Grant.status.in_((GrantStatus.ACTIVE, GrantStatus.REVOKING)),
        or_(Grant.ends_at < threshold, Grant.ended_at < threshold),
    )
    return session.scalar(query) or 0


def gauges(session: Session, now: datetime, objective: timedelta) -> Iterator[GaugeMetricFamily]:
    """The gauge families."""
    yield GaugeMetricFamily(
        "jitgate_overdue_revocations",
        "Grants whose access is not confirmed removed within the revocation objective.",
        value=overdue_revocations(session, now, objective),
    )
    depth = GaugeMetricFamily(
        "jitgate_job_queue_depth", "Open jobs by kind and status.", labels=["kind", "status"]
    )
    for kind, statuses in queue_depth_by_kind(session=session).items():
        for status, count in statuses.items():
            depth.add_metric([str(kind), str(status)], count)
    yield depth
    yield GaugeMetricFamily(
        "jitgate_dead_jobs", "Dead-lettered jobs.", value=count_dead_jobs(session=session)
    )
    unbacked = select(func.count(StandingMembership.id)).where(
        StandingMembership.source == "drift", StandingMembership.removed_at.is_(None)
    )
    yield GaugeMetricFamily(
        "jitgate_unbacked_members",
        "Members found by drift reads that no grant backs (reported, still present).",
        value=session.scalar(unbacked) or 0,
    )
    fallbacks = select(func.coalesce(func.sum(Membership.pim_fallbacks), 0))
    yield GaugeMetricFamily(
        "jitgate_pim_fallback_revocations",
        "PIM expiries Entra had not carried out after the grace period (the broker revoked).",
        value=session.scalar(fallbacks) or 0,
    )

    yield GaugeMetricFamily(
        "jitgate_revocations_blocked",
        "Applied memberships whose removal Graph refused for good (e.g. the group's last owner); "
        "the access is still held.",
        value=count_blocked(session),
    )


class _Watermark:
    """The newest timestamp handled, and the row ids handled at exactly that time."""

    def __init__(self, start: datetime) -> None:
        self.at, self.ids = start, set[str]()

    def fresh(self, pairs: list[tuple[str, datetime | None]]) -> set[str]:
        """Return the ids not yet handled and move the mark."""
        rows = [(rid, at) for rid, at in pairs if at is not None]
        new = {rid for rid, at in rows if at > self.at or (at == self.at and rid not in self.ids)}
        if rows:
            newest = max(at for _, at in rows)
            if newest > self.at:
                self.at, self.ids = newest, set()
            self.ids |= {rid for rid, at in rows if at == newest}
        return new


class ReconcilerMetrics:
    """The per-app registry and the event-fed histograms."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, objective: timedelta) -> None:
        self.registry = CollectorRegistry()
        self.sessions, self.clock = sessions, clock
        self.lateness = Histogram(
            "jitgate_revocation_lateness_seconds",
            "Removal confirmed minus ends_at (expired) or ended_at (revoked).",
            ["reason"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.latency = Histogram(
            "jitgate_grant_latency_seconds",
            "Approval (or the later start) to the Graph write confirmed.",
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.throttled = Counter(
            "jitgate_graph_throttled",
            "Graph 429 responses reported by connectors.",
            registry=self.registry,
        )
        self.registry.register(_Gauges(sessions, clock, objective))
        start = clock.now()
        self._removed, self._applied, self._jobs = (
            _Watermark(start),
            _Watermark(start),
            _Watermark(start),
        )

    def refresh(self) -> None:
        """Feed the histograms and counters from rows changed since the last scrape."""
        with self.sessions() as session:
            self._feed_removed(session)
            self._feed_applied(session)
            self._feed_jobs(session)
            session.rollback()

    def _feed_removed(self, session: Session) -> None:
        rows = session.execute(
            select(
                Grant.id, Grant.removed_at, Grant.ends_at, Grant.ended_at, Grant.end_reason
            ).where(Grant.removed_at >= self._removed.at, Grant.applied_at.is_not(None))
        ).all()
        fresh = self._removed.fresh([(r[0], r[1]) for r in rows])
        for gid, removed_at, ends_at, ended_at, reason in rows:
            if gid not in fresh or removed_at is None:
                continue
            base = ends_at if reason is EndReason.EXPIRED and ends_at is not None else ended_at
            if base is not None:
                label = str(reason or "ended")
                self.lateness.labels(label).observe(max(0.0, (removed_at - base).total_seconds()))

    def _feed_applied(self, session: Session) -> None:
        rows = session.execute(
            select(Grant.id, Grant.applied_at, Grant.starts_at, AccessRequest.decided_at)
            .join(AccessRequest, AccessRequest.id == Grant.request_id)
            .where(Grant.applied_at >= self._applied.at)
        ).all()
        fresh = self._applied.fresh([(r[0], r[1]) for r in rows])
        for gid, applied_at, starts_at, decided_at in rows:
            if gid in fresh and applied_at is not None:
                base = max(starts_at, decided_at) if decided_at is not None else starts_at
                self.latency.observe(max(0.0, (applied_at - base).total_seconds()))

    def _feed_jobs(self, session: Session) -> None:
        rows = session.execute(
            select(Job.id, Job.finished_at, Job.result).where(
                Job.finished_at >= self._jobs.at,
                Job.status.in_((JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.DEAD)),
            )
        ).all()
        fresh = self._jobs.fresh([(r[0], r[1]) for r in rows])
        for jid, _, result in rows:
            count = int((result or {}).get("throttled") or 0)
            if jid in fresh and count > 0:
                self.throttled.inc(count)


def _authorise(request: Request, token: str | None, *, open_without_token: bool) -> None:
    if token is None:
        if open_without_token:
            return
        refuse(
            request,
            Unauthenticated(
                "GET /metrics needs a token and none is configured: set JITGATE_METRICS_TOKEN "
                "(or JITGATE_METRICS_OPEN=true on a private network)"
            ),
        )
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        value.strip().encode(), token.encode()
    ):
        refuse(
            request,
            Unauthenticated("GET /metrics needs the metrics token (Authorization: Bearer …)"),
        )


def install_metrics(
    app: FastAPI, *, settings: Settings, sessions: sessionmaker[Session], clock: Clock
) -> ReconcilerMetrics:
    """Mount ``GET /metrics`` with a registry of this app's own."""
    metrics = ReconcilerMetrics(sessions, clock, timedelta(seconds=settings.revocation_objective_s))
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    app.state.metrics = metrics

    @app.get("/metrics", include_in_schema=False)
    def get_metrics(request: Request) -> Response:
        _authorise(request, token, open_without_token=settings.metrics_open)
        metrics.refresh()
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
