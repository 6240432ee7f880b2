"""Fixtures of the browser tests: one Chromium for the run, a portal served on loopback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from entra_world import start_entra_portal
from harness import launch_chromium, open_visit
from playwright.sync_api import sync_playwright

from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.server.app import create_app
from live_server import serve
from portal_world import make_portal_world, portal_user, sign_in

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime

    from entra_world import EntraPortal
    from fastapi import FastAPI
    from harness import Visit
    from playwright.sync_api import Browser

    from portal_world import PortalWorld


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module, not session: Playwright's sync API keeps an asyncio loop running on the main
    # thread while it is open, and every asyncio test after it would find that loop running.
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@dataclass
class Portal:
    """A served portal over a populated database; ``as_role`` picks who is signed in."""

    base_url: str
    app: FastAPI
    world: PortalWorld
    clock: ManualClock

    def as_role(self, role: str, *, mfa_at: datetime | None = None) -> None:
        """Sign ``role``'s person in (for every request from now on)."""
        sign_in(self.app, portal_user(self.world.people[role], self.clock.now(), mfa_at=mfa_at))


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("portal-browser")
    engine = make_engine(f"sqlite:///{data_dir}/jitgate.db")
    upgrade(engine)
    sessions = make_session_factory(engine)
    clock = ManualClock()
    with sessions() as session:
        world = make_portal_world(session, clock)
    app = create_app(Settings(data_dir=data_dir), clock=clock, sessions=sessions)
    with serve(app) as port:
        yield Portal(base_url=f"http://127.0.0.1:{port}", app=app, world=world, clock=clock)
    engine.dispose()


@pytest.fixture
def visit(browser: Browser, portal: Portal) -> Iterator[Visit]:
    seen = open_visit(browser, portal.base_url)
    yield seen
    seen.page.close()


@pytest.fixture(scope="module")
def entra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EntraPortal]:
    """A live portal signing in through the emulator's pages (``entra_world``)."""
    with start_entra_portal(tmp_path_factory.mktemp("entra-portal")) as running:
        yield running


@pytest.fixture
def entra_visit(browser: Browser, entra: EntraPortal) -> Iterator[Visit]:
    """A watched page (its own browser context) allowed on the portal and the emulator."""
    seen = open_visit(browser, entra.base_url, also=(entra.idp_url,))
    seen.page.set_default_timeout(5000)
    yield seen
    seen.page.close()
