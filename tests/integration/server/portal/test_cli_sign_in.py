"""``jitgate login --browser``: the CLI's loopback flow through the emulator's sign-in page, and
the server trading the CLI app's fresh id token for a short-lived API token."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import select

from jitgate.cli import browser_login
from jitgate.cli.errors import CliError
from jitgate.core.tls import ssl_context
from jitgate.emulator.portal_apps import CLI_APP_ID
from jitgate.server.audit.models import AuditEvent
from sign_in_world import ADELE, PortalWorld

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fastapi.testclient import TestClient

GRADY = "grady@contoso.onmicrosoft.com"


@pytest.fixture
def cli_world(emulator, sessions, world_clock, tmp_path) -> Iterator[PortalWorld]:
    """The app with portal sign-in and the CLI's browser sign-in configured."""
    made = PortalWorld(emulator, sessions, world_clock, tmp_path, oidc_cli_client_id=CLI_APP_ID)
    yield made
    made.close()


def _cli_id_token(world: PortalWorld, app: TestClient, upn: str) -> str:
    """Run the CLI's real loopback flow; "the browser" signs ``upn`` in on the emulator."""
    answer = app.get("/auth/cli-config")
    assert answer.status_code == 200, answer.text
    config = browser_login.CliSignInConfig(**answer.json())
    assert config.client_id == CLI_APP_ID

    def browser(url: str) -> None:
        def visit() -> None:
            redirect = world.enter_password(url, upn)
            assert redirect.startswith("http://127.0.0.1:"), redirect
            httpx.get(redirect, trust_env=False)

        threading.Thread(target=visit, daemon=True).start()

    said: list[str] = []
    world.clock.advance(timedelta(seconds=30))  # a new TOTP step: a code is used only once
    token = browser_login.sign_in(
        config,
        ca_bundle=world.emulator.ca_bundle,
        open_url=browser,
        say=said.append,
        timeout_s=30,
    )
    assert "visit" in said[0]
    return token


def test_the_cli_signs_in_through_the_browser_and_gets_a_short_lived_token(cli_world):
    grady = cli_world.person(GRADY)
    with cli_world.browser() as app:
        id_token = _cli_id_token(cli_world, app, GRADY)
        traded = app.post("/api/v1/auth/token", headers={"Authorization": f"Bearer {id_token}"})
        assert traded.status_code == 201, traded.text
        body = traded.json()
        assert (body["upn"], body["role"]) == (GRADY, "user")
        me = app.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
        assert me.status_code == 200
        assert me.json()["upn"] == GRADY
    lifetime = cli_world.settings.cli_token_lifetime_s
    expires = body["expires_at"].replace("Z", "+00:00")
    assert expires == (cli_world.clock.now() + timedelta(seconds=lifetime)).isoformat()
    with cli_world.sessions() as session:
        created = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "api_token.create")
        ).all()
    assert [(e.actor_id, e.source) for e in created][-1] == (grady.id, "cli")


def test_a_stale_foreign_or_unknown_id_token_is_refused(cli_world):
    cli_world.person(GRADY)
    with cli_world.browser() as app:
        id_token = _cli_id_token(cli_world, app, GRADY)
        cli_world.clock.advance(timedelta(minutes=11))
        stale = app.post("/api/v1/auth/token", headers={"Authorization": f"Bearer {id_token}"})
        assert stale.status_code == 401
        assert "too old" in stale.json()["detail"]
        nobody = _cli_id_token(cli_world, app, ADELE)  # a real id token of someone not discovered
        unknown = app.post("/api/v1/auth/token", headers={"Authorization": f"Bearer {nobody}"})
        assert unknown.status_code == 401
        assert "not known to jitgate" in unknown.json()["detail"]
        forged = app.post("/api/v1/auth/token", headers={"Authorization": "Bearer x.y.z"})
        assert forged.status_code == 401
        assert app.post("/api/v1/auth/token").status_code == 401


def test_a_token_for_another_audience_is_refused(cli_world):
    """A genuine token of the tenant, signed by its keys, but not for the CLI app."""
    cli_world.person(ADELE)
    portal = cli_world.app.state.portal.oidc
    answer = httpx.post(
        f"{cli_world.emulator.authority_host}/{portal.tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": portal.client_id,
            "client_secret": cli_world.settings.oidc_client_secret.get_secret_value(),
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=ssl_context(cli_world.emulator.ca_bundle),
        trust_env=False,
    )
    assert answer.status_code == 200, answer.text
    token = answer.json()["access_token"]
    with cli_world.browser() as app:
        refused = app.post("/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["detail"]


def test_not_configured_is_one_readable_line(world):
    with world.browser() as app:
        assert app.get("/auth/cli-config").status_code == 404
    with pytest.raises(CliError, match="cannot reach"):
        browser_login.fetch_config("http://127.0.0.1:9")  # nothing listens there
