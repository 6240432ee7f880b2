"""MSAL's portal (confidential) and CLI (public) sign-ins against the emulator over HTTPS.

The emulator runs with its plain-HTTP browser listener (as in ``jitgate up``): the sign-in page is
driven with httpx like a browser (GET the form, POST the password, POST the one-time code), the
token endpoint and keys stay on HTTPS with the emulator's CA.
"""

from __future__ import annotations

import json
import re
import ssl
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import msal
import pytest
import requests

from jitgate.emulator import totp
from jitgate.emulator.portal_apps import CLI_APP_ID, PORTAL_APP_ID, register_portal_app
from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state

CALLBACK = "http://127.0.0.1:8765/auth/callback"
SIGNED_OUT = "http://127.0.0.1:8765/auth/signed-out"
PASSWORD = "Passw0rd!"
FLOW = re.compile(r"name='flow' value='([^']+)'")

pytestmark = pytest.mark.filterwarnings(
    "ignore:response_mode='form_post' is recommended:UserWarning"
)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    running = start_in_thread(
        build_state(), data_dir=tmp_path_factory.mktemp("emulator"), browser_port=0
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def portal_secret(emulator):
    return register_portal_app(
        emulator.state, redirect_uris=[CALLBACK], post_logout_redirect_uris=[SIGNED_OUT]
    )


def http_session(emulator):
    session = requests.Session()
    session.trust_env = False
    session.verify = str(emulator.ca_bundle)
    return session


def authority(emulator):
    return f"{emulator.authority_host}/{emulator.state.tenant.tenant_id}"


def code_now(emulator, key):
    tenant = emulator.state.tenant
    user_id = tenant.upn_index[f"{key}@contoso.onmicrosoft.com"]
    return totp.totp(tenant.mfa_secrets[user_id], tenant.now())


def browse(emulator, auth_uri, key, *, browser=None):
    """Play the browser: form, password, code; return the redirect's query parameters."""
    own = browser is None
    browser = browser or httpx.Client(
        verify=ssl.create_default_context(cafile=str(emulator.ca_bundle))
    )
    try:
        form = browser.get(auth_uri)
        assert form.status_code == 200
        assert "name='password'" in form.text
        assert form.headers["content-security-policy"]
        asked = browser.post(
            auth_uri, data={"username": f"{key}@contoso.onmicrosoft.com", "password": PASSWORD}
        )
        assert asked.status_code == 200
        assert "name='otc'" in asked.text
        flow = FLOW.search(asked.text)
        assert flow
        done = browser.post(auth_uri, data={"flow": flow.group(1), "otc": code_now(emulator, key)})
        assert done.status_code == 302, done.text
        return dict(parse_qsl(urlsplit(done.headers["location"]).query)), done.headers["location"]
    finally:
        if own:
            browser.close()


def test_the_browser_endpoints_are_on_the_http_listener(emulator):
    assert emulator.browser_url
    assert emulator.browser_url.startswith("http://127.0.0.1:")
    tid = emulator.state.tenant.tenant_id
    with httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_bundle))) as http:
        doc = http.get(
            f"{emulator.authority_host}/{tid}/v2.0/.well-known/openid-configuration"
        ).json()
        assert (
            doc["authorization_endpoint"] == f"{emulator.browser_url}/{tid}/oauth2/v2.0/authorize"
        )
        assert doc["end_session_endpoint"] == f"{emulator.browser_url}/{tid}/oauth2/v2.0/logout"
        assert doc["token_endpoint"].startswith("https://")
        # Only the browser pages answer on plain HTTP.
        assert http.get(f"{emulator.browser_url}/static/signin.css").status_code == 200
        assert http.post(f"{emulator.browser_url}/{tid}/oauth2/v2.0/token").status_code == 404
        assert http.get(f"{emulator.browser_url}/_emulator/info").status_code == 404
        assert http.get(f"{emulator.browser_url}/v1.0/users").status_code == 404


