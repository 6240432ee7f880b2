"""`jitgate up` (what `make up` runs) migrates, prints where to go, and serves the API."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

JITGATE = str(Path(sys.executable).with_name("jitgate"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _read_until(proc: subprocess.Popen[str], pattern: str, deadline: float) -> list[str]:
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    pytest.fail(f"`jitgate up` did not print {pattern!r}; got: {''.join(lines)}")


def test_up_prints_urls_and_a_working_admin_token(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "JITGATE_DATA_DIR": str(tmp_path / "data"),
        "JITGATE_PORT": str(port),
    }
    env.pop("JITGATE_DATABASE_URL", None)
    proc = subprocess.Popen(  # noqa: S603 - our own console script
        [JITGATE, "up"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = _read_until(proc, r"Press Ctrl\+C", time.monotonic() + 60)
        text = "".join(lines)
        assert f"http://127.0.0.1:{port}/api/v1" in text
        token = re.search(r"admin token: (jg_at_\S+)", text)
        assert token, text
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        me = httpx.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token[1]}"})
        assert me.status_code == 200
        assert me.json()["role"] == "admin"
        assert (tmp_path / "data" / "jitgate.db").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
