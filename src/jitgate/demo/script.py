"""``jitgate demo``: one whole grant cycle against a running ``jitgate up``, over HTTP only.

The requester asks for one minute of membership of the demo group (one minute is the shortest
duration jitgate grants), the approver approves, and the script watches the request go active and
the requester appear among the group's members in Graph (read with a client-credentials token from
the emulator's sign-in endpoint), then the grant expire and the member disappear again. Each step
is printed with the seconds since approval.

Expiry: by default the script waits for the real minute. With ``fast`` it moves the demo clock to
the grant's end through the emulator's ``POST /_emulator/clock/advance``; this works because
``jitgate up`` gives the server and the emulator one shared clock (``allinone``). Everything after
that (the reconciler's tick, the revoke job, the connector's Graph delete) runs as it would.
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx

from jitgate.demo.seed import DEMO_GROUP, INTEGRATION_NAME

if TYPE_CHECKING:
    from collections.abc import Callable

    from jitgate.demo.info import EmulatorInfo

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DURATION_MIN = 1


class DemoError(Exception):
    """A step failed; the message is one readable line."""


@dataclass(frozen=True)
class DemoTarget:
    """Where the demo runs and as whom."""

    url: str
    requester_token: str
    approver_token: str
    emulator: EmulatorInfo
    group: str = DEMO_GROUP
    integration_id: str | None = None


class _Api:
    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=f"{url.rstrip('/')}/api/v1",
            headers={"Authorization": f"Bearer {token}", "User-Agent": "jitgate-demo"},
            timeout=30.0,
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:  # noqa: ANN401 - JSON
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:  # noqa: PLR2004 - HTTP error range
            try:
                detail = response.json().get("detail") or response.text
            except ValueError:
                detail = response.text
            raise DemoError(f"{method} {path}: {response.status_code} {str(detail)[:200]}")
        return response.json() if response.content else None


class _Graph:
    """Reads group members from Graph (the emulator) with the emulator app's credentials."""

    def __init__(self, emulator: EmulatorInfo) -> None:
        self.emulator = emulator
        trust = ssl.create_default_context(cafile=str(emulator.ca_bundle))
        self.http = httpx.Client(verify=trust, timeout=30.0)
        self.token: str | None = None

    def _token(self) -> str:
        if self.token is None:
            e = self.emulator
            response = self.http.post(
                f"{e.authority_host}/{e.tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": e.client_id,
                    "client_secret": e.client_secret,
                    "scope": GRAPH_SCOPE,
                },
            )
            if response.status_code != 200:  # noqa: PLR2004
                raise DemoError(f"the emulator's sign-in refused the demo: {response.text[:200]}")
            self.token = str(response.json()["access_token"])
        return self.token

    def members(self, group_id: str) -> set[str]:
        url = f"{self.emulator.graph_url}/groups/{group_id}/members?$select=id&$top=999"
        found: set[str] = set()
        while url:
            response = self.http.get(url, headers={"Authorization": f"Bearer {self._token()}"})
            if response.status_code != 200:  # noqa: PLR2004
                raise DemoError(f"Graph: GET group members: {response.status_code}")
            body = response.json()
            found |= {str(m["id"]) for m in body.get("value", [])}
            url = body.get("@odata.nextLink") or ""
        return found

    def advance_clock(self, seconds: float) -> str:
        response = self.http.post(
            f"{self.emulator.authority_host}/_emulator/clock/advance", json={"seconds": seconds}
        )
        if response.status_code != 200:  # noqa: PLR2004
            raise DemoError(f"cannot move the demo clock: {response.text[:200]}")
        return str(response.json()["now"])

    def now(self) -> datetime:
        response = self.http.get(f"{self.emulator.authority_host}/_emulator/clock")
        if response.status_code != 200:  # noqa: PLR2004
            raise DemoError(f"cannot read the demo clock: {response.text[:200]}")
        return datetime.fromisoformat(response.json()["now"]).astimezone(UTC)


class _Steps:
    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.approved_at: float | None = None

    def say(self, text: str) -> None:
        if self.approved_at is None:
            self.echo(f"[   --  ] {text}")
        else:
            self.echo(f"[{time.monotonic() - self.approved_at:6.1f}s] {text}")


def _until(
    check: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.2
) -> Any:  # noqa: ANN401
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def _find_group(api: _Api, target: DemoTarget) -> dict[str, Any]:
    integration_id = target.integration_id
    if integration_id is None:
        found = api.call("GET", "/integrations", params={"name": INTEGRATION_NAME})
        if not found:
            raise DemoError(f"no integration named {INTEGRATION_NAME!r}: is `jitgate up` running?")
        integration_id = found[0]["id"]
    page = api.call(
        "GET",
        f"/integrations/{integration_id}/resources",
        params={"search": target.group, "type": "entra-group"},
    )
    for item in page["items"]:
        if item["name"] == target.group:
            return dict(item)
    raise DemoError(f"discovery has not found the group {target.group!r}")


LIVE = ("approved", "granting", "active")


