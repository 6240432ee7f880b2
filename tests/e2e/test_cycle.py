"""The whole cycle with server, connector and emulator as separate processes over HTTPS."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
from stackworld import (
    audit_events,
    end_grants_now,
    graph_write_events,
    group_resources,
    make_flow,
    started_stack,
    users_by_upn,
    wait_statuses,
)

if TYPE_CHECKING:
    from pathlib import Path

APPROVER = "approver@jitgate.local"


def _cycle(tmp_path: Path, database_url: str | None) -> None:
    stack = started_stack(tmp_path, database_url)
    try:
        assert stack.server_url.startswith("https://")
        assert stack.connector_status() == "CONNECTED"
        integration_id = stack.add_integration()
        groups = group_resources(stack, integration_id)
        exported = stack.graph.export()
        finance = next(g for g in exported["groups"] if g["displayName"] == "Finance Readers")
        grady = next(u for u in exported["users"] if u["userPrincipalName"].startswith("grady"))
        assert grady["id"] not in exported["members"].get(finance["id"], [])
        assert finance["id"] in groups  # discovery through the connector populated resources
        approver_token = stack.server.create_token(APPROVER, "user")
        make_flow(stack, integration_id, approvers=[APPROVER])
        assert grady["userPrincipalName"] in users_by_upn(stack)

        created = stack.call(
            "POST",
            "/requests",
            {
                "grantee": grady["userPrincipalName"],
                "resource_ids": [groups[finance["id"]]["id"]],
                "permissions": ["member"],
                "duration_min": 60,
            },
        )
        assert created["status"] == "pending"
        with stack.client(approver_token) as approver:
            approved = approver.post(f"/requests/{created['id']}/approve", json={})
            assert approved.status_code == 200, approved.text
        wait_statuses(stack, [created["id"]], {"active"}, timeout_s=30)
        assert grady["id"] in stack.graph.members(finance["id"])

        end_grants_now(stack.server.database_url, [created["id"]])
        wait_statuses(stack, [created["id"]], {"expired"}, timeout_s=30)
        assert grady["id"] not in stack.graph.members(finance["id"])

        grants = stack.call("GET", "/grants", limit=50)["items"]
        assert [(g["status"], g["end_reason"]) for g in grants] == [("ended", "expired")]
        assert stack.call("GET", "/audit/verify")["ok"] is True
        writes = Counter(e["after"]["kind"] for e in graph_write_events(audit_events(stack.api)))
        assert writes == {"grant": 1, "revoke": 1}
    finally:
        stack.stop()


def test_whole_cycle_on_sqlite(tmp_path: Path) -> None:
    _cycle(tmp_path, None)


def test_whole_cycle_on_postgresql(tmp_path: Path, fresh_postgres_url: str) -> None:
    _cycle(tmp_path, fresh_postgres_url)


pytestmark = pytest.mark.e2e
