"""Helpers for the out-of-process tests: a started ``DevStack``, flows, requests, checks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select, update

from jitgate.core.db import make_engine
from jitgate.devstack import DevStack, StackError
from jitgate.server.grants.models import Grant
from jitgate.server.jobs.models import Job, JobStatus
from polling import wait_for

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

FINAL = {"active", "expired", "revoked", "failed", "rejected", "cancelled"}
GRAPH_WRITES = {"job.succeeded", "job.failed"}


def started_stack(workdir: Path, database_url: str | None, **kwargs: Any) -> DevStack:
    """Emulator, server and connector running; an integration discovered."""
    stack = DevStack(workdir, database_url=database_url, **kwargs)
    try:
        stack.start()
        stack.add_connector()
    except BaseException:
        stack.stop()
        raise
    return stack


def make_flow(stack: DevStack, integration_id: str, *, approvers: list[str] | None = None) -> str:
    """A flow over every group of the integration; admins may request for others."""
    body: dict[str, Any] = {
        "name": "e2e groups",
        "targets": [
            {
                "integration_id": integration_id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        "request_for": {"scopes": ["self", "others"]},
        "max_duration_min": 600,
        "settings": {"justification_required": False},
    }
    if approvers:
        body["approver_policy"] = {
            "approver_groups": [{"approvers": [{"type": "user", "values": approvers}]}]
        }
    return str(stack.call("POST", "/flows", body)["id"])


def users_by_upn(stack: DevStack) -> dict[str, dict[str, Any]]:
    """The people the server knows, by UPN."""
    people: dict[str, dict[str, Any]] = {}
    while True:
        page = stack.call("GET", "/identities", limit=500, offset=len(people))
        people.update({p["upn"]: p for p in page["items"]})
        if len(page["items"]) < 500:
            return people


def group_resources(stack: DevStack, integration_id: str) -> dict[str, dict[str, Any]]:
    """Discovered groups by Entra object id."""
    return {
        r["external_id"]: r for r in stack.resources(integration_id) if r["type"] == "entra-group"
    }


def request_with_retry(
    client: httpx.Client, method: str, path: str, body: Any = None, *, timeout_s: float = 60.0
) -> httpx.Response:
    """One API call that survives a server restart (connection errors and 5xx are retried)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            response = client.request(method, path, json=body)
            if response.status_code < 500:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise StackError(f"{method} {path} kept failing")
        time.sleep(0.2)


def all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a limit/offset list endpoint."""
    items: list[dict[str, Any]] = []
    while True:
        page = request_with_retry(
            client,
            "GET",
            str(httpx.URL(path, params={**params, "limit": 500, "offset": len(items)})),
        )
        page.raise_for_status()
        batch = page.json()["items"]
        items.extend(batch)
        if len(batch) < 500:
            return items


def audit_events(client: httpx.Client) -> list[dict[str, Any]]:
    """Every audit event in sequence order."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        response = request_with_retry(client, "GET", f"/audit/events?limit=500&after_seq={after}")
        response.raise_for_status()
        body = response.json()
        events.extend(body["items"])
        if body["next_after_seq"] is None:
            return events
        after = body["next_after_seq"]


def wait_statuses(
    stack: DevStack, ids: Iterable[str], allowed: set[str], *, timeout_s: float
) -> dict[str, str]:
    """Wait until every request is in one of ``allowed``; return id → status."""
    wanted = set(ids)
    seen: dict[str, str] = {}

    def done() -> bool:
        rows = all_pages(stack.api, "/requests")
        seen.update({r["id"]: r["status"] for r in rows if r["id"] in wanted})
        return all(seen.get(i) in allowed for i in wanted)

    try:
        wait_for(done, timeout_s=timeout_s, interval_s=0.5, message=f"requests to reach {allowed}")
    except AssertionError:
        stuck = {i: seen.get(i) for i in wanted if seen.get(i) not in allowed}
        raise AssertionError(
            f"{len(stuck)} requests not in {allowed}: {list(stuck.items())[:5]}"
        ) from None
    return seen


def end_grants_now(database_url: str, request_ids: Iterable[str]) -> None:
    """Time travel for some rows: their grants' ``ends_at`` moves to the past.

    The server runs on the system clock and a request lasts at least a minute, so a test that
    wants an expiry in seconds moves the end instead of waiting. The reconciler then takes the
    ordinary expiry path (revoke job → Graph delete → request ``expired``).
    """
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(Grant)
                .where(Grant.request_id.in_(list(request_ids)))
                .values(ends_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        engine.dispose()


def wait_jobs_done(database_url: str, *, timeout_s: float) -> None:
    """Wait until no job is queued or leased (including reads queued to run later)."""
    engine = make_engine(database_url)
    open_jobs = (
        select(func.count())
        .select_from(Job)
        .where(Job.status.in_((JobStatus.QUEUED, JobStatus.LEASED)))
    )

    def idle() -> bool:
        with engine.connect() as connection:
            return not connection.scalar(open_jobs)

    try:
        wait_for(idle, timeout_s=timeout_s, interval_s=0.5, message="the job queue to empty")
    finally:
        engine.dispose()


def graph_write_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit events that record a Graph change (one per finished grant/revoke job)."""
    return [e for e in events if e["action"] in GRAPH_WRITES and e["target_type"] == "job"]