def test_portal_sign_in_with_mfa_roles_groups_and_an_auth_context(emulator, portal_secret):
    app = msal.ConfidentialClientApplication(
        PORTAL_APP_ID,
        client_credential=portal_secret,
        authority=authority(emulator),
        instance_discovery=False,
        http_client=http_session(emulator),
    )
    claims_request = json.dumps({"id_token": {"acrs": {"essential": True, "value": "c1"}}})
    flow = app.initiate_auth_code_flow(
        ["User.Read"], redirect_uri=CALLBACK, claims_challenge=claims_request
    )
    assert flow["auth_uri"].startswith(f"{emulator.browser_url}/")
    params, location = browse(emulator, flow["auth_uri"], "lynne")
    assert location.startswith(CALLBACK)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    tenant = emulator.state.tenant
    lynne = tenant.upn_index["lynne@contoso.onmicrosoft.com"]
    assert claims["aud"] == PORTAL_APP_ID
    assert claims["iss"] == f"{emulator.authority_host}/{tenant.tenant_id}/v2.0"
    assert claims["oid"] == lynne
    assert claims["tid"] == tenant.tenant_id
    assert claims["preferred_username"] == "lynne@contoso.onmicrosoft.com"
    assert claims["name"] == "Lynne Robbins"
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["roles"] == ["Jitgate.Admin"]
    assert claims["acrs"] == ["c1"]
    assert claims["groups"]
    assert isinstance(claims["auth_time"], int)
    assert claims["sid"]
    # The id token verifies against the published keys.
    keys = http_session(emulator).get(f"{authority(emulator)}/discovery/v2.0/keys").json()
    key = jwt.PyJWK(keys["keys"][0])
    jwt.decode(result["id_token"], key.key, algorithms=["RS256"], audience=PORTAL_APP_ID)


def test_sso_then_logout_through_the_browser_listener(emulator, portal_secret):
    app = msal.ConfidentialClientApplication(
        PORTAL_APP_ID,
        client_credential=portal_secret,
        authority=authority(emulator),
        instance_discovery=False,
        http_client=http_session(emulator),
    )
    with httpx.Client() as browser:
        flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=CALLBACK)
        params, _ = browse(emulator, flow["auth_uri"], "isaiah", browser=browser)
        result = app.acquire_token_by_auth_code_flow(flow, params)
        assert result["id_token_claims"]["roles"] == ["Jitgate.Auditor"]
        again = app.initiate_auth_code_flow(["User.Read"], redirect_uri=CALLBACK)
        silent = browser.get(again["auth_uri"])
        assert silent.status_code == 302  # the SSO session: no credentials asked
        tid = emulator.state.tenant.tenant_id
        out = browser.get(
            f"{emulator.browser_url}/{tid}/oauth2/v2.0/logout",
            params={
                "id_token_hint": result["id_token"],
                "post_logout_redirect_uri": SIGNED_OUT,
                "state": "s-9",
            },
        )
        assert out.status_code == 302
        assert out.headers["location"] == f"{SIGNED_OUT}?state=s-9"
        after = app.initiate_auth_code_flow(["User.Read"], redirect_uri=CALLBACK, prompt="none")
        denied = browser.get(after["auth_uri"])
        assert (
            dict(parse_qsl(urlsplit(denied.headers["location"]).query))["error"] == "login_required"
        )


def test_cli_public_client_with_a_loopback_redirect(emulator):
    app = msal.PublicClientApplication(
        CLI_APP_ID,
        authority=authority(emulator),
        instance_discovery=False,
        http_client=http_session(emulator),
    )
    redirect = "http://localhost:51789"
    flow = app.initiate_auth_code_flow(["User.Read"], redirect_uri=redirect)
    params, location = browse(emulator, flow["auth_uri"], "grady")
    assert location.startswith(redirect)
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert claims["aud"] == CLI_APP_ID
    assert claims["preferred_username"] == "grady@contoso.onmicrosoft.com"
    assert claims["amr"] == ["pwd", "mfa"]
    accounts = app.get_accounts()
    assert accounts[0]["username"] == "grady@contoso.onmicrosoft.com"
    assert "access_token" in app.acquire_token_silent(
        ["User.Read"], account=accounts[0], force_refresh=True
    )
