"""The CLI for people against a live server: names, id prefixes, grants, and the newer commands."""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy.orm import Session

from factories import (
    bearer,
    keyed_engine,
    make_connector,
    make_flow,
    make_identity,
    make_integration,
    make_resource,
)
from jitgate.cli.main import run
from jitgate.core.clock import SystemClock
from jitgate.demo import script
from jitgate.server.actor import Actor
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.standing import record_standing
from jitgate.server.integrations.models import Integration

OWNER_POLICY = {"approver_groups": [{"approvers": [{"type": "resource_owner"}]}]}


def _as(monkeypatch, url, headers):
    monkeypatch.setenv("JITGATE_URL", url)
    monkeypatch.setenv("JITGATE_TOKEN", headers["Authorization"].removeprefix("Bearer "))


def _json(capsys, argv):
    assert run([*argv, "--output", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _table(capsys, monkeypatch, argv, width):
    monkeypatch.setenv("COLUMNS", str(width))
    assert run(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    assert "…" not in out
    return out


def _one_line_error(capsys, argv):
    assert run(argv) != 0
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert captured.err.count("\n") == 1
    return captured.err


@pytest.fixture
def world(live_server, cli_env):
    """An admin, a requester and an approver (the resource's owner), a flow and a request."""
    clock = SystemClock()
    engine = keyed_engine(cli_env)
    with Session(engine, expire_on_commit=False) as session:
        admin = make_identity(session, clock, "root@contoso.example", role="admin")
        alice = make_identity(session, clock, "alice@contoso.example", object_id="0a11ce00")
        carol = make_identity(session, clock, "carol@contoso.example")
        connector, _ = make_connector(session, clock, name="corp")
        integration = make_integration(session, clock, name="Contoso Entra", connector=connector)
        group = make_resource(
            session, clock, integration, name="Production Access", owners=[carol.upn]
        )
        make_resource(session, clock, integration, name="Production Readers")
        flow = make_flow(session, clock, integration, "Engineering", approver_policy=OWNER_POLICY)
        key = MembershipKey(integration.id, group.id, "member", "/", "0a11ce00")
        standing = record_standing(
            session=session, clock=clock, actor=Actor.system(), key=key, source="drift"
        )
        session.commit()
        tokens = {p.upn.split("@")[0]: bearer(session, clock, p) for p in (admin, alice, carol)}
    yield {
        "url": live_server,
        "tokens": tokens,
        "group": group.id,
        "group_object_id": group.external_id,
        "flow": flow.id,
        "integration": integration.id,
        "standing": standing.id,
        "database_url": cli_env,
    }
    engine.dispose()


@pytest.mark.parametrize("width", [80, 120])
def test_approver_copies_a_whole_prefix_from_the_table(world, capsys, monkeypatch, width):
    _as(monkeypatch, world["url"], world["tokens"]["alice"])
    created = _json(
        capsys, ["request", "create", "-r", "production access", "-d", "60", "-j", "INC-4711"]
    )
    assert created["units"][0]["resource_id"] == world["group"]
    _as(monkeypatch, world["url"], world["tokens"]["carol"])
    out = _table(capsys, monkeypatch, ["request", "list", "--scope", "approvals"], width)
    prefix = re.search(r"│ ([0-9a-f-]{8,}) +│", out).group(1)
    assert created["id"].startswith(prefix)
    assert _json(capsys, ["request", "approve", prefix, "--reason", "ok"])["status"] == "approved"

    _as(monkeypatch, world["url"], world["tokens"]["alice"])
    mine = _table(capsys, monkeypatch, ["grants"], width)
    assert "your grants" in mine
    assert "alice@" in mine
    assert "INC-4711" in mine
    assert "Production" in mine
    _as(monkeypatch, world["url"], world["tokens"]["carol"])
    assert run(["grants"]) == 0
    assert "no grants of yours (only admins and auditors" in capsys.readouterr().out
    _as(monkeypatch, world["url"], world["tokens"]["root"])
    everyone = _table(capsys, monkeypatch, ["grants", "--resource", "Production Access"], width)
    assert "everyone's grants: 1 of 1" in everyone
    shown = re.search(r"│ ([0-9a-f-]{8,}) +│", everyone).group(1)
    assert created["id"].startswith(shown)
    assert _json(capsys, ["request", "revoke", shown])["status"] in {"revoking", "revoked"}


def test_names_and_ambiguous_names(world, capsys, monkeypatch):
    _as(monkeypatch, world["url"], world["tokens"]["root"])
    assert _json(capsys, ["integrations", "show", "contoso entra"])["id"] == world["integration"]
    assert _json(capsys, ["connectors", "show", "corp"])["name"] == "corp"
    assert _json(capsys, ["flows", "show", "Engineering"])["id"] == world["flow"]
    assert (
        _json(capsys, ["people", "show", "carol@contoso.example"])["upn"] == "carol@contoso.example"
    )
    carol = _json(capsys, ["people", "show", "carol@contoso.example"])
    assert _json(capsys, ["people", "show", carol["id"][:8]])["upn"] == "carol@contoso.example"
    err = _one_line_error(capsys, ["integrations", "resources", "nothing-like-it"])
    assert "no integration" in err
    err = _one_line_error(capsys, ["request", "show", world["group"][:4]])
    assert "at least 8 characters" in err
    second = _json(capsys, ["integrations", "create", "--name", "Fabrikam", "--connector", "corp"])
    engine = keyed_engine(world["database_url"])
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Integration, second["id"])
        twin = make_resource(session, SystemClock(), row, name="Production Access")
    engine.dispose()
    _as(monkeypatch, world["url"], world["tokens"]["alice"])
    err = _one_line_error(capsys, ["request", "create", "-r", "Production Access", "-d", "60"])
    assert "fits 2 resources" in err
    assert f"{world['group']} (Production Access)" in err
    assert f"{twin.id} (Production Access)" in err


def test_standing_list_names_resource_and_member(world, capsys, monkeypatch):
    _as(monkeypatch, world["url"], world["tokens"]["root"])
    out = _table(
        capsys, monkeypatch, ["standing", "list", "--principal", "alice@contoso.example"], 120
    )
    assert "Production Access (member)" in out
    assert "alice@contoso.example" in out
    assert "Contoso Entra" in out
    assert "removed at" not in out  # only with --all
    prefix = re.search(r"│ ([0-9a-f-]{8,}) +│", out).group(1)
    assert _json(capsys, ["standing", "allow", prefix])["allowed"] is True
    refs = ["Production Access", world["group"][:8], world["group_object_id"]]
    for ref in [*refs, world["group_object_id"][:8]]:  # tables show object ids as prefixes too
        listed = _json(capsys, ["standing", "list", "--resource", ref])
        assert [r["id"] for r in listed["items"]] == [world["standing"]], ref


def test_flows_show_json_feeds_flows_create(world, capsys, monkeypatch):
    _as(monkeypatch, world["url"], world["tokens"]["root"])
    shown = _json(capsys, ["flows", "show", "Engineering"])
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(shown)))
    copy = _json(capsys, ["flows", "create", "-", "--name", "Engineering copy"])
    assert copy["id"] != shown["id"]
    drop = {"id", "name", "created_at", "updated_at"}
    assert {k: v for k, v in copy.items() if k not in drop} == {
        k: v for k, v in shown.items() if k not in drop
    }
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(shown)))
    assert run(["flows", "update", "Engineering", "-"]) == 0
    captured = capsys.readouterr()
    assert "ignored the read-only field(s) id, created_at, updated_at" in captured.err
    assert run(["flows", "delete", "Engineering"]) == 0
    capsys.readouterr()
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(shown)))
    again = _json(capsys, ["flows", "create", "-"])
    assert again["name"] == "Engineering"
    assert again["targets"] == shown["targets"]


