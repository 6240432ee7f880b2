"""The portal and the emulator's sign-in host, wired for sign-in tests; no browser.

``emulator_https`` serves an emulator over loopback HTTPS (its own CA) on a ``ManualClock`` the
app shares, so id tokens carry the app's time. ``PortalWorld`` builds the server app configured
for OIDC against it and plays the browser: ``sign_in`` follows every redirect by hand, posting
the emulator's sign-in form like a person would.

``register_portal`` is the one place that registers the portal's redirect and sign-out URIs
on the emulator's portal app (``jitgate.emulator.portal_apps``).
"""

from __future__ import annotations

import re
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi.testclient import TestClient

from jitgate.core.settings import Settings
from jitgate.emulator import totp
from jitgate.emulator.portal_apps import PORTAL_APP_ID, register_portal_app
from jitgate.server.app import create_app
from jitgate.server.identities.models import Identity

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.core.clock import ManualClock
    from jitgate.emulator.server import RunningEmulator

PASSWORD = "Passw0rd!"
ADELE = "adele@contoso.onmicrosoft.com"
PORTAL_SECRET = "portal-secret-value"


def register_portal(
    emulator: RunningEmulator, *, redirect_uris: list[str], post_logout_redirect_uris: list[str]
) -> tuple[str, str]:
    """Register the portal's URIs on the emulator; return its (client id, a new secret)."""
    secret = register_portal_app(
        emulator.state,
        redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris,
    )
    return PORTAL_APP_ID, secret


def extra_id_token_claims(emulator: RunningEmulator, **claims: Any) -> None:
    """Make the emulator's id tokens carry ``claims`` too (amr, roles, auth_time, acrs)."""
    tokens = emulator.state.tokens
    sign = type(tokens).sign

    def signing(payload: dict[str, Any]) -> str:
        if payload.get("ver") == "2.0":
            payload = {**payload, **claims}
            payload = {k: v for k, v in payload.items() if v is not None}
        return sign(tokens, payload)

    tokens.sign = signing  # type: ignore[method-assign]


def _flow(page: str) -> str:
    found = re.search(r"name='flow' value='([^']+)'", page)
    assert found is not None, page
    return found.group(1)


def trust(ca_bundle: Path) -> ssl.SSLContext:
    """A TLS context trusting only the emulator's CA."""
    return ssl.create_default_context(cafile=str(ca_bundle))


class PortalWorld:
    """The app configured for OIDC on the emulator, and a browser for each side."""

    def __init__(
        self,
        emulator: RunningEmulator,
        sessions: sessionmaker[Session],
        clock: ManualClock,
        tmp_path: Path,
        *,
        base_url: str = "https://jitgate.test",
        **settings: Any,
    ) -> None:
        self.emulator = emulator
        self.sessions = sessions
        self.clock = clock
        self.base_url = base_url
        client_id, secret = register_portal(
            emulator,
            redirect_uris=[f"{base_url}/auth/callback"],
            post_logout_redirect_uris=[f"{base_url}/auth/signed-out"],
        )
        self.client_id = client_id
        self.settings = Settings(
            data_dir=tmp_path,
            database_url="sqlite://",
            log_json=False,
            base_url=base_url,
            oidc_tenant=emulator.state.tenant.tenant_id,
            oidc_client_id=client_id,
            oidc_client_secret=secret,
            oidc_authority_host=emulator.authority_host,
            oidc_ca_bundle=emulator.ca_bundle,
            **settings,
        )
        self.app = create_app(self.settings, clock=clock, sessions=sessions)
        self.idp = httpx.Client(verify=trust(emulator.ca_bundle), trust_env=False)

    def browser(self, user_agent: str = "TestBrowser/1.0") -> TestClient:
        """A new browser (its own cookie jar) on the app."""
        return TestClient(
            self.app,
            base_url=self.base_url,
            raise_server_exceptions=False,
            follow_redirects=False,
            headers={"user-agent": user_agent},
        )

    def person(self, upn: str = ADELE, **fields: Any) -> Identity:
        """The discovered identity of the emulator user ``upn``."""
        user = self.emulator.state.tenant.find_user(upn)
        assert user is not None
        now = self.clock.now()
        with self.sessions() as session:
            identity = Identity(
                tenant_id=self.emulator.state.tenant.tenant_id,
                object_id=user["id"],
                upn=upn,
                display_name=user.get("displayName") or upn,
                source="entra",
                created_at=now,
                updated_at=now,
                groups=[],
                attributes={},
                **fields,
            )
            session.add(identity)
            session.commit()
            return identity

    def authorize(self, browser: TestClient, path: str) -> str:
        """Start a sign-in at ``path``; return the emulator URL the app sent the browser to."""
        started = browser.get(path)
        assert started.status_code == 303, started.text
        return started.headers["location"]

    def enter_password(self, auth_uri: str, upn: str = ADELE, password: str = PASSWORD) -> str:
        """Submit the emulator's sign-in form; return where it redirects (the callback)."""
        # A fresh browser on the sign-in host each time: no SSO session carried between people.
        with httpx.Client(verify=trust(self.emulator.ca_bundle), trust_env=False) as idp:
            page = idp.get(auth_uri)
            assert page.status_code == 200, page.text
            form = dict(parse_qsl(urlsplit(auth_uri).query))
            done = idp.post(auth_uri, data={**form, "username": upn, "password": password})
            if done.status_code == 200 and "name='otc'" in done.text:  # MFA: the TOTP step
                done = idp.post(auth_uri, data={"flow": _flow(done.text), "otc": self.code(upn)})
        assert done.status_code == 302, done.text
        return done.headers["location"]

    def code(self, upn: str) -> str:
        """The current TOTP code of an emulator user enrolled in MFA."""
        tenant = self.emulator.state.tenant
        user = tenant.find_user(upn)
        assert user is not None
        return totp.totp(tenant.mfa_secrets[user["id"]], tenant.now())

    def sign_in(
        self, browser: TestClient, path: str = "/auth/sign-in?return_to=/sessions", upn: str = ADELE
    ) -> httpx.Response:
        """A whole sign-in; return the app's answer to the callback."""
        callback = self.enter_password(self.authorize(browser, path), upn)
        assert callback.startswith(f"{self.base_url}/auth/callback?"), callback
        return browser.get(callback)

    def cookie(self, browser: TestClient) -> str | None:
        """The browser's session cookie."""
        name = "__Host-jitgate_session" if self.base_url.startswith("https") else "jitgate_session"
        return browser.cookies.get(name)

    def close(self) -> None:
        """Close the browser on the emulator and the app's client of the sign-in host."""
        self.idp.close()
        self.app.state.portal.oidc.close()
