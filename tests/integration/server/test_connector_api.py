"""The connector endpoints over HTTP: token auth, register, claim, report, heartbeat, self-check."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from factories import bearer, make_connector, make_identity
from jitgate.protocol.v1 import GrantPayload, SelfCheckPayload
from jitgate.server.actor import UserRole
from jitgate.server.jobs.models import Job, JobStatus
from jitgate.server.jobs.operations import enqueue_job

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from jitgate.core.clock import ManualClock

V1 = "/api/connector/v1"
GRANT = GrantPayload(
    principal_id="22222222-2222-2222-2222-222222222222",
    resource_type="entra-group",
    resource_external_id="11111111-1111-1111-1111-111111111111",
    permission="member",
)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _register(client: TestClient, token: str, key: str = "vm-1") -> dict[str, object]:
    response = client.post(
        f"{V1}/instances",
        json={"instance_key": key, "version": "0.1.0", "metadata": {"cloud": "AzureCloud"}},
        headers=_auth(token),
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def _claim(client: TestClient, token: str, key: str = "vm-1") -> list[dict[str, object]]:
    response = client.post(
        f"{V1}/jobs:claim", json={"instance_key": key, "wait_s": 0}, headers=_auth(token)
    )
    assert response.status_code == 200, response.text
    jobs: list[dict[str, object]] = response.json()["jobs"]
    return jobs


@pytest.fixture
def admin(session: Session, clock: ManualClock) -> dict[str, str]:
    person = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    return bearer(session, clock, person)


def test_register_makes_the_connector_connected_until_it_goes_quiet(
    client: TestClient, session: Session, clock: ManualClock, admin: dict[str, str]
) -> None:
    connector, token = make_connector(session, clock)
    body = _register(client, token)
    assert body["connector_id"] == connector.id
    shown = client.get(f"/api/v1/connectors/{connector.id}", headers=admin).json()
    assert shown["status"] == "CONNECTED"
    assert shown["instances"][0]["instance_key"] == "vm-1"
    assert shown["instances"][0]["version"] == "0.1.0"
    assert shown["instances"][0]["metadata"] == {"cloud": "AzureCloud"}
    clock.advance(timedelta(minutes=5))
    assert client.get(f"/api/v1/connectors/{connector.id}", headers=admin).json()["status"] == (
        "DISCONNECTED"
    )
    client.post(f"{V1}/heartbeat", json={"instance_key": "vm-1"}, headers=_auth(token))
    assert client.get(f"/api/v1/connectors/{connector.id}", headers=admin).json()["status"] == (
        "CONNECTED"
    )


def test_user_tokens_are_refused_on_the_connector_api_and_vice_versa(
    client: TestClient, session: Session, clock: ManualClock, admin: dict[str, str]
) -> None:
    connector, token = make_connector(session, clock)
    assert client.post(f"{V1}/instances", json={}, headers=admin).status_code == 401
    assert client.post(f"{V1}/jobs:claim", json={"instance_key": "x"}).status_code == 401
    assert client.get("/api/v1/connectors", headers=_auth(token)).status_code == 401
    assert client.get("/api/v1/connectors", headers=admin).status_code == 200
    bad = _auth("jg_ct_" + "x" * 43)
    assert (
        client.post(f"{V1}/heartbeat", json={"instance_key": "x"}, headers=bad).status_code == 401
    )
    rotated = client.post(f"/api/v1/connectors/{connector.id}/token:rotate", headers=admin)
    new_token = rotated.json()["token"]
    old = client.post(f"{V1}/heartbeat", json={"instance_key": "x"}, headers=_auth(token))
    assert old.status_code == 401
    assert old.headers["content-type"].startswith("application/problem+json")
    new = client.post(f"{V1}/heartbeat", json={"instance_key": "x"}, headers=_auth(new_token))
    assert new.status_code == 200


def test_claim_report_duplicate_and_lost_lease(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    connector, token = make_connector(session, clock)
    _, other_token = make_connector(session, clock, "other")
    job = enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=GRANT)
    session.commit()
    assert _claim(client, other_token) == []
    (spec,) = _claim(client, token)
    assert spec["id"] == job.id
    assert spec["attempt"] == 1
    assert spec["payload"]["kind"] == "grant"
    result = {
        "instance_key": "vm-1",
        "lease_token": spec["lease_token"],
        "result": {"outcome": "succeeded", "data": {"kind": "grant", "outcome": "applied"}},
    }
    url = f"{V1}/jobs/{job.id}/result"
    stolen = client.post(url, json=result, headers=_auth(other_token))
    assert stolen.status_code == 404
    wrong = client.post(url, json={**result, "lease_token": "nope"}, headers=_auth(token))
    assert wrong.status_code == 409
    first = client.post(url, json=result, headers=_auth(token))
    assert first.json() == {"job_id": job.id, "status": "succeeded", "duplicate": False}
    again = client.post(url, json=result, headers=_auth(token))
    assert again.json()["duplicate"] is True
    session.expire_all()
    stored = session.get(Job, job.id)
    assert stored is not None
    assert stored.status is JobStatus.SUCCEEDED


def test_heartbeat_extends_held_leases_and_names_lost_ones(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    connector, token = make_connector(session, clock)
    enqueue_job(session=session, clock=clock, connector_id=connector.id, payload=GRANT)
    session.commit()
    (spec,) = _claim(client, token)
    clock.advance(timedelta(seconds=50))
    leases = [
        {"job_id": spec["id"], "lease_token": spec["lease_token"]},
        {"job_id": "missing", "lease_token": "x"},
    ]
    ack = client.post(
        f"{V1}/heartbeat", json={"instance_key": "vm-1", "leases": leases}, headers=_auth(token)
    ).json()
    assert ack["extended"] == [spec["id"]]
    assert ack["lost"] == ["missing"]
    clock.advance(timedelta(seconds=50))  # past the first lease, within the extended one
    assert _claim(client, token, key="vm-2") == []


def test_self_check_on_start_and_by_job_is_stored(
    client: TestClient, session: Session, clock: ManualClock, admin: dict[str, str]
) -> None:
    connector, token = make_connector(session, clock)
    check = {"kind": "self_check", "ok": True, "directory_roles": ["Groups Administrator"]}
    response = client.post(
        f"{V1}/self-check", json={"instance_key": "vm-1", "result": check}, headers=_auth(token)
    )
    assert response.status_code == 204
    shown = client.get(f"/api/v1/connectors/{connector.id}", headers=admin).json()
    assert shown["self_check"]["ok"] is True
    assert shown["self_checked_at"] is not None
    job = enqueue_job(
        session=session, clock=clock, connector_id=connector.id, payload=SelfCheckPayload()
    )
    session.commit()
    (spec,) = _claim(client, token)
    failed = {
        "outcome": "failed",
        "error": {"code": "Authorization_RequestDenied", "message": "no roles"},
    }
    client.post(
        f"{V1}/jobs/{job.id}/result",
        json={"instance_key": "vm-1", "lease_token": spec["lease_token"], "result": failed},
        headers=_auth(token),
    )
    shown = client.get(f"/api/v1/connectors/{connector.id}", headers=admin).json()
    assert shown["self_check"]["ok"] is False
    assert shown["self_check"]["error"]["code"] == "Authorization_RequestDenied"


def test_claim_rejects_waits_over_25_seconds(
    client: TestClient, session: Session, clock: ManualClock
) -> None:
    _, token = make_connector(session, clock)
    response = client.post(
        f"{V1}/jobs:claim", json={"instance_key": "vm-1", "wait_s": 60}, headers=_auth(token)
    )
    assert response.status_code == 422


def test_rotating_the_token_of_a_connector_with_instances_cuts_the_old_token_off(
    client: TestClient, session: Session, clock: ManualClock, admin: dict[str, str]
) -> None:
    connector, old = make_connector(session, clock)
    _register(client, old)
    rotated = client.post(f"/api/v1/connectors/{connector.id}/token:rotate", headers=admin)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    new = body["token"]
    assert new.startswith("jg_ct_")
    assert new != old
    assert body["instances"][0]["instance_key"] == "vm-1"
    assert body["instances"][0]["metadata"] == {"cloud": "AzureCloud"}
    refused = client.post(f"{V1}/heartbeat", json={"instance_key": "vm-1"}, headers=_auth(old))
    assert refused.status_code == 401
    assert _register(client, new)["connector_id"] == connector.id
    audit = client.get("/api/v1/audit/events", headers=admin).json()["items"]
    assert any(event["action"] == "connector.rotate_token" for event in audit)
