"""A whole request cycle through the CLI against a live server: admin set-up, request, approval."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from factories import (
    bearer,
    keyed_engine,
    make_connector,
    make_identity,
    make_integration,
    make_resource,
)
from jitgate.cli.main import run
from jitgate.core.clock import SystemClock
from jitgate.server.actor import Actor
from jitgate.server.grants.keys import MembershipKey
from jitgate.server.grants.standing import record_standing
from jitgate.server.integrations.models import Integration


def _as(monkeypatch, url, headers):
    monkeypatch.setenv("JITGATE_URL", url)
    monkeypatch.setenv("JITGATE_TOKEN", headers["Authorization"].removeprefix("Bearer "))


def _json(capsys, argv):
    assert run([*argv, "--output", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_request_cycle_through_the_cli(live_server, cli_env, capsys, monkeypatch, tmp_path):
    clock = SystemClock()
    engine = keyed_engine(cli_env)
    with Session(engine, expire_on_commit=False) as session:
        admin = make_identity(session, clock, "root@contoso.example", role="admin")
        alice = make_identity(session, clock, "alice@contoso.example")
        carol = make_identity(session, clock, "carol@contoso.example")
        tokens = {p.upn: bearer(session, clock, p) for p in (admin, alice, carol)}

    _as(monkeypatch, live_server, tokens["root@contoso.example"])
    connector = _json(capsys, ["connectors", "create", "corp"])
    assert connector["token"].startswith("jg_ct_")
    integration = _json(
        capsys,
        [
            "integrations",
            "create",
            "--name",
            "Contoso Entra",
            "--connector",
            connector["id"],
            "--resource-type",
            "entra-group",
        ],
    )
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Integration, integration["id"])
        group = make_resource(session, clock, row, name="Finance", owners=[carol.upn])
    flow_file = tmp_path / "flow.json"
    flow_file.write_text(
        json.dumps(
            {
                "name": "Finance by owner",
                "targets": [
                    {
                        "integration_id": integration["id"],
                        "resource_type": "entra-group",
                        "permissions": ["member"],
                    }
                ],
                "approver_policy": {
                    "approver_groups": [{"approvers": [{"type": "resource_owner"}]}]
                },
            }
        )
    )
    flow = _json(capsys, ["flows", "create", "--file", str(flow_file)])
    assert flow["name"] == "Finance by owner"

    _as(monkeypatch, live_server, tokens["alice@contoso.example"])
    dry = _json(
        capsys, ["request", "create", "-r", group.id, "-d", "60", "-j", "INC-1", "--dry-run"]
    )
    assert dry["eligible"] is True
    created = _json(capsys, ["request", "create", "-r", group.id, "-d", "60", "-j", "INC-1"])
    assert created["status"] == "pending"

    _as(monkeypatch, live_server, tokens["carol@contoso.example"])
    waiting = _json(capsys, ["request", "list", "--scope", "approvals"])
    assert [r["id"] for r in waiting["items"]] == [created["id"]]
    approved = _json(capsys, ["request", "approve", created["id"], "--reason", "ok"])
    assert approved["status"] == "approved"

    _as(monkeypatch, live_server, tokens["alice@contoso.example"])
    grants = _json(capsys, ["grants"])
    assert [g["status"] for g in grants["items"]] == ["pending"]
    assert run(["request", "approve", created["id"]]) == 1
    assert capsys.readouterr().err.startswith("error: 409 Conflict")
    revoked = _json(capsys, ["request", "revoke", created["id"], "--reason", "done"])
    assert revoked["status"] == "revoking"

    _as(monkeypatch, live_server, tokens["root@contoso.example"])
    assert run(["audit", "verify"]) == 0
    engine.dispose()


def test_standing_memberships_through_the_cli(live_server, cli_env, capsys, monkeypatch):
    clock = SystemClock()
    engine = keyed_engine(cli_env)
    with Session(engine, expire_on_commit=False) as session:
        admin = make_identity(session, clock, "root@contoso.example", role="admin")
        connector, _ = make_connector(session, clock, name="corp")
        integration = make_integration(session, clock, name="Entra", connector=connector)
        group = make_resource(session, clock, integration, name="Finance")
        key = MembershipKey(integration.id, group.id, "member", "/", "0b0b0b0b-0000-4000-8000-0b0b")
        row = record_standing(
            session=session, clock=clock, actor=Actor.system(), key=key, source="drift"
        )
        session.commit()
        headers = bearer(session, clock, admin)
    engine.dispose()
    _as(monkeypatch, live_server, headers)
    listed = _json(capsys, ["standing", "list"])
    assert [r["id"] for r in listed["items"]] == [row.id]
    assert listed["items"][0]["allowed"] is False
    assert _json(capsys, ["standing", "allow", row.id])["allowed"] is True
    assert [r["id"] for r in _json(capsys, ["standing", "list", "--allowed"])["items"]] == [row.id]
    assert _json(capsys, ["standing", "list", "--not-allowed"])["items"] == []
    assert _json(capsys, ["standing", "disallow", row.id])["allowed"] is False
    assert run(["standing", "allow", "no-such-row"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "no standing membership" in err
