from __future__ import annotations

import json

from sqlalchemy import text

from factories import keyed_engine
from jitgate.cli.main import run


def _token(capsys, user="root@contoso.example", role="admin"):
    assert run(["admin", "create-token", "--user", user, "--role", role]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def _login(monkeypatch, url, token):
    monkeypatch.setenv("JITGATE_URL", url)
    monkeypatch.setenv("JITGATE_TOKEN", token)


def test_create_token_then_verify_chain_over_the_api(live_server, capsys, monkeypatch, tmp_path):
    token = _token(capsys)
    assert token.startswith("jg_at_")
    _login(monkeypatch, live_server, token)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JITGATE_DATABASE_URL")
    assert run(["audit", "verify"]) == 0
    assert "audit chain ok: 2 events" in capsys.readouterr().out
    assert not (tmp_path / ".jitgate").exists()  # no local database opened


def test_verify_names_the_first_bad_seq_after_an_edit(live_server, cli_env, capsys, monkeypatch):
    _login(monkeypatch, live_server, _token(capsys))
    _token(capsys, user="second@contoso.example", role="user")
    engine = keyed_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_name = 'mallory' WHERE seq = 2"))
    engine.dispose()
    assert run(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "seq 2" in err
    assert err.count("\n") == 1


def test_verify_detects_a_deleted_newest_row(live_server, cli_env, capsys, monkeypatch):
    _login(monkeypatch, live_server, _token(capsys))
    engine = keyed_engine(cli_env)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    engine.dispose()
    assert run(["audit", "verify"]) == 1
    assert "seq 2" in capsys.readouterr().err


def test_bad_role_is_one_line_and_non_zero(cli_env, capsys):
    assert run(["admin", "create-token", "--user", "a@b.example", "--role", "boss"]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "boss" in captured.err


def test_login_whoami_and_audit_over_the_api(live_server, capsys):
    token = _token(capsys)
    assert run(["login", "--url", live_server, "--token", token]) == 0
    assert "logged in as root@contoso.example (admin)" in capsys.readouterr().out
    assert run(["whoami", "--output", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["upn"] == "root@contoso.example"
    assert run(["audit", "list", "--output", "json"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in page["items"]] == ["identity.create", "api_token.create"]
    assert run(["audit", "export", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.splitlines()[0].startswith("seq,at,actor_id")
    assert len(csv_text.strip().splitlines()) == 3


def test_forbidden_call_prints_the_problem_in_one_line(live_server, capsys, monkeypatch):
    token = _token(capsys, user="plain@contoso.example", role="user")
    monkeypatch.setenv("JITGATE_URL", live_server)
    monkeypatch.setenv("JITGATE_TOKEN", token)
    assert run(["audit", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: 403 Forbidden")
    assert err.count("\n") == 1


def test_not_logged_in_is_a_clear_error(cli_env, capsys):
    assert run(["whoami"]) == 1
    assert "not logged in" in capsys.readouterr().err


def test_verify_against_a_checkpoint_kept_outside(live_server, capsys, monkeypatch, tmp_path):
    token = _token(capsys)
    assert run(["audit", "checkpoint"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    kept = tmp_path / "checkpoint.json"
    kept.write_text(json.dumps(record))
    _login(monkeypatch, live_server, token)
    assert run(["audit", "verify", "--checkpoint", str(kept)]) == 0
    assert "2 checkpoints" in capsys.readouterr().out  # the stored one and the kept copy
    forged = {**record, "seq": record["seq"] + 5}
    assert run(["audit", "verify", "--checkpoint", json.dumps(forged)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "bad signature" in err
    assert run(["audit", "verify", "--checkpoint", str(tmp_path / "missing.json")]) == 2
    assert "missing.json" in capsys.readouterr().err


def test_login_takes_a_token_or_the_browser_and_says_so_in_one_line(live_server, capsys):
    assert run(["login", "--url", live_server]) != 0
    assert "give either --token or --browser" in capsys.readouterr().err
    # This server has no browser sign-in for the CLI configured: one line naming the settings.
    assert run(["login", "--url", live_server, "--browser", "--no-open"]) != 0
    err = capsys.readouterr().err.strip()
    assert "JITGATE_OIDC_CLI_CLIENT_ID" in err
    assert len(err.splitlines()) == 1
