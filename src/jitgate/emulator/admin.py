"""The ``/_emulator/`` admin API (never under ``/v1.0``): knobs, clock, faults, seeding, export.

Unauthenticated by design: the emulator listens on loopback and is never part of production.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import yaml

from jitgate.emulator import fixtures, generate, portal_apps
from jitgate.emulator.http import Response, json_response
from jitgate.emulator.schedule import parse_duration

if TYPE_CHECKING:
    from jitgate.emulator.http import Request
    from jitgate.emulator.state import EmulatorState

JSON = "application/json"


def _body(req: Request) -> dict[str, Any]:
    if not req.body:
        return {}
    data = (
        yaml.safe_load(req.body)
        if "yaml" in req.headers.get("content-type", "")
        else json.loads(req.body)
    )
    if not isinstance(data, dict):
        raise TypeError("the body must be a JSON (or YAML) object")
    return data


def advance_clock(state: EmulatorState, seconds: float) -> str:
    """Move the emulator clock forward and apply what falls due; return the new time."""
    clock = state.tenant.clock
    advance = getattr(clock, "advance", None)
    if advance is None:
        raise ValueError("this emulator's clock cannot be moved")
    advance(timedelta(seconds=seconds))
    with state.tenant.lock:
        state.tenant.expire_due()
    return state.tenant.clock.now().isoformat()


def export(state: EmulatorState) -> dict[str, Any]:
    """Return the tenant's state as JSON-able data (secrets excluded)."""
    tenant = state.tenant
    return {
        "tenant": {"id": tenant.tenant_id, "name": tenant.display_name, "domains": tenant.domains},
        "now": tenant.clock.now().isoformat(),
        "users": list(tenant.users.values()),
        "groups": list(tenant.groups.values()),
        "members": {g: list(m) for g, m in tenant.members.items() if m},
        "owners": {g: list(m) for g, m in tenant.owners.items() if m},
        "administrativeUnits": list(tenant.admin_units.values()),
        "administrativeUnitMembers": {a: list(m) for a, m in tenant.au_members.items()},
        "applications": list(tenant.applications.values()),
        "servicePrincipals": list(tenant.service_principals.values()),
        "appPermissions": tenant.app_permissions,
        "roleAssignments": [
            {k: v for k, v in a.items() if not k.startswith("_")} | {"endDateTime": a.get("_end")}
            for a in tenant.role_assignments.values()
        ],
        "pim": {
            name: list(table.values())
            for name, table in tenant.pim.items()
            if not name.startswith("_")
        },
        "changes": len(tenant.changes),
    }


def handle_admin(state: EmulatorState, req: Request) -> Response:  # noqa: C901, PLR0911, PLR0912 - one flat dispatch table
    """Dispatch ``/_emulator/...``."""
    action = req.path[len("/_emulator/") :].strip("/")
    try:
        body = _body(req) if req.method in {"POST", "PATCH", "PUT"} else {}
        if action == "health":
            return json_response(200, {"ok": True}, content_type=JSON)
        if action == "info":
            return json_response(200, info(state, req.base_url), content_type=JSON)
        if action == "settings":
            if req.method in {"PATCH", "POST", "PUT"}:
                state.settings.update(body)
            return json_response(200, state.settings.to_dict(), content_type=JSON)
        if action == "clock":
            return json_response(
                200, {"now": state.tenant.clock.now().isoformat()}, content_type=JSON
            )
        if action == "clock/advance":
            seconds = (
                float(body["seconds"])
                if "seconds" in body
                else parse_duration(str(body.get("duration", "PT0S")))
            )
            return json_response(200, {"now": advance_clock(state, seconds)}, content_type=JSON)
        if action == "faults":
            if req.method == "DELETE":
                state.settings.update({"faults": []})
            elif req.method in {"POST", "PUT"}:
                state.settings.update({"faults": body.get("rules", [])})
            return json_response(
                200, {"rules": state.settings.to_dict()["faults"]}, content_type=JSON
            )
        if action == "throttle":
            with state.tenant.lock:
                buckets = state.throttler.state(state.settings, state.tenant.now())
            return json_response(200, {"buckets": buckets}, content_type=JSON)
        if action == "throttle/reset":
            state.throttler.reset()
            return json_response(200, {"ok": True}, content_type=JSON)
        if action == "delta/resync":
            epoch = state.tenant.pim_table("_delta").setdefault("epoch", {"n": 0})
            epoch["n"] += 1
            return json_response(200, {"epoch": epoch["n"]}, content_type=JSON)
        if action == "seed" and req.method == "POST":
            with state.tenant.lock:
                fixtures.apply(state.tenant, body)
            return json_response(
                200,
                {"users": len(state.tenant.users), "groups": len(state.tenant.groups)},
                content_type=JSON,
            )
        if action == "generate" and req.method == "POST":
            with state.tenant.lock:
                generate.generate(state.tenant, **body)
            return json_response(
                200,
                {"users": len(state.tenant.users), "groups": len(state.tenant.groups)},
                content_type=JSON,
            )
        if action == "writes":
            with state.tenant.lock:
                writes = [[at, op] for at, op in state.tenant.write_log]
            return json_response(200, {"writes": writes}, content_type=JSON)
        if action == "apps/portal" and req.method == "POST":
            return json_response(200, _register_portal(state, body), content_type=JSON)
        if action == "state":
            with state.tenant.lock:
                return json_response(200, export(state), content_type=JSON)
    except (ValueError, KeyError, TypeError) as err:
        return json_response(400, {"error": f"{type(err).__name__}: {err}"}, content_type=JSON)
    return json_response(
        404, {"error": f"no admin endpoint {req.method} {req.path}"}, content_type=JSON
    )


def _register_portal(state: EmulatorState, body: dict[str, Any]) -> dict[str, Any]:
    """POST /_emulator/apps/portal ``{redirect_uris, post_logout_redirect_uris}``."""
    redirect_uris = [str(u) for u in body.get("redirect_uris") or []]
    if not redirect_uris:
        raise ValueError("redirect_uris must list at least one URI")
    secret = portal_apps.register_portal_app(
        state,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=[str(u) for u in body.get("post_logout_redirect_uris") or []],
    )
    return {
        "tenant_id": state.tenant.tenant_id,
        "client_id": portal_apps.PORTAL_APP_ID,
        "client_secret": secret,
    }


def info(state: EmulatorState, base_url: str) -> dict[str, Any]:
    """Return what a client needs to connect (the same fields the CLI prints)."""
    return {
        "authority_host": base_url,
        "graph_url": f"{base_url}/v1.0",
        "tenant_id": state.tenant.tenant_id,
        "client_id": state.client_id,
        "client_secret": state.client_secret,
        "portal_client_id": portal_apps.PORTAL_APP_ID,
        "cli_client_id": portal_apps.CLI_APP_ID,
        "browser_base_url": state.settings.browser_base_url,
    }
