"""Step-up sign-in: fresh MFA (and the auth context when configured), the saved form handed back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request  # noqa: TC002 - FastAPI reads route annotations at run time
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from jitgate.server.identities.session_models import PortalSession
from jitgate.server.portal.auth_views import start_sign_in
from jitgate.server.portal.deps import PortalUserDep, portal_db, require_recent_mfa
from jitgate.server.portal.sign_ins import pop_saved_form
from sign_in_world import PortalWorld, extra_id_token_claims


def _mfa_now(world, **more):
    extra_id_token_claims(
        world.emulator, amr=["pwd", "mfa"], auth_time=int(world.clock.now().timestamp()), **more
    )


def _no_extras(world):
    extra_id_token_claims(world.emulator)


def _sessions(world) -> list[PortalSession]:
    with world.sessions() as session:
        return list(session.scalars(select(PortalSession).order_by(PortalSession.created_at)))


def test_step_up_asks_for_a_fresh_sign_in(world):
    world.person()
    browser = world.browser()
    auth_uri = world.authorize(browser, "/auth/sign-in?step_up=1&return_to=/sessions")
    query = dict(parse_qsl(urlsplit(auth_uri).query))
    assert query["prompt"] == "login"
    assert query["max_age"] == "0"
    assert query["code_challenge_method"] == "S256"
    assert query["nonce"]
    assert "claims" not in query  # no auth context configured


def test_step_up_with_mfa_records_it(world):
    world.person()
    browser = world.browser()
    _mfa_now(world)
    try:
        answer = world.sign_in(browser, "/auth/sign-in?step_up=1&return_to=/sessions")
    finally:
        _no_extras(world)
    assert answer.status_code == 303
    [row] = _sessions(world)
    assert row.mfa_at == world.clock.now()
    assert row.amr == ["pwd", "mfa"]


def test_step_up_without_mfa_is_refused(world):
    world.person()
    browser = world.browser()
    answer = world.sign_in(browser, "/auth/sign-in?step_up=1&return_to=/sessions")
    assert answer.status_code == 403
    assert "MFA was not completed" in answer.text
    assert _sessions(world) == []


def test_step_up_with_an_old_mfa_is_refused(world):
    world.person()
    extra_id_token_claims(
        world.emulator,
        amr=["mfa"],
        auth_time=int((world.clock.now() - timedelta(hours=2)).timestamp()),
    )
    try:
        answer = world.sign_in(world.browser(), "/auth/sign-in?step_up=1&return_to=/")
    finally:
        _no_extras(world)
    assert answer.status_code == 403
    assert "MFA was not completed" in answer.text


def test_auth_context_is_requested_and_required(emulator, sessions, world_clock, tmp_path):
    world = PortalWorld(emulator, sessions, world_clock, tmp_path, oidc_auth_context="c1")
    alex = "alex@contoso.onmicrosoft.com"  # enrolled in the emulator's TOTP MFA
    try:
        world.person(alex)
        browser = world.browser()
        auth_uri = world.authorize(browser, "/auth/sign-in?step_up=1&return_to=/")
        claims = json.loads(dict(parse_qsl(urlsplit(auth_uri).query))["claims"])
        assert claims["id_token"]["acrs"] == {"essential": True, "value": "c1"}
        extra_id_token_claims(world.emulator, acrs=None)  # a token without the context
        refused = browser.get(world.enter_password(auth_uri, alex))
        assert refused.status_code == 403
        assert "authentication context c1" in refused.text
        _no_extras(world)
        world.clock.advance(timedelta(seconds=30))  # a TOTP code is accepted once
        answer = world.sign_in(browser, "/auth/sign-in?step_up=1&return_to=/", upn=alex)
        assert answer.status_code == 303
        [row] = _sessions(world)
        assert "mfa" in row.amr
        assert "c1" in row.acrs
        assert row.mfa_at is not None
        assert world.clock.now() - row.mfa_at < timedelta(minutes=1)
    finally:
        _no_extras(world)
        world.close()


def test_require_recent_mfa(world):
    world.person()
    browser = world.browser()
    _mfa_now(world)
    try:
        world.sign_in(browser)
    finally:
        _no_extras(world)
    seen: list = []

    @world.app.get("/test/user")
    def who(user: PortalUserDep) -> JSONResponse:
        seen.append(user)
        return JSONResponse({})

    browser.get("/test/user")
    [user] = seen
    now = world.clock.now()
    settings = world.settings
    assert require_recent_mfa(user, now, settings, return_to="/x") is None
    late = require_recent_mfa(user, now + timedelta(seconds=3601), settings, return_to="/x")
    assert late is not None
    assert late.headers["location"] == "/auth/sign-in?step_up=1&return_to=%2Fx"
    none = require_recent_mfa(replace(user, mfa_at=None), now, settings, return_to="/x")
    assert none is not None


def test_the_saved_form_comes_back_once_after_step_up(world):
    world.person()
    browser = world.browser()
    world.sign_in(browser)

    @world.app.post("/test/form")
    async def submit(request: Request, user: PortalUserDep):
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        return await run_in_threadpool(
            start_sign_in, request, return_to="/test/form", step_up=True, user=user, saved_form=form
        )

    @world.app.get("/test/form")
    def show(request: Request, user: PortalUserDep) -> JSONResponse:
        with portal_db(request) as session:
            return JSONResponse(pop_saved_form(session=session, user=user))

    token = browser.get("/sessions").text.split('name="csrf_token" value="')[1].split('"')[0]
    started = browser.post(
        "/test/form", data={"csrf_token": token, "reason": "on call", "hours": "2"}
    )
    assert started.status_code == 303
    _mfa_now(world)
    try:
        answer = browser.get(world.enter_password(started.headers["location"]))
    finally:
        _no_extras(world)
    assert answer.headers["location"] == "/test/form"
    assert browser.get("/test/form").json() == {"reason": "on call", "hours": "2"}
    assert browser.get("/test/form").json() is None
