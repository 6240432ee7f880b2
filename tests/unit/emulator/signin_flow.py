"""Drive the emulator's authorize page in-process like a browser: password, code, redirect."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

import jwt

from jitgate.emulator import totp
from jitgate.emulator.portal_apps import PORTAL_APP_ID

PORTAL_REDIRECT = "http://localhost:8000/auth/callback"
PORTAL_SECRET = "portal-secret-value"
PASSWORD = "Passw0rd!"
VERIFIER = "v" * 50
FLOW = re.compile(r"name='flow' value='([^']+)'")


def upn(key: str) -> str:
    return f"{key}@contoso.onmicrosoft.com"


def authorize_url(state, *, client_id=PORTAL_APP_ID, redirect_uri=PORTAL_REDIRECT, **extra):
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "openid profile offline_access User.Read",
        "state": "st-1",
        "nonce": "nonce-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"/{state.tenant.tenant_id}/oauth2/v2.0/authorize?{urlencode(params)}"


def current_code(state, key: str) -> str:
    user_id = state.tenant.upn_index[upn(key)]
    return totp.totp(state.tenant.mfa_secrets[user_id], state.tenant.now())


def flow_token(page) -> str:
    found = FLOW.search(page.text)
    assert found, page.text
    return found.group(1)


def submit_password(client, url, key, password=PASSWORD):
    return client.post(url, data={"username": upn(key), "password": password})


def submit_code(client, url, page, code):
    return client.post(url, data={"flow": flow_token(page), "otc": code})


def sign_in(client, state, key, url=None, **extra):
    """Password, then the one-time code when asked; return the redirect response."""
    url = url or authorize_url(state, **extra)
    response = submit_password(client, url, key)
    if response.status_code == 200 and "name='otc'" in response.text:
        response = submit_code(client, url, response, current_code(state, key))
    assert response.status_code == 302, response.text
    return response


def redirect_params(response) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


def redeem(
    client,
    state,
    response,
    *,
    client_id=PORTAL_APP_ID,
    redirect_uri=PORTAL_REDIRECT,
    secret=PORTAL_SECRET,
):
    """Redeem the code in ``response``'s redirect; return the token response JSON."""
    form = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "code": redirect_params(response)["code"],
        "redirect_uri": redirect_uri,
        "code_verifier": VERIFIER,
    }
    if secret:
        form["client_secret"] = secret
    token = client.post(f"/{state.tenant.tenant_id}/oauth2/v2.0/token", data=form)
    assert token.status_code == 200, token.text
    return token.json()


def id_claims(body) -> dict:
    return jwt.decode(body["id_token"], options={"verify_signature": False})
