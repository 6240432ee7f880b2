"""The sign-in SSO session: reuse, prompt, max_age, login_hint, step-up (acrs), logout."""

from __future__ import annotations

import json
from datetime import timedelta

from signin_flow import (
    authorize_url,
    current_code,
    id_claims,
    redeem,
    redirect_params,
    sign_in,
    submit_code,
    submit_password,
)

from jitgate.emulator.portal_apps import PORTAL_APP_ID, register_portal_app

ACRS = json.dumps({"id_token": {"acrs": {"essential": True, "value": "c1"}}})
SIGNED_OUT = "http://localhost:8000/auth/signed-out"


def is_password_page(page) -> bool:
    return page.status_code == 200 and "name='password'" in page.text


def test_a_later_authorize_reuses_the_session_without_credentials(client, state, clock):
    first = id_claims(redeem(client, state, sign_in(client, state, "lynne")))
    clock.advance(timedelta(minutes=5))
    again = client.get(authorize_url(state))
    assert again.status_code == 302
    second = id_claims(redeem(client, state, again))
    assert second["sid"] == first["sid"]
    assert second["auth_time"] == first["auth_time"]  # no credentials entered since
    assert second["amr"] == ["pwd", "mfa"]


def test_prompt_login_asks_again_and_starts_a_new_session(client, state, clock):
    first = id_claims(redeem(client, state, sign_in(client, state, "adele")))
    clock.advance(timedelta(minutes=1))
    url = authorize_url(state, prompt="login")
    assert is_password_page(client.get(url))
    second = id_claims(redeem(client, state, sign_in(client, state, "adele", url=url)))
    assert second["auth_time"] == first["auth_time"] + 60
    assert second["sid"] != first["sid"]


def test_max_age_asks_again_only_when_auth_time_is_older(client, state, clock):
    sign_in(client, state, "adele")
    clock.advance(timedelta(seconds=100))
    assert client.get(authorize_url(state, max_age="300")).status_code == 302
    assert is_password_page(client.get(authorize_url(state, max_age="60")))
    assert is_password_page(client.get(authorize_url(state, max_age="0")))


def test_prompt_none_needs_a_session(client, state):
    silent = client.get(authorize_url(state, prompt="none"))
    assert silent.status_code == 302
    params = redirect_params(silent)
    assert params["error"] == "login_required"
    assert params["error_description"].startswith("AADSTS50058: ")
    assert params["state"] == "st-1"
    sign_in(client, state, "adele")
    assert "code" in redirect_params(client.get(authorize_url(state, prompt="none")))


def test_login_hint_preselects_and_a_session_for_someone_else_asks(client, state):
    page = client.get(authorize_url(state, login_hint="grady@contoso.onmicrosoft.com"))
    assert "value='grady@contoso.onmicrosoft.com'" in page.text
    sign_in(client, state, "adele")
    same = client.get(authorize_url(state, login_hint="ADELE@contoso.onmicrosoft.com"))
    assert same.status_code == 302
    other = client.get(authorize_url(state, login_hint="grady@contoso.onmicrosoft.com"))
    assert is_password_page(other)
    assert "value='grady@contoso.onmicrosoft.com'" in other.text


def test_acrs_only_when_the_claims_request_asks_and_mfa_was_done(client, state):
    plain = id_claims(redeem(client, state, sign_in(client, state, "lynne")))
    assert "acrs" not in plain
    asked = client.get(authorize_url(state, claims=ACRS))  # the session already has MFA
    assert asked.status_code == 302
    claims = id_claims(redeem(client, state, asked))
    assert claims["acrs"] == ["c1"]
    assert claims["amr"] == ["pwd", "mfa"]


def test_step_up_asks_for_the_code_before_issuing_acrs(client, state, clock):
    state.settings.update({"mfa_on_every_sign_in": False})
    first = id_claims(redeem(client, state, sign_in(client, state, "grady")))
    assert first["amr"] == ["pwd"]
    url = authorize_url(state, claims=ACRS)
    silent = redirect_params(client.get(authorize_url(state, claims=ACRS, prompt="none")))
    assert silent["error"] == "interaction_required"
    assert silent["error_description"].startswith("AADSTS50076: ")
    clock.advance(timedelta(seconds=45))
    step_up = client.get(url)
    assert step_up.status_code == 200
    assert "name='otc'" in step_up.text
    done = submit_code(client, url, step_up, current_code(state, "grady"))
    assert done.status_code == 302
    claims = id_claims(redeem(client, state, done))
    assert claims["acrs"] == ["c1"]
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["sid"] == first["sid"]
    assert claims["auth_time"] == first["auth_time"] + 45
    # The session now has MFA: a later request for the context needs nothing more.
    assert client.get(url).status_code == 302


def test_a_person_without_mfa_cannot_satisfy_an_auth_context(client, state):
    page = submit_password(client, authorize_url(state, claims=ACRS), "adele")
    assert "AADSTS50079: " in page.text
    assert "Set-Cookie" not in page.headers


def test_discovery_advertises_the_logout_endpoint(client, state):
    tid = state.tenant.tenant_id
    doc = client.get(f"/{tid}/v2.0/.well-known/openid-configuration").json()
    assert doc["end_session_endpoint"] == f"https://emulator.test/{tid}/oauth2/v2.0/logout"


