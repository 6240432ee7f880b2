"""The demo's sign-in side: the portal app pointed at the server, the banner, `demo totp`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from jitgate.cli.main import run
from jitgate.core.clock import OffsetClock
from jitgate.demo import signin
from jitgate.demo.info import DemoInfo, EmulatorInfo, save_info
from jitgate.emulator import totp
from jitgate.emulator.portal_apps import PORTAL_APP_ID, application
from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state


def test_the_portal_app_follows_the_server_and_the_secret_stays(tmp_path):
    state = build_state()
    secret = signin.register_portal(state, "http://127.0.0.1:8080")
    portal = application(state, PORTAL_APP_ID)
    assert portal["web"]["redirectUris"] == ["http://127.0.0.1:8080/auth/callback"]
    assert state.tenant.post_logout_uris[PORTAL_APP_ID] == ["http://127.0.0.1:8080/auth/signed-out"]
    signin.move_portal(state, "http://127.0.0.1:9191")
    assert portal["web"]["redirectUris"] == ["http://127.0.0.1:9191/auth/callback"]
    assert secret in {s.text for s in state.tenant.secrets[PORTAL_APP_ID]}


def test_the_banner_lists_the_people_their_passwords_and_secrets():
    state = build_state()
    info = signin.sign_in_info(state, portal_client_secret="s3cret", browser_base_url=None)
    assert [p.key for p in info.people] == ["lynne", "grady", "alex", "isaiah"]
    assert info.portal_client_secret == "s3cret"
    text = "\n".join(signin.banner_lines(info))
    for person in info.people:
        assert person.upn in text
        assert person.totp_secret
        assert person.totp_secret in text
    assert "admin" in text
    assert "auditor" in text
    assert "password Passw0rd!" in text
    assert "jitgate demo totp grady " in text
    flagged = "\n".join(signin.banner_lines(info, " --data-dir /d"))
    assert "jitgate demo totp grady --data-dir /d " in flagged  # the flag is totp's own


@pytest.fixture
def running_demo(tmp_path):
    clock = OffsetClock()
    clock.advance(timedelta(hours=5))  # like `jitgate demo --fast`: the demo runs ahead
    state = build_state(clock=clock)
    running = start_in_thread(state, data_dir=tmp_path / "emulator", browser_port=0)
    info = DemoInfo(
        url="http://127.0.0.1:1",
        integration_id="i",
        demo_group="Production Access",
        people={},
        emulator=EmulatorInfo.model_validate(running.info()),
        sign_in=signin.sign_in_info(
            state, portal_client_secret="x", browser_base_url=running.browser_url
        ),
    )
    save_info(tmp_path, info)
    yield running, tmp_path
    running.stop()


def test_demo_totp_prints_the_code_on_the_demo_clock(running_demo, capsys):
    running, data_dir = running_demo
    assert run(["demo", "totp", "grady", "--data-dir", str(data_dir), "-o", "json"]) == 0
    line = json.loads(capsys.readouterr().out)
    tenant = running.state.tenant
    secret = tenant.mfa_secrets[tenant.upn_index["grady@contoso.onmicrosoft.com"]]
    now = tenant.now()
    # The emulator's clock (5 h ahead), not the system clock: one of the codes around its now.
    assert line["code"] in {totp.totp(secret, now + d) for d in (-30, 0, 30)}
    assert line["message"].startswith(line["code"])
    assert line["clock"] == "demo"
    assert line["upn"] == "grady@contoso.onmicrosoft.com"


def test_demo_totp_refuses_unknown_people_and_password_only_people(tmp_path, capsys):
    assert run(["demo", "totp", "nobody", "--data-dir", str(tmp_path)]) == 2
    assert "no demo person 'nobody'" in capsys.readouterr().err
    assert run(["demo", "totp", "adele", "--data-dir", str(tmp_path)]) == 2
    assert "password only" in capsys.readouterr().err
    assert run(["demo", "totp", "lynne@contoso.onmicrosoft.com", "--data-dir", str(tmp_path)]) == 0
    assert "system clock" in capsys.readouterr().out
