"""The Graph pipeline: fault, authenticate, expire, route, throttle, handle, decorate; and ``$batch``.

Invariant: an inner ``$batch`` request goes through exactly the same pipeline as an outer request
(its own permission check, throttle charge and error envelope); only the HTTP hop is skipped.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import json
import math
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import jwt

from jitgate.emulator import (
    graph_admin_units,
    graph_apps,
    graph_delta,
    graph_group_objects,
    graph_groups,
    graph_pim,
    graph_roles,
    graph_users,
    permissions,
)
from jitgate.emulator.faults import FAULT_TEXT
from jitgate.emulator.graph_common import Call
from jitgate.emulator.http import GraphError, Request, Response, json_response
from jitgate.emulator.router import Router
from jitgate.emulator.throttle import cost, limit_percentage
from jitgate.emulator.tokens import GRAPH_AUDIENCES

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

MAX_BATCH = 20
SUCCESS_CLASS = 2  # the 2xx statuses a dependency must have
TIER_CATEGORY = {"S": "small", "M": "medium", "L": "large"}


def build_router() -> Router:
    """Return the router with every Graph v1.0 route."""
    router = Router()
    for module in (
        graph_users,
        graph_groups,
        graph_group_objects,
        graph_roles,
        graph_admin_units,
        graph_pim,
        graph_apps,
        graph_delta,
    ):
        module.register(router)
    return router


#: Every Graph route. Routes are code, not state: every emulator state shares the one table.
ROUTER = build_router()


def _date(state: EmulatorState) -> str:
    return state.tenant.clock.now().strftime("%Y-%m-%dT%H:%M:%S")


def error_response(
    state: EmulatorState, err: GraphError, request_id: str, client_request_id: str | None
) -> Response:
    """Return Graph's error envelope for ``err``."""
    inner: dict[str, Any] = {"date": _date(state), "request-id": request_id}
    if client_request_id:
        inner["client-request-id"] = client_request_id
    inner.update(err.inner)
    return json_response(
        err.status,
        {"error": {"code": err.code, "message": err.message, "innerError": inner}},
        err.headers,
    )


def _throttled(
    state: EmulatorState, app_id: str, verdict_wait: float, scope: str, info: str
) -> GraphError:
    settings = state.settings
    seconds = (
        f"{max(verdict_wait, 0.001):.3f}"
        if settings.retry_after_fractional
        else str(max(1, math.ceil(verdict_wait)))
    )
    headers = {
        "Retry-After": seconds,
        "x-ms-throttle-scope": scope,
        "x-ms-throttle-information": info,
    }
    if settings.throttle_message == "documented":
        return GraphError(
            429,
            "TooManyRequests",
            "Please retry again later.",
            headers,
            {"code": "429", "message": "Please retry after", "status": "429"},
        )
    category = TIER_CATEGORY.get(settings.tier, "large")
    message = f"Too many requests from Identifier:{app_id} under category:throttle.aad.ags.appId.{category}. Please try again later."
    return GraphError(429, "TooManyRequests", message, headers)


def authenticate(state: EmulatorState, req: Request) -> dict[str, Any]:
    """Return the claims of the request's bearer token, or raise Graph's 401."""
    header = req.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not token:
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    try:
        claims = state.tokens.check_access_token(token)
    except jwt.DecodeError as err:
        raise GraphError(
            401,
            "InvalidAuthenticationToken",
            "CompactToken parsing failed with error code: 80049217",
        ) from err
    except jwt.InvalidTokenError as err:
        raise GraphError(
            401, "InvalidAuthenticationToken", "Access token validation failure."
        ) from err
    if claims.get("aud") not in GRAPH_AUDIENCES:
        raise GraphError(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience."
        )
    if claims.get("tid") != state.tenant.tenant_id:
        raise GraphError(
            401, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer."
        )
    if state.settings.validate_token_lifetime and claims.get("exp", 0) < state.tenant.now():
        raise GraphError(
            401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
        )
    return claims


def _perms(state: EmulatorState, claims: dict[str, Any]) -> frozenset[str]:
    own = list(claims.get("roles") or [])
    if claims.get("scp"):
        own.extend(str(claims["scp"]).split())
    return permissions.effective(own, state.tenant.roles_of(claims["oid"]))


def _injected_fault(state: EmulatorState, req: Request) -> bool:
    """Return True to drop the connection; raise the injected error; else False."""
    rule = state.faults.pick(state.settings, req.method, req.path)
    if rule is None:
        return False
    if rule.status == 0:
        return True
    code, message = FAULT_TEXT.get(rule.status, ("UnknownError", "Injected fault."))
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    raise GraphError(rule.status, code, message, headers)


