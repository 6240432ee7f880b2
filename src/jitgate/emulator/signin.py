"""The sign-in host (graph.md §1).

OIDC discovery, JWKS, instance discovery, token endpoint, authorization code + PKCE with a plain HTML sign-in page, refresh tokens.

Invariants: every token-endpoint failure is an AADSTS error body with the exact text of §1.2; a
code is redeemed at most once, only by its client, its redirect URI and its PKCE verifier.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import html
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

from jitgate.emulator.graph_common import GUID
from jitgate.emulator.http import Response, json_response
from jitgate.emulator.signin_client import JSON_UTF8, SigninError, aad_error, authenticate_client
from jitgate.emulator.signin_html import hidden_fields, page
from jitgate.emulator.signin_user import OIDC_SCOPES, user_grant

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

GRAPH_RESOURCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


def _dns_like(value: str) -> bool:
    labels = value.split(".")
    return len(labels) > 1 and all(label and label.replace("-", "").isalnum() for label in labels)


def resolve_tenant(state: EmulatorState, segment: str, *, allow_common: bool = True) -> str:
    """Return the tenant id named by a path segment, or raise the AADSTS error for it."""
    tenant = state.tenant
    lowered = segment.lower()
    if lowered in {"common", "organizations"} and allow_common:
        return tenant.tenant_id
    if GUID.match(lowered):
        if lowered == tenant.tenant_id:
            return tenant.tenant_id
    elif _dns_like(lowered):
        if lowered in {d.lower() for d in tenant.domains}:
            return tenant.tenant_id
    else:
        raise SigninError(
            400,
            "invalid_request",
            900023,
            f"Specified tenant identifier '{segment}' is neither a valid DNS name, nor a valid external domain.",
        )
    raise SigninError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
    )


def openid_configuration(state: EmulatorState, base: str, segment: str) -> Response:
    """GET /{tenant}/v2.0/.well-known/openid-configuration."""
    tid = resolve_tenant(state, segment)
    host = urlsplit(base).netloc
    issuer_tid = "{tenantid}" if segment.lower() in {"common", "organizations"} else tid
    root = f"{base}/{segment}"
    browser = f"{(state.settings.browser_base_url or base).rstrip('/')}/{segment}"
    doc = {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": sorted(OIDC_SCOPES),
        "issuer": f"{base}/{issuer_tid}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{browser}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{browser}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
            "amr",
            "sid",
            "oid",
            "roles",
            "groups",
            "acrs",
        ],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
        "emulator_host": host,
    }
    return json_response(200, doc, {"Cache-Control": "max-age=86400, private"}, JSON_UTF8)


def keys(state: EmulatorState, base: str, segment: str) -> Response:
    """GET /{tenant}/discovery/v2.0/keys."""
    tid = resolve_tenant(state, segment)
    return json_response(
        200,
        {"keys": [state.tokens.key.jwk(f"{base}/{tid}/v2.0")]},
        {"Cache-Control": "max-age=86400, private"},
        JSON_UTF8,
    )


def instance_discovery(base: str, query: dict[str, str]) -> Response:
    """GET /common/discovery/instance: point the client at our own discovery document."""
    endpoint = query.get("authorization_endpoint", "")
    parts = urlsplit(endpoint).path.strip("/").split("/")
    tenant = parts[0] if parts and parts[0] else "common"
    host = urlsplit(base).netloc
    body = {
        "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": query.get("api-version", "1.1"),
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
    return json_response(200, body, None, JSON_UTF8)


def _grant_type(form: dict[str, str]) -> str:
    grant = form.get("grant_type")
    if not grant:
        raise SigninError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        )
    if grant not in {"client_credentials", "authorization_code", "refresh_token"}:
        raise SigninError(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant}'.",
        )
    return grant


def token(
    state: EmulatorState, base: str, segment: str, form: dict[str, str], headers: dict[str, str]
) -> Response:
    """POST /{tenant}/oauth2/v2.0/token."""
    try:
        tid = resolve_tenant(state, segment, allow_common=False)
        grant = _grant_type(form)
        app_id = authenticate_client(
            state, f"{base}/{segment}/oauth2/v2.0/token", segment, form, headers
        )
        if grant == "client_credentials":
            return _client_credentials(state, tid, app_id, form)
        return user_grant(state, base, tid, app_id, grant=grant, form=form)
    except SigninError as err:
        return aad_error(state, err)


def _client_credentials(
    state: EmulatorState, tid: str, app_id: str, form: dict[str, str]
) -> Response:
    scope = form.get("scope")
    if not scope:
        raise SigninError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        )
    if not scope.endswith("/.default") or " " in scope.strip():
        raise SigninError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        )
    if scope[: -len("/.default")].rstrip("/") not in GRAPH_RESOURCES:
        raise SigninError(
            400,
            "invalid_scope",
            70011,
            f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
        )
    tenant = state.tenant
    sp_id = tenant.sp_by_appid.get(app_id) or app_id
    roles = list(tenant.app_permissions.get(sp_id, []))
    lifetime = state.settings.token_lifetime_s
    access = state.tokens.access_token(
        tenant_id=tid, app_id=app_id, oid=sp_id, now=tenant.now(), lifetime=lifetime, roles=roles
    )
    body = {
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access,
    }
    return json_response(
        200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}, JSON_UTF8
    )


def redirect_with(params: dict[str, str], values: dict[str, str]) -> Response:
    """Send the browser back to the client (query, fragment or form_post)."""
    if params.get("state"):
        values = {**values, "state": params["state"]}
    mode = params.get("response_mode", "query")
    uri = params["redirect_uri"]
    if mode == "form_post":
        inner = (
            f"<form method='post' action='{html.escape(uri)}'>{hidden_fields(values)}"
            "<p>Signing you in.</p><button type='submit'>Continue</button></form>"
        )
        return page("Working...", inner, form_targets=(uri,), script=True)
    separator = "#" if mode == "fragment" else ("&" if "?" in uri else "?")
    return Response(
        302, b"", {"Location": f"{uri}{separator}{urlencode(values)}", "Cache-Control": "no-store"}
    )


def parse_form(body: bytes) -> dict[str, str]:
    """Return an x-www-form-urlencoded body as a dict."""
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def trace_ids() -> tuple[str, str]:
    """Return a (trace id, correlation id) pair."""
    return str(uuid.uuid4()), str(uuid.uuid4())
