"""The audit export streams the whole log a page at a time, in sequence order."""

from __future__ import annotations

import csv
import io
import json

from factories import BOOTSTRAP, bearer, make_identity
from jitgate.server.actor import UserRole
from jitgate.server.audit.operations import record_event
from jitgate.server.audit.service import EXPORT_BATCH

URL = "/api/v1/audit/export"


def _write(session, clock, n, action="test.event"):
    for i in range(n):
        record_event(
            session=session,
            clock=clock,
            actor=BOOTSTRAP,
            action=action,
            target_type="thing",
            target_id=str(i),
            after={"i": i},
        )
    session.commit()


def test_an_export_longer_than_a_page_has_every_event_once_in_order(client, session, clock):
    admin = bearer(session, clock, make_identity(session, clock, "root@x.example", role="admin"))
    _write(session, clock, 2 * EXPORT_BATCH + 7)
    response = client.get(URL, headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    events = [json.loads(line) for line in response.text.splitlines()]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
    assert sum(e["action"] == "test.event" for e in events) == 2 * EXPORT_BATCH + 7
    assert all(e["hash"] for e in events)


def test_filters_and_csv(client, session, clock):
    auditor = make_identity(session, clock, "auditor@x.example", role=UserRole.AUDITOR)
    headers = bearer(session, clock, auditor)
    _write(session, clock, EXPORT_BATCH + 1, action="test.one")
    _write(session, clock, 3, action="test.two")
    response = client.get(URL, params={"format": "csv", "action": "test.two"}, headers=headers)
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["target_id"] for r in rows] == ["0", "1", "2"]
    every_one = _seqs(client, headers, action="test.one")
    assert len(every_one) == EXPORT_BATCH + 1
    assert _seqs(client, headers, action="test.one", after_seq=10) == [
        seq for seq in every_one if seq > 10
    ]


def _seqs(client, headers, **params):
    response = client.get(URL, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [json.loads(line)["seq"] for line in response.text.splitlines()]


def test_people_who_are_not_readers_get_a_problem(client, session, clock):
    alice = bearer(session, clock, make_identity(session, clock, "alice@x.example"))
    response = client.get(URL, headers=alice)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
