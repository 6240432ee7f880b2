"""What ``jitgate up`` and ``jitgate server`` tell a person: a busy port names ``--port``."""

from __future__ import annotations

import socket

import pytest
from fastapi import FastAPI

from jitgate.cli.main import run
from jitgate.demo import allinone
from jitgate.demo.allinone import ServerThread, UpError


def test_a_busy_port_names_the_port_option():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UpError) as info:
            ServerThread(FastAPI(), "127.0.0.1", port, keep_alive_s=2)
    message = str(info.value)
    assert f"cannot listen on 127.0.0.1:{port}" in message
    assert "--port" in message
    assert 'make up ARGS="--port 9090"' in message
    assert "\n" not in message


def test_the_banner_says_how_to_put_jitgate_on_path_when_it_is_not(monkeypatch):
    monkeypatch.setattr(allinone.shutil, "which", lambda _name: None)
    hint = allinone._path_hint()
    assert len(hint) == 1
    assert 'export PATH="' in hint[0]
    monkeypatch.setattr(allinone.shutil, "which", lambda name: f"/usr/local/bin/{name}")
    assert allinone._path_hint() == []


def test_jitgate_server_refuses_a_busy_port_in_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("JITGATE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("JITGATE_DATABASE_URL", raising=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert run(["server", "--host", "127.0.0.1", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "--port" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "jitgate.db").exists()  # refused before any database is opened