def _already_member(api: _Api, me: dict[str, Any], group: dict[str, Any], name: str) -> str:
    """Why the demo cannot start: the requester's live request for the group, and its revoke."""
    page = api.call("GET", "/requests", params={"scope": "mine", "status": list(LIVE)})
    live = [
        r
        for r in page["items"]
        if r["grantee"]["id"] == me["id"]
        and any(u["resource_id"] == group["id"] for u in r["units"])
    ]
    who = f"{me['display_name']} is already a member of {name}"
    if not live:
        return f"{who}, without a live request of theirs; remove them in Entra, then run it again"
    ids = ", ".join(r["id"] for r in live)
    return (
        f"{who} through request {ids} (an earlier demo's or the tour's); end it with "
        f"`jitgate request revoke {live[0]['id']}` (as them or an admin), then run it again"
    )


def run_demo(target: DemoTarget, *, fast: bool, echo: Callable[[str], None]) -> None:
    """Run the cycle; raise ``DemoError`` at the first step that fails."""
    requester, approver = (
        _Api(target.url, target.requester_token),
        _Api(target.url, target.approver_token),
    )
    graph = _Graph(target.emulator)
    try:
        _cycle(target, requester, approver, graph, fast=fast, echo=echo)
    finally:
        for http in (requester.http, approver.http, graph.http):
            http.close()


def _cycle(
    target: DemoTarget,
    requester: _Api,
    approver: _Api,
    graph: _Graph,
    *,
    fast: bool,
    echo: Callable[[str], None],
) -> None:
    steps = _Steps(echo)
    me = requester.call("GET", "/me")
    boss = approver.call("GET", "/me")
    group = _find_group(requester, target)
    if me["object_id"] in graph.members(group["external_id"]):
        raise DemoError(_already_member(requester, me, group, target.group))
    steps.say(f"{me['display_name']} is not a member of {target.group} (Graph)")
    request = requester.call(
        "POST",
        "/requests",
        json={
            "resource_ids": [group["id"]],
            "permissions": ["member"],
            "justification": "jitgate demo",
            "duration_min": DURATION_MIN,
        },
    )
    steps.say(
        f"requested: {me['display_name']} asks for {DURATION_MIN} minute of {target.group} "
        f"under {request['flow_name']!r} ({request['status']})"
    )
    approver.call("POST", f"/requests/{request['id']}/approve", json={"reason": "jitgate demo"})
    steps.approved_at = time.monotonic()
    steps.say(f"approved by {boss['display_name']}")
    cycle = _Cycle(steps, requester, graph, request["id"], me, group)
    cycle.granted()
    cycle.expired(fast=fast)
    steps.say("done: requested, approved, granted, expired and revoked")


def _status(api: _Api, request_id: str) -> dict[str, Any]:
    return dict(api.call("GET", f"/requests/{request_id}"))


@dataclass
class _Cycle:
    steps: _Steps
    api: _Api
    graph: _Graph
    request_id: str
    me: dict[str, Any]
    group: dict[str, Any]

    def _member(self) -> bool:
        return self.me["object_id"] in self.graph.members(self.group["external_id"])

    def _active(self) -> bool:
        status = _status(self.api, self.request_id)["status"]
        if status in {"failed", "rejected", "cancelled", "revoked", "expired"}:
            raise DemoError(f"the request ended as {status} before it was granted")
        return bool(status == "active")

    def granted(self) -> None:
        """Wait for the grant, then for the membership in Graph."""
        _until(self._active, timeout_s=30, what="the grant to become active")
        self.steps.say("granted: the connector added the membership (request active)")
        _until(self._member, timeout_s=15, what="the membership to show in Graph")
        name, group = self.me["display_name"], self.group["name"]
        self.steps.say(f"visible in Graph: {name} is a member of {group}")

    def expired(self, *, fast: bool) -> None:
        """Reach the grant's end (fast: move the demo clock), then wait for the revocation."""
        ends_at = datetime.fromisoformat(_status(self.api, self.request_id)["ends_at"])
        left = (ends_at.astimezone(UTC) - self.graph.now()).total_seconds()
        if fast:
            ahead = max(left + 0.5, 0.0)
            self.graph.advance_clock(ahead)
            self.steps.say(f"fast-forward: moved the demo clock {ahead:.1f} s to the grant's end")
            wait_s = 30.0
        else:
            self.steps.say(f"waiting for the grant to end at {ends_at:%H:%M:%S} (in {left:.0f} s)")
            wait_s = max(left, 0.0) + 30.0
        _until(
            lambda: _status(self.api, self.request_id)["status"] == "expired",
            timeout_s=wait_s,
            what="the grant to expire (does the server share the demo clock? see `jitgate up`)",
        )
        self.steps.say("expired: the reconciler ended the grant; the connector removed the member")
        _until(lambda: not self._member(), timeout_s=15, what="the membership to leave Graph")
        name, group = self.me["display_name"], self.group["name"]
        self.steps.say(f"revoked: {name} is no longer a member of {group} (Graph)")