def handle_graph(
    state: EmulatorState, req: Request, claims: dict[str, Any] | None = None
) -> Response:
    """Run one Graph request (outer or inner) through the whole pipeline."""
    request_id = str(uuid.uuid4())
    client_request_id = req.headers.get("client-request-id")
    units = 0
    try:
        if _injected_fault(state, req):
            return Response(0, drop=True)
        if claims is None:
            claims = authenticate(state, req)
        tenant = state.tenant
        with tenant.lock:
            tenant.expire_due()
            segments = req.path[len("/v1.0/") :].split("/")
            route, params = ROUTER.match(req.method, segments)
            units, writes = cost(req.method, route.cost_key, req.query)
            now = tenant.now()
            verdict = None
            if state.settings.throttling:
                verdict = state.throttler.charge(
                    state.settings,
                    app_id=claims["appid"],
                    tenant_id=tenant.tenant_id,
                    units=units,
                    writes=writes,
                    now=now,
                )
                if verdict.retry_after:
                    raise _throttled(
                        state,
                        claims["appid"],
                        verdict.retry_after,
                        verdict.scope,
                        verdict.information,
                    )
            lag = state.settings.replication_lag_ms
            call = Call(
                req,
                tenant,
                state.settings,
                params,
                _perms(state, claims),
                claims["appid"],
                claims["oid"],
                req.base_url + "/v1.0",
                now - lag / 1000.0 if lag else None,
                now,
            )
            response = route.handler(call)
        if verdict is not None:
            percentage = limit_percentage(verdict.used)
            if percentage:
                response.headers["x-ms-throttle-limit-percentage"] = percentage
    except GraphError as err:
        response = error_response(state, err, request_id, client_request_id)
    response.headers["request-id"] = request_id
    if client_request_id:
        response.headers["client-request-id"] = client_request_id
    response.headers["x-ms-resource-unit"] = str(units or 1)
    if response.body and "json" in response.headers.get("Content-Type", ""):
        response.headers["OData-Version"] = "4.0"
    return response


def _inner_request(outer: Request, item: dict[str, Any]) -> Request:
    url = str(item.get("url", ""))
    path, _, query = url.partition("?")
    path = unquote(path).lstrip("/")
    path = path.removeprefix("v1.0/")
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    headers["authorization"] = outer.headers.get("authorization", "")
    body = item.get("body")
    raw = (
        b""
        if body is None
        else json.dumps(body).encode()
        if not isinstance(body, str)
        else body.encode()
    )
    return Request(
        str(item.get("method", "GET")).upper(), "/v1.0/" + path, query, headers, raw, outer.base_url
    )


def _validate_batch(payload: object) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    items: list[dict[str, Any]] = payload["requests"]
    if len(items) > MAX_BATCH:
        raise GraphError(400, "BadRequest", "The number of requests in a batch cannot exceed 20.")
    seen: set[str] = set()
    for item in items:
        if (
            not isinstance(item, dict)
            or "id" not in item
            or "method" not in item
            or "url" not in item
        ):
            raise GraphError(400, "BadRequest", "Invalid batch payload format.")
        key = str(item["id"]).lower()
        if key in seen:
            raise GraphError(400, "BadRequest", f"Request id : {item['id']} is duplicated.")
        seen.add(key)
        if item.get("body") is not None and not any(
            str(h).lower() == "content-type" for h in (item.get("headers") or {})
        ):
            raise GraphError(
                400,
                "BadRequest",
                f"Write request id : {item['id']} does not contain Content-Type header or body.",
            )
    for item in items:
        for dep in item.get("dependsOn") or []:
            if str(dep).lower() not in seen:
                raise GraphError(
                    400,
                    "BadRequest",
                    f"Request id : {item['id']} depends on an unknown request id : {dep}.",
                )
    return items


def handle_batch(state: EmulatorState, req: Request) -> Response:
    """POST /v1.0/$batch: up to 20 requests, ``dependsOn`` order, a status per request."""
    request_id = str(uuid.uuid4())
    client_request_id = req.headers.get("client-request-id")
    try:
        claims = authenticate(state, req)
        try:
            items = _validate_batch(req.json())
        except ValueError as err:
            raise GraphError(400, "BadRequest", "Invalid batch payload format.") from err
    except GraphError as err:
        response = error_response(state, err, request_id, client_request_id)
        response.headers["request-id"] = request_id
        return response
    statuses: dict[str, int] = {}
    responses = []
    for item in items:
        key = str(item["id"]).lower()
        failed = [
            d
            for d in item.get("dependsOn") or []
            if statuses.get(str(d).lower(), 0) // 100 != SUCCESS_CLASS
        ]
        if failed:
            statuses[key] = 424
            responses.append(
                {
                    "id": item["id"],
                    "status": 424,
                    "headers": {"Content-Type": "application/json"},
                    "body": {
                        "error": {
                            "code": "FailedDependency",
                            "message": "Failed dependency.",
                            "innerError": {"date": _date(state), "request-id": str(uuid.uuid4())},
                        }
                    },
                }
            )
            continue
        inner = handle_graph(state, _inner_request(req, item), claims)
        if inner.drop:
            inner = error_response(
                state,
                GraphError(504, "GatewayTimeout", FAULT_TEXT[504][1]),
                str(uuid.uuid4()),
                None,
            )
        statuses[key] = inner.status
        entry: dict[str, Any] = {
            "id": item["id"],
            "status": inner.status,
            "headers": {
                k: v
                for k, v in inner.headers.items()
                if k
                in {
                    "Content-Type",
                    "Retry-After",
                    "Location",
                    "x-ms-throttle-scope",
                    "x-ms-throttle-information",
                    "x-ms-resource-unit",
                    "OData-Version",
                }
                or (k == "x-ms-throttle-limit-percentage" and state.settings.batch_limit_percentage)
            },
        }
        if inner.body:
            entry["body"] = inner.payload if inner.payload is not None else inner.body.decode()
        responses.append(entry)
    response = json_response(200, {"responses": responses})
    response.headers["request-id"] = request_id
    if client_request_id:
        response.headers["client-request-id"] = client_request_id
    response.headers["OData-Version"] = "4.0"
    return response
