"""A portal that signs people in for real, through the emulator's pages, for Chromium to drive.

``start_entra_portal`` starts the demo tenant's emulator (HTTPS for the server, a plain-HTTP
listener for the browser's pages) and a live jitgate on SQLite configured for OIDC on it, both on
one ``ManualClock``. The demo people are jitgate identities whose ``tenant_id``/``object_id`` are
the emulator users' (Grady's manager is Alex); an integration carries one resource and one flow
that needs Alex's approval and a recent MFA, another that needs only his approval (Grady has
a request pending on it). ``EntraPortal.sign_in`` plays the person at the
keyboard: the emulator's username, password and one-time code pages.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from factories import make_flow, make_integration, make_request, make_resource
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.emulator import totp
from jitgate.emulator.portal_apps import PORTAL_APP_ID, register_portal_app
from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from jitgate.server.actor import UserRole
from jitgate.server.app import create_app
from jitgate.server.identities.models import Identity
from live_server import free_port, serve
from request_world import MANAGER_POLICY

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fastapi import FastAPI
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.emulator.server import RunningEmulator
    from jitgate.server.flows.models import AccessFlow
    from jitgate.server.integrations.models import Resource

PASSWORD = "Passw0rd!"
DOMAIN = "contoso.onmicrosoft.com"
#: The demo people by jitgate role; the jitgate role an admin or auditor gets is the app role.
PEOPLE = {"admin": "lynne", "requester": "grady", "approver": "alex", "auditor": "isaiah"}


@dataclass
class EntraPortal:
    """The live portal, its emulator and what the fixture arranged."""

    base_url: str
    app: FastAPI
    emulator: RunningEmulator
    sessions: sessionmaker[Session]
    clock: ManualClock
    people: dict[str, Identity]
    resource: Resource
    mfa_flow: AccessFlow

    @property
    def idp_url(self) -> str:
        """The emulator's browser listener."""
        assert self.emulator.browser_url is not None
        return self.emulator.browser_url

    def upn(self, role: str) -> str:
        """The sign-in name of ``role``'s demo person."""
        return f"{PEOPLE[role]}@{DOMAIN}"

    def code(self, role: str) -> str:
        """``role``'s current TOTP code, on the emulator's clock."""
        tenant = self.emulator.state.tenant
        user = tenant.find_user(self.upn(role))
        assert user is not None
        return totp.totp(tenant.mfa_secrets[user["id"]], tenant.now())

    def fresh_code_window(self) -> None:
        """Move the shared clock to the next TOTP step (a code is accepted once per person)."""
        self.clock.advance(timedelta(seconds=30))

    def enter_password(self, page: Page, role: str, password: str = PASSWORD) -> None:
        """On the emulator's sign-in page: type ``role``'s name and ``password``, submit."""
        page.get_by_label("Email or username").fill(self.upn(role))
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    def enter_code(self, page: Page, code: str) -> None:
        """On the emulator's one-time code page: type ``code``, submit."""
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Verify").click()

    def sign_in(self, page: Page, role: str, path: str = "/") -> None:
        """Open ``path`` signed out and sign in as ``role`` with password and TOTP code."""
        self.fresh_code_window()
        page.goto(f"{self.base_url}{path}")
        page.wait_for_url(f"{self.idp_url}/**")
        self.enter_password(page, role)
        self.enter_code(page, self.code(role))
        page.wait_for_url(f"{self.base_url}/**")


def _person(session: Session, emulator: RunningEmulator, key: str, **fields: object) -> Identity:
    tenant = emulator.state.tenant
    upn = f"{key}@{DOMAIN}"
    user = tenant.find_user(upn)
    assert user is not None
    now = tenant.clock.now()
    identity = Identity(
        tenant_id=tenant.tenant_id,
        object_id=user["id"],
        upn=upn,
        mail=upn,
        display_name=user["displayName"],
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


def _people(session: Session, emulator: RunningEmulator) -> dict[str, Identity]:
    alex = _person(session, emulator, "alex")
    return {
        "approver": alex,
        "requester": _person(session, emulator, "grady", manager_id=alex.id),
        # the app role decides these two at sign-in; the stored role is only the fallback
        "admin": _person(session, emulator, "lynne", role=UserRole.USER),
        "auditor": _person(session, emulator, "isaiah", role=UserRole.USER),
    }


@contextmanager
def start_entra_portal(data_dir: Path) -> Iterator[EntraPortal]:
    """The emulator and the live portal signing in through it; stopped on exit."""
    clock = ManualClock()
    emulator = start_in_thread(
        build_state(clock=clock), data_dir=data_dir / "emulator", browser_port=0
    )
    engine = make_engine(f"sqlite:///{data_dir}/jitgate.db")
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        secret = register_portal_app(
            emulator.state,
            redirect_uris=[f"{base_url}/auth/callback"],
            post_logout_redirect_uris=[f"{base_url}/auth/signed-out"],
        )
        settings = Settings(
            data_dir=data_dir,
            log_json=False,
            base_url=base_url,
            oidc_tenant=emulator.state.tenant.tenant_id,
            oidc_client_id=PORTAL_APP_ID,
            oidc_client_secret=secret,
            oidc_authority_host=emulator.authority_host,
            oidc_ca_bundle=emulator.ca_bundle,
            session_idle_s=4 * 3600,  # outlives the hour of MFA, so the step-up test can wait
        )
        with sessions() as session:
            people = _people(session, emulator)
            integration = make_integration(session, clock, "Contoso Entra")
            resource = make_resource(session, clock, integration, name="Payroll Admins")
            finance = make_resource(session, clock, integration, name="Finance Readers")
            approval = make_flow(
                session, clock, integration, "Finance groups", approver_policy=MANAGER_POLICY
            )
            make_request(
                session,
                clock,
                people["requester"],
                [finance],
                flow_id=approval.id,
                justification="Quarter-end close",
            )
            mfa_flow = make_flow(
                session,
                clock,
                integration,
                "Sensitive groups",
                approver_policy=MANAGER_POLICY,
                settings={"mfa_required": True},
            )
        app = create_app(settings, clock=clock, sessions=sessions)
        with serve(app, port=port):
            yield EntraPortal(
                base_url=base_url,
                app=app,
                emulator=emulator,
                sessions=sessions,
                clock=clock,
                people=people,
                resource=resource,
                mfa_flow=mfa_flow,
            )
        app.state.portal.oidc.close()
    finally:
        engine.dispose()
        emulator.stop()