def test_available_people_tokens_as_code_and_export(world, capsys, monkeypatch, tmp_path):
    _as(monkeypatch, world["url"], world["tokens"]["alice"])
    out = _table(capsys, monkeypatch, ["available"], 100)
    assert "Engineering" in out
    assert "approvers decide" in out
    assert [f["id"] for f in _json(capsys, ["available"])] == [world["flow"]]
    made = _json(capsys, ["tokens", "create", "laptop"])
    assert made["token"].startswith("jg_at_")
    assert "laptop" in [t["name"] for t in _json(capsys, ["tokens", "list"])]
    revoked = _json(capsys, ["tokens", "revoke", "laptop"])
    assert revoked["revoked_at"]
    assert _one_line_error(capsys, ["people", "role", "carol@contoso.example", "admin"])

    _as(monkeypatch, world["url"], world["tokens"]["root"])
    people = _json(capsys, ["people", "list", "--search", "contoso"])
    assert {p["upn"] for p in people["items"]} >= {"alice@contoso.example", "carol@contoso.example"}
    assert (
        _json(capsys, ["people", "role", "carol@contoso.example", "auditor"])["role"] == "auditor"
    )
    code = _json(capsys, ["integrations", "as-code", "Contoso Entra"])
    assert "jitgate_integration" in code["hcl"]
    assert run(["integrations", "as-code", "Contoso Entra"]) == 0
    assert capsys.readouterr().out.startswith('resource "jitgate_integration"')
    target = tmp_path / "audit.jsonl"
    written = _json(capsys, ["audit", "export", "--out", str(target)])
    assert written["path"] == str(target)
    lines = target.read_text().splitlines()
    assert lines
    assert all("action" in json.loads(line) for line in lines)


def test_a_revoked_saved_token_says_how_to_log_in_again(world, capsys, monkeypatch):
    monkeypatch.delenv("JITGATE_URL", raising=False)
    monkeypatch.delenv("JITGATE_TOKEN", raising=False)
    token = world["tokens"]["alice"]["Authorization"].removeprefix("Bearer ")
    assert run(["login", "--url", world["url"], "--token", token]) == 0
    capsys.readouterr()
    made = _json(capsys, ["tokens", "list"])
    for row in made:
        assert run(["tokens", "revoke", row["id"]]) == 0
    capsys.readouterr()
    err = _one_line_error(capsys, ["whoami"])
    assert "401" in err
    assert "no longer valid" in err
    assert "jitgate login --url" in err


def test_the_demo_names_the_request_that_keeps_its_requester_a_member(world, capsys, monkeypatch):
    _as(monkeypatch, world["url"], world["tokens"]["alice"])
    created = _json(capsys, ["request", "create", "-r", world["group"], "-d", "60", "-j", "x"])
    _as(monkeypatch, world["url"], world["tokens"]["carol"])
    _json(capsys, ["request", "approve", created["id"]])
    token = world["tokens"]["alice"]["Authorization"].removeprefix("Bearer ")
    api = script._Api(world["url"], token)
    try:
        me = api.call("GET", "/me")
        group = {"id": world["group"]}
        message = script._already_member(api, me, group, "Production Access")
    finally:
        api.http.close()
    assert f"through request {created['id']}" in message
    assert f"`jitgate request revoke {created['id']}`" in message
