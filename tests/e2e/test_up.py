"""`jitgate up` (what `make up` runs) and `jitgate demo` against it, as real processes.

`jitgate up` starts the emulator, the server and the connector in one process on a tmp data dir;
the tests read what it prints, call its API, run `jitgate demo --fast` against it (a whole grant
cycle through the connector and the emulator's Graph), and restart it on the same data dir.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

JITGATE = str(Path(sys.executable).with_name("jitgate"))
pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Up:
    proc: subprocess.Popen[str]
    text: str
    base: str
    data_dir: Path
    env: dict[str, str]

    def token(self, who: str) -> str:
        match = re.search(rf"{who} token:\s+(jg_at_\S+)", self.text)
        assert match, self.text
        return match[1]

    def api(self, who: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token(who)}"}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail("`jitgate up` did not stop on Ctrl+C")
        return int(self.proc.returncode)

    def finish(self) -> int:
        """Stop, then close our end of its output pipe."""
        code = self.stop()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def _start(tmp: Path, data_dir: Path) -> Up:
    port = _free_port()
    env = {**os.environ, "JITGATE_DATA_DIR": str(data_dir), "JITGATE_PORT": str(port)}
    env.pop("JITGATE_DATABASE_URL", None)
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [JITGATE, "up", "--emulator-port", "0"],
        cwd=tmp,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl+C" in line:
            return Up(proc, "".join(lines), f"http://127.0.0.1:{port}", data_dir, env)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    pytest.fail(f"`jitgate up` did not become ready; it printed: {''.join(lines)}")


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("up")
    running = _start(tmp, tmp / "data")
    yield running
    running.finish()


def test_up_prints_where_to_go(up):
    text = up.text
    assert f"{up.base}/api/v1" in text
    assert f"{up.base}/api/v1/docs" in text
    assert re.search(r"emulator:\s+https://127\.0\.0\.1:\d+", text)
    assert (
        "/v2.0/.well-known/openid-configuration" in text
    )  # the bare authorize URL is an error page
    assert f"jitgate login --url {up.base} --token {up.token('admin')}" in text
    assert "jitgate demo" in text
    assert "Contoso connector  CONNECTED" in text


def test_every_link_up_prints_answers(up):
    ca_bundle = re.search(r"CA bundle:\s+(\S+)", up.text)
    assert ca_bundle, up.text
    trusted = ssl.create_default_context(cafile=ca_bundle[1])
    links = set(re.findall(r"https?://[^\s)`]+", up.text))
    assert f"{up.base}/api/v1/redoc" in links
    for link in sorted(links):
        response = httpx.get(link, verify=trusted, timeout=10)
        assert response.status_code < 400, f"{link}: {response.status_code}"


def test_up_serves_the_seeded_demo(up):
    with up.api("admin") as admin:
        me = admin.get("/me").json()
        assert (me["upn"], me["role"], me["source"]) == (
            "lynne@contoso.onmicrosoft.com",
            "admin",
            "entra",
        )
        [integration] = admin.get("/integrations", params={"name": "Contoso Entra"}).json()
        assert integration["status"] == "active"
        resources = admin.get(f"/integrations/{integration['id']}/resources").json()
        assert resources["total"] > 0
        names = {r["name"] for r in resources["items"]}
        assert {"Production Access", "Finance Readers"} <= names
        [connector] = admin.get("/connectors").json()
        assert connector["status"] == "CONNECTED"
        flows = {f["name"] for f in admin.get("/flows").json()}
        assert len(flows) == 3
    with up.api("requester") as requester:
        grady = requester.get("/me").json()
        assert grady["object_id"]
    info = up.data_dir / "demo.json"
    assert stat.S_IMODE(info.stat().st_mode) == 0o600
    assert json.loads(info.read_text())["url"] == up.base


def test_demo_runs_a_whole_cycle_against_up(up):
    result = subprocess.run(  # noqa: S603 - our own console script
        [JITGATE, "demo", "--fast", "--data-dir", str(up.data_dir)],
        env=up.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    steps = result.stdout
    for step in ("requested", "approved by Alex Wilber", "granted", "visible in Graph"):
        assert step in steps
    for step in ("fast-forward", "expired", "revoked", "done"):
        assert step in steps
    with up.api("requester") as requester:
        [request] = requester.get("/requests").json()["items"]
        assert request["status"] == "expired"


def test_demo_without_up_fails_with_one_line(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own console script
        [JITGATE, "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "jitgate up" in result.stderr


def _hidden(page: str, name: str) -> str:
    found = re.search(rf"name='{name}' value='([^']+)'", page)
    assert found, page
    return found[1]


def test_a_person_signs_in_to_the_portal_of_up_with_password_and_code(up):
    """The banner's people sign in on the emulator's HTTP sign-in page, no other step."""
    assert f"portal:       {up.base}/" in up.text
    assert "grady@contoso.onmicrosoft.com" in up.text
    with httpx.Client(timeout=10, trust_env=False) as browser:
        home = browser.get(f"{up.base}/")
        assert home.status_code == 303
        sign_in = browser.get(httpx.URL(up.base).join(home.headers["location"]))
        authorize = sign_in.headers["location"]
        assert authorize.startswith("http://127.0.0.1:"), authorize  # no certificate warning
        assert browser.get(authorize).status_code == 200
        form = dict(httpx.URL(authorize).params)
        person = {"username": "grady@contoso.onmicrosoft.com", "password": "Passw0rd!"}
        step = browser.post(authorize, data={**form, **person})
        assert "name='otc'" in step.text, step.text
        code = subprocess.run(  # noqa: S603 - our own console script
            [JITGATE, "demo", "totp", "grady", "--data-dir", str(up.data_dir)],
            env=up.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        otc = re.search(r"\b(\d{6})\b", code)
        assert otc, code
        done = browser.post(authorize, data={"flow": _hidden(step.text, "flow"), "otc": otc[1]})
        assert done.status_code == 302, done.text
        callback = done.headers["location"]
        assert callback.startswith(f"{up.base}/auth/callback?")
        landed = browser.get(callback)
        assert landed.status_code == 303, landed.text
        page = browser.get(f"{up.base}/")
    assert page.status_code == 200
    assert "Grady Archie" in page.text


def test_up_again_reuses_the_data_dir_and_replaces_the_tokens(up, tmp_path):
    old_admin = up.token("admin")
    assert up.stop() == 0
    assert up.proc.stdout is not None
    said = up.proc.stdout.read()
    assert "stopping: connector, server and emulator (Ctrl+C)" in said
    assert said.rstrip().endswith("jitgate up stopped")
    again = _start(tmp_path, up.data_dir)
    try:
        assert again.token("admin") != old_admin
        with again.api("admin") as admin:
            assert admin.get("/me").status_code == 200
            assert len(admin.get("/flows").json()) == 3
            assert len(admin.get("/integrations").json()) == 1
            stale = admin.get("/me", headers={"Authorization": f"Bearer {old_admin}"})
            assert stale.status_code == 401
    finally:
        assert again.finish() == 0