def test_browser_base_url_moves_only_the_browser_endpoints(client, state):
    state.settings.update({"browser_base_url": "http://127.0.0.1:9999"})
    tid = state.tenant.tenant_id
    doc = client.get(f"/{tid}/v2.0/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"] == f"http://127.0.0.1:9999/{tid}/oauth2/v2.0/authorize"
    assert doc["end_session_endpoint"] == f"http://127.0.0.1:9999/{tid}/oauth2/v2.0/logout"
    assert doc["token_endpoint"] == f"https://emulator.test/{tid}/oauth2/v2.0/token"
    assert doc["jwks_uri"].startswith("https://emulator.test/")
    assert doc["issuer"] == f"https://emulator.test/{tid}/v2.0"


def logout(client, emulator, **params):
    return client.get(f"/{emulator.tenant.tenant_id}/oauth2/v2.0/logout", params=params)


def test_logout_ends_the_session_and_follows_only_a_registered_uri(client, state):
    sign_in(client, state, "adele")
    done = logout(
        client, state, client_id=PORTAL_APP_ID, post_logout_redirect_uri=SIGNED_OUT, state="bye"
    )
    assert done.status_code == 302
    assert done.headers["location"] == f"{SIGNED_OUT}?state=bye"
    assert "Max-Age=0" in done.headers["set-cookie"]
    silent = redirect_params(client.get(authorize_url(state, prompt="none")))
    assert silent["error"] == "login_required"


def test_logout_to_an_unregistered_uri_shows_the_signed_out_page(client, state):
    sign_in(client, state, "adele")
    page = logout(
        client, state, client_id=PORTAL_APP_ID, post_logout_redirect_uri="https://evil.example/"
    )
    assert page.status_code == 200
    assert "You have signed out" in page.text
    assert "content-security-policy" in page.headers
    assert (
        logout(client, state, post_logout_redirect_uri=SIGNED_OUT).status_code == 200
    )  # no app named


def test_logout_knows_the_app_from_the_id_token_hint(client, state):
    claims_body = redeem(client, state, sign_in(client, state, "adele"))
    client.cookies.clear()  # the hint alone ends the session it names
    done = logout(
        client, state, id_token_hint=claims_body["id_token"], post_logout_redirect_uri=SIGNED_OUT
    )
    assert done.status_code == 302
    assert done.headers["location"] == SIGNED_OUT
    assert state.sso_sessions == {}


def test_register_portal_app_sets_uris_and_returns_a_working_secret(client, state):
    callback = "http://127.0.0.1:8123/auth/callback"
    secret = register_portal_app(
        state,
        redirect_uris=[callback],
        post_logout_redirect_uris=["http://127.0.0.1:8123/auth/signed-out"],
    )
    assert secret != "portal-secret-value"
    assert client.get(authorize_url(state)).status_code == 400  # the old redirect is gone
    response = sign_in(client, state, "adele", url=authorize_url(state, redirect_uri=callback))
    body = redeem(client, state, response, redirect_uri=callback, secret=secret)
    assert id_claims(body)["aud"] == PORTAL_APP_ID
    out = logout(
        client,
        state,
        client_id=PORTAL_APP_ID,
        post_logout_redirect_uri="http://127.0.0.1:8123/auth/signed-out",
    )
    assert out.status_code == 302


def test_the_admin_route_registers_the_portal_app(client, state):
    callback = "http://127.0.0.1:8124/auth/callback"
    answer = client.post(
        "/_emulator/apps/portal",
        json={"redirect_uris": [callback], "post_logout_redirect_uris": []},
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["client_id"] == PORTAL_APP_ID
    assert body["tenant_id"] == state.tenant.tenant_id
    response = sign_in(client, state, "adele", url=authorize_url(state, redirect_uri=callback))
    redeem(client, state, response, redirect_uri=callback, secret=body["client_secret"])
    assert client.post("/_emulator/apps/portal", json={}).status_code == 400
    info = client.get("/_emulator/info").json()
    assert info["portal_client_id"] == PORTAL_APP_ID


def test_refresh_keeps_the_sign_in_claims(client, state):
    body = redeem(client, state, sign_in(client, state, "lynne"))
    refreshed = client.post(
        f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": PORTAL_APP_ID,
            "client_secret": "portal-secret-value",
            "refresh_token": body["refresh_token"],
            "scope": "openid profile offline_access User.Read",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    before, after = id_claims(body), id_claims(refreshed.json())
    for name in ("amr", "auth_time", "sid", "roles", "groups"):
        assert after[name] == before[name], name


def test_a_step_up_after_logout_asks_for_the_password_again(client, state, clock):
    state.settings.update({"mfa_on_every_sign_in": False})
    sign_in(client, state, "grady")
    url = authorize_url(state, claims=ACRS)
    step_up = client.get(url)
    assert "name='otc'" in step_up.text
    logout(client, state)
    clock.advance(timedelta(seconds=30))
    again = submit_code(client, url, step_up, current_code(state, "grady"))
    assert is_password_page(again)
    assert "AADSTS50058" in again.text
