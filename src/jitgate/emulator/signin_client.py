"""Client authentication at the token endpoint, and the AADSTS error body (graph.md §1.2).

A secret (body or HTTP Basic) or a certificate assertion (PS256 + ``x5t#S256`` or RS256 + ``x5t``), and the AADSTS error body (graph.md §1.2).
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import base64
import secrets
import uuid
from typing import TYPE_CHECKING
from urllib.parse import unquote

import jwt

from jitgate.emulator.http import Response, json_response

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState
    from jitgate.emulator.store import CertKey

JSON_UTF8 = "application/json; charset=utf-8"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class SigninError(Exception):
    """An AADSTS error: HTTP status, ``error``, AADSTS number and text."""

    def __init__(self, status: int, error: str, code: int, text: str) -> None:
        super().__init__(f"AADSTS{code}: {text}")
        self.status = status
        self.error = error
        self.code = code
        self.text = text


def aad_error(state: EmulatorState, err: SigninError) -> Response:
    """Return the identity platform's error body for ``err``."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = state.tenant.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
    body = {
        "error": err.error,
        "error_description": f"AADSTS{err.code}: {err.text}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={err.code}",
    }
    return json_response(err.status, body, {"Cache-Control": "no-store, no-cache"}, JSON_UTF8)


def _basic(headers: dict[str, str]) -> tuple[str, str] | None:
    header = headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except ValueError:
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


def authenticate_client(
    state: EmulatorState, endpoint: str, segment: str, form: dict[str, str], headers: dict[str, str]
) -> str:
    """Check the client's identity and credential; return its client (app) id."""
    basic = _basic(headers)
    if basic is not None:
        form = {**form, "client_id": form.get("client_id") or basic[0], "client_secret": basic[1]}
    client_id = form.get("client_id", "")
    if not client_id:
        raise SigninError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        )
    tenant = state.tenant
    if client_id not in tenant.app_by_appid:
        raise SigninError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory '{segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
        )
    sp = tenant.service_principals.get(tenant.sp_by_appid.get(client_id, ""))
    if sp is not None and sp.get("accountEnabled") is False:
        raise SigninError(400, "unauthorized_client", 7000112, "The application is disabled.")
    if form.get("client_secret"):
        _check_secret(state, client_id, form["client_secret"])
    elif form.get("client_assertion"):
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise SigninError(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            )
        _check_assertion(
            state,
            client_id,
            form["client_assertion"],
            {endpoint, endpoint.replace(f"/{segment}/", f"/{tenant.tenant_id}/")},
        )
    elif not _public_grant(state, client_id, form):
        raise SigninError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    return client_id


def _public_grant(state: EmulatorState, client_id: str, form: dict[str, str]) -> bool:
    """A public client redeems codes and refresh tokens without a credential."""
    tenant = state.tenant
    app = tenant.applications.get(tenant.app_by_appid.get(client_id, ""))
    return bool(app and app.get("isFallbackPublicClient")) and form.get("grant_type") in {
        "authorization_code",
        "refresh_token",
    }


def _check_secret(state: EmulatorState, client_id: str, presented: str) -> None:
    now = state.tenant.now()
    for secret in state.tenant.secrets.get(client_id, []):
        if secrets.compare_digest(secret.text, presented):
            if secret.end < now:
                raise SigninError(
                    401,
                    "invalid_client",
                    7000222,
                    f"The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                )
            return
    raise SigninError(
        401,
        "invalid_client",
        7000215,
        f"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.",
    )


def _find_cert(state: EmulatorState, client_id: str, header: dict[str, object]) -> CertKey:
    certs = state.tenant.certs.get(client_id, [])
    s256 = str(header.get("x5t#S256") or "").rstrip("=") or None
    sha1 = str(header.get("x5t") or "").rstrip("=") or None
    for cert in certs:
        if (s256 and cert.x5t_s256 == s256) or (sha1 and cert.x5t == sha1):
            return cert
    raise SigninError(
        401, "invalid_client", 700027, "Client assertion failed signature validation."
    )


def _check_assertion(
    state: EmulatorState, client_id: str, assertion: str, audiences: set[str]
) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.InvalidTokenError as err:
        raise SigninError(
            400, "invalid_request", 50027, "JWT token is invalid or malformed."
        ) from err
    algorithm = str(header.get("alg", ""))
    if algorithm not in {"PS256", "RS256"}:
        raise SigninError(
            401, "invalid_client", 700027, "Client assertion failed signature validation."
        )
    cert = _find_cert(state, client_id, header)
    try:
        claims = jwt.decode(
            assertion,
            cert.cert.public_key(),  # type: ignore[arg-type]
            algorithms=[algorithm],
            audience=sorted(audiences),
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
        )
    except jwt.InvalidAudienceError as err:
        raise SigninError(
            400,
            "invalid_client",
            700021,
            "Client assertion audience claim does not match Realm issuer.",
        ) from err
    except jwt.InvalidTokenError as err:
        raise SigninError(
            401, "invalid_client", 700027, "Client assertion failed signature validation."
        ) from err
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise SigninError(
            401,
            "invalid_client",
            700023,
            "Client assertion subject and issuer must match the client id.",
        )
    if state.settings.validate_token_lifetime:
        now, leeway = state.tenant.now(), state.settings.assertion_leeway_s
        if float(claims.get("exp", 0)) + leeway < now or float(claims.get("nbf", 0)) - leeway > now:
            raise SigninError(
                401,
                "invalid_client",
                700024,
                "Client assertion is not within its valid time range.",
            )
