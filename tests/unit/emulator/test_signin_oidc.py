"""The sign-in side (portal-channels-terraform.md §3): apps, password + TOTP, id token claims."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from signin_flow import (
    PORTAL_REDIRECT,
    authorize_url,
    current_code,
    id_claims,
    redeem,
    redirect_params,
    sign_in,
    submit_code,
    submit_password,
)

from conftest import uid
from jitgate.emulator import portal_apps
from jitgate.emulator.graph_group_objects import new_group
from jitgate.emulator.portal_apps import CLI_APP_ID, PORTAL_APP_ID
from jitgate.emulator.signin_claims import requested_acrs


def app(state, app_id):
    return portal_apps.application(state, app_id)


def test_the_demo_tenant_registers_the_portal_and_the_cli(state):
    portal = app(state, PORTAL_APP_ID)
    assert portal["displayName"] == "jitgate portal"
    assert portal["groupMembershipClaims"] == "SecurityGroup"
    roles = {r["value"]: r for r in portal["appRoles"]}
    assert set(roles) == {"Jitgate.Admin", "Jitgate.Auditor"}
    assert all(r["allowedMemberTypes"] == ["User"] and uuid.UUID(r["id"]) for r in roles.values())
    sp_id = state.tenant.sp_by_appid[PORTAL_APP_ID]
    held = {
        (a["principalId"], a["appRoleId"])
        for a in state.tenant.app_role_assignments
        if a["resourceId"] == sp_id
    }
    assert held == {
        (uid(state, "lynne"), roles["Jitgate.Admin"]["id"]),
        (uid(state, "isaiah"), roles["Jitgate.Auditor"]["id"]),
    }
    cli = app(state, CLI_APP_ID)
    assert cli["displayName"] == "jitgate CLI"
    assert cli["isFallbackPublicClient"] is True
    for key in ("lynne", "grady", "alex", "isaiah"):
        assert uid(state, key) in state.tenant.mfa_secrets


def test_lynne_signs_in_with_password_and_code_and_gets_every_claim(client, state):
    response = sign_in(client, state, "lynne")
    assert response.headers["location"].startswith(PORTAL_REDIRECT)
    assert redirect_params(response)["state"] == "st-1"
    assert "Set-Cookie" in response.headers
    claims = id_claims(redeem(client, state, response))
    lynne = uid(state, "lynne")
    assert claims["amr"] == ["pwd", "mfa"]
    assert claims["auth_time"] == int(state.tenant.now())
    assert claims["oid"] == lynne
    assert claims["tid"] == state.tenant.tenant_id
    assert claims["sub"]
    assert claims["sub"] != lynne
    assert claims["name"] == "Lynne Robbins"
    assert claims["preferred_username"] == "lynne@contoso.onmicrosoft.com"
    assert claims["nonce"] == "nonce-1"
    assert claims["roles"] == ["Jitgate.Admin"]
    security = sorted(
        g
        for g in state.tenant.transitive_groups(lynne)
        if state.tenant.groups[g]["securityEnabled"]
    )
    assert security
    assert claims["groups"] == security
    assert uuid.UUID(claims["sid"])
    assert "acrs" not in claims
    assert "_claim_names" not in claims


def test_a_person_without_mfa_or_roles_gets_pwd_and_no_roles_claim(client, state):
    claims = id_claims(redeem(client, state, sign_in(client, state, "adele")))
    assert claims["amr"] == ["pwd"]
    assert "roles" not in claims


def test_app_roles_also_come_through_group_membership(client, state):
    portal = app(state, PORTAL_APP_ID)
    auditor = next(r["id"] for r in portal["appRoles"] if r["value"] == "Jitgate.Auditor")
    db_admins = next(
        g for g, o in state.tenant.groups.items() if o["displayName"] == "Database Admins"
    )
    state.tenant.app_role_assignments.append(
        {
            "id": str(uuid.uuid4()),
            "principalId": db_admins,
            "principalType": "Group",
            "resourceId": state.tenant.sp_by_appid[PORTAL_APP_ID],
            "appRoleId": auditor,
        }
    )
    claims = id_claims(redeem(client, state, sign_in(client, state, "grady")))
    assert claims["roles"] == ["Jitgate.Auditor"]


def test_more_than_200_groups_give_the_overage_claims(client, state):
    adele = uid(state, "adele")
    for n in range(201):
        group = new_group(
            0.0,
            {
                "displayName": f"g{n}",
                "mailNickname": f"g{n}",
                "securityEnabled": True,
                "mailEnabled": False,
            },
        )
        state.tenant.add_object("group", group)
        state.tenant.add_member(group["id"], adele)
    claims = id_claims(redeem(client, state, sign_in(client, state, "adele")))
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert claims["_claim_sources"] == {
        "src1": {"endpoint": f"https://graph.microsoft.com/v1.0/users/{adele}/getMemberObjects"}
    }


def test_the_cli_is_a_public_client_with_loopback_redirects_on_any_port(client, state, clock):
    for redirect in ("http://localhost:53121/", "http://127.0.0.1:8400/callback"):
        url = authorize_url(state, client_id=CLI_APP_ID, redirect_uri=redirect)
        client.cookies.clear()
        clock.advance(timedelta(seconds=30))  # a fresh code: each one is used once
        response = sign_in(client, state, "alex", url=url)
        assert response.headers["location"].startswith(redirect)
        body = redeem(
            client, state, response, client_id=CLI_APP_ID, redirect_uri=redirect, secret=None
        )
        claims = id_claims(body)
        assert claims["aud"] == CLI_APP_ID
        assert "groups" not in claims  # the CLI app does not ask for group claims
        assert body["refresh_token"]
    page = client.get(
        authorize_url(state, client_id=CLI_APP_ID, redirect_uri="https://evil.example/cb")
    )
    assert page.status_code == 400
    assert "AADSTS50011" in page.text


def test_the_portal_is_confidential_and_needs_its_secret(client, state):
    response = sign_in(client, state, "adele")
    token = client.post(
        f"/{state.tenant.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "authorization_code",
            "client_id": PORTAL_APP_ID,
            "code": redirect_params(response)["code"],
            "redirect_uri": PORTAL_REDIRECT,
        },
    )
    assert token.status_code == 401
    assert token.json()["error_codes"] == [7000218]


@pytest.mark.parametrize(
    ("key", "password", "code", "text"),
    [
        (
            "adele",
            "wrong",
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
        (
            "nobody",
            "Passw0rd!",
            50126,
            "Error validating credentials due to invalid username or password.",
        ),
        ("pradeep", "Passw0rd!", 50057, "The user account is disabled."),
    ],
)
def test_bad_credentials_show_the_aadsts_code_and_text(client, state, *, key, password, code, text):
    page = submit_password(client, authorize_url(state), key, password)
    assert page.status_code == 200
    assert f"AADSTS{code}: {text}" in page.text
    assert "role='alert'" in page.text
    assert "Set-Cookie" not in page.headers


def test_a_wrong_or_replayed_code_is_refused(client, state, clock):
    url = authorize_url(state)
    asked = submit_password(client, url, "grady")
    wrong = submit_code(
        client, url, asked, "000000" if current_code(state, "grady") != "000000" else "111111"
    )
    assert "AADSTS500121: Authentication failed during strong authentication request." in wrong.text
    code = current_code(state, "grady")
    assert submit_code(client, url, wrong, code).status_code == 302
    client.cookies.clear()
    again = submit_password(client, url, "grady")
    replayed = submit_code(client, url, again, code)
    assert replayed.status_code == 200
    assert "AADSTS500121" in replayed.text
    clock.advance(timedelta(seconds=30))
    assert submit_code(client, url, replayed, current_code(state, "grady")).status_code == 302


def test_pages_label_every_field_and_carry_a_csp_without_inline_code(client, state):
    url = authorize_url(state)
    pages = [client.get(url), submit_password(client, url, "lynne")]
    for page in pages:
        policy = page.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert "style-src 'self'" in policy
        assert "http://localhost:8000" in policy  # the form's redirect target
        assert "<html lang='en'>" in page.text
        assert "style=" not in page.text
        assert "<style" not in page.text
        assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None
        assert not re.search(r"\son[a-z]+=", page.text)
        fields = re.findall(r"<input id='([^']+)'", page.text)
        assert fields
        for field in fields:
            assert f"<label for='{field}'>" in page.text
    css = client.get("/static/signin.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_form_post_uses_the_served_script_not_an_inline_one(client, state):
    url = authorize_url(state, response_mode="form_post")
    page = submit_password(client, url, "adele")
    assert page.status_code == 200
    assert "<script src='/static/autosubmit.js'></script>" in page.text
    assert "onload" not in page.text
    assert f"action='{PORTAL_REDIRECT}'" in page.text
    assert "name='code'" in page.text
    assert client.get("/static/autosubmit.js").status_code == 200


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ('{"id_token":{"acrs":{"essential":true,"value":"c1"}}}', ["c1"]),
        ('{"id_token":{"acrs":{"essential":true,"values":["c1","c2"]}}}', ["c1", "c2"]),
        ('{"access_token":{"xms_cc":{"values":["cp1"]}}}', []),
        ('{"id_token":"acrs"}', []),
        ('{"id_token":{"acrs":{"values":"c1"}}}', []),
        ("[1, 2]", []),
        ("not json", []),
        (None, []),
    ],
)
def test_only_an_id_token_acrs_request_asks_for_an_auth_context(claims, expected):
    assert requested_acrs(claims) == expected
