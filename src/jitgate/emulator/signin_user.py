"""The sign-in host's user grants (graph.md §1): authorization codes with PKCE, refresh tokens.

A code is redeemed at most once, only by its client, its redirect URI and its PKCE verifier; a
refresh token is used once and replaced.
"""
# ruff: noqa: E501 - AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from jitgate.emulator import signin_claims
from jitgate.emulator.http import Response, json_response
from jitgate.emulator.signin_client import JSON_UTF8, SigninError
from jitgate.emulator.tokens import client_info

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

CODE_LIFETIME = 600.0
SESSION_FIELDS = ("sid", "auth_time", "amr", "acrs")
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})


def _scope_resource(scope: str) -> tuple[str, list[str]]:
    parts = [s for s in scope.split() if s]
    resource_scopes = [s for s in parts if s not in OIDC_SCOPES]
    return " ".join(resource_scopes), parts


def _pkce_ok(challenge: str | None, method: str, verifier: str | None) -> bool:
    if not challenge:
        return True
    if not verifier:
        return False
    if method.upper() == "S256":
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        return secrets.compare_digest(digest, challenge)
    return secrets.compare_digest(verifier, challenge)


def user_grant(
    state: EmulatorState, base: str, tid: str, app_id: str, *, grant: str, form: dict[str, str]
) -> Response:
    """The authorization-code or refresh-token grant: a user's tokens, or a SigninError."""
    tenant = state.tenant
    now = tenant.now()
    if grant == "authorization_code":
        code = form.get("code")
        if not code:
            raise SigninError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'code'.",
            )
        grant_info = state.codes.get(code)
        if grant_info is None or grant_info["expires"] < now or grant_info["client_id"] != app_id:
            raise SigninError(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
            )
        if grant_info["used"]:
            raise SigninError(
                400,
                "invalid_grant",
                54005,
                "OAuth2 Authorization Code was already redeemed, please retry with a new valid code or use an existing refresh token.",
            )
        if form.get("redirect_uri") != grant_info["redirect_uri"]:
            raise SigninError(
                400,
                "invalid_grant",
                500112,
                "The reply address does not match the reply address provided when requesting the authorization code.",
            )
        if not _pkce_ok(
            grant_info.get("code_challenge"),
            grant_info.get("code_challenge_method", "plain"),
            form.get("code_verifier"),
        ):
            raise SigninError(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            )
        grant_info["used"] = True
        scope = grant_info["scope"]
    else:
        refresh = form.get("refresh_token")
        if not refresh:
            raise SigninError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'refresh_token'.",
            )
        grant_info = state.refresh_tokens.pop(refresh, None)
        if grant_info is None or grant_info["client_id"] != app_id:
            raise SigninError(
                400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
            )
        scope = form.get("scope") or grant_info["scope"]
    user = tenant.users.get(grant_info["user_id"])
    if user is None:
        raise SigninError(
            400, "invalid_grant", 50034, "The user account does not exist in the directory."
        )
    return _user_tokens(
        state,
        base,
        tid,
        app_id,
        user=user,
        scope=scope,
        grant_info=grant_info,
        want_client_info=form.get("client_info") == "1",
    )


def _user_tokens(
    state: EmulatorState,
    base: str,
    tid: str,
    app_id: str,
    *,
    user: dict[str, Any],
    scope: str,
    grant_info: dict[str, Any],
    want_client_info: bool,
) -> Response:
    tenant = state.tenant
    now = tenant.now()
    lifetime = state.settings.token_lifetime_s
    resource_scope, parts = _scope_resource(scope)
    delegated = (
        " ".join(
            s.rsplit("/", 1)[-1] for s in resource_scope.split() if not s.endswith("/.default")
        )
        or "User.Read"
    )
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": scope,
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": state.tokens.access_token(
            tenant_id=tid,
            app_id=app_id,
            oid=user["id"],
            now=now,
            lifetime=lifetime,
            scp=delegated,
            user=user,
        ),
    }
    if "openid" in parts:
        body["id_token"] = state.tokens.id_token(
            issuer=f"{base}/{tid}/v2.0",
            tenant_id=tid,
            client_id=app_id,
            user=user,
            nonce=grant_info.get("nonce"),
            now=now,
            lifetime=lifetime,
            extra=_sign_in_claims(state, app_id, user["id"], grant_info),
        )
    if "offline_access" in parts:
        refresh = secrets.token_urlsafe(48)
        state.refresh_tokens[refresh] = {
            **{k: grant_info[k] for k in SESSION_FIELDS if k in grant_info},
            "client_id": app_id,
            "user_id": user["id"],
            "scope": scope,
            "nonce": None,
        }
        body["refresh_token"] = refresh
    if want_client_info:
        body["client_info"] = client_info(user["id"], tid)
    return json_response(
        200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}, JSON_UTF8
    )


def _sign_in_claims(
    state: EmulatorState, app_id: str, user_id: str, grant_info: dict[str, Any]
) -> dict[str, Any]:
    """The id token claims that come from the sign-in and the app (amr, auth_time, roles...)."""
    claims: dict[str, Any] = signin_claims.user_claims(state.tenant, app_id, user_id)
    for name in ("sid", "auth_time", "amr"):
        if grant_info.get(name) is not None:
            claims[name] = grant_info[name]
    if grant_info.get("acrs"):
        claims["acrs"] = list(grant_info["acrs"])
    return claims


def issue_code(
    state: EmulatorState,
    params: dict[str, str],
    user_id: str,
    *,
    session: dict[str, Any] | None = None,
    acrs: list[str] | None = None,
) -> str:
    """Store a new authorization code for ``user_id`` and the authorize request ``params``.

    ``session`` is the SSO session that signed the user in (its ``sid``, ``auth_time`` and
    ``amr`` reach the id token); ``acrs`` are the auth context values the sign-in satisfied.
    """
    code = secrets.token_urlsafe(32)
    sign_in: dict[str, Any] = {}
    if session is not None:
        sign_in = {
            "sid": session["sid"],
            "auth_time": int(session["auth_time"]),
            "amr": list(session["amr"]),
        }
    if acrs:
        sign_in["acrs"] = list(acrs)
    state.codes[code] = {
        **sign_in,
        "client_id": params["client_id"],
        "redirect_uri": params["redirect_uri"],
        "user_id": user_id,
        "scope": params.get("scope", "openid"),
        "nonce": params.get("nonce"),
        "code_challenge": params.get("code_challenge"),
        "code_challenge_method": params.get("code_challenge_method", "plain"),
        "expires": state.tenant.now() + CODE_LIFETIME,
        "used": False,
    }
    return code
