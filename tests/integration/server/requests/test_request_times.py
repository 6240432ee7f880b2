"""Times and time zones at the API boundary: a clear 422, never a 500.

A start needs an offset (a naive time is ambiguous), lies at most a year ahead (so its end never
passes year 9999), and must exist in UTC; a flow's time zone is a known IANA name, looked up
without touching the file system.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factories import bearer, make_flow
from request_world import make_world

PROBLEM = "application/problem+json"
ROUTES = ["/api/v1/requests", "/api/v1/requests/dry-run"]


def _body(resource_id, **fields):
    return {"resource_ids": [resource_id], "permissions": ["member"], **fields}


def _flow_body(integration_id, time_zone):
    return {
        "name": "Office hours",
        "targets": [
            {
                "integration_id": integration_id,
                "resource_type": "entra-group",
                "permissions": ["member"],
            }
        ],
        "timeframe": {
            "days_of_week": ["MON"],
            "start_time": "08:00",
            "end_time": "18:00",
            "time_zone": time_zone,
        },
    }


def _fields(response):
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return {e["field"]: e["message"] for e in response.json()["errors"]}


@pytest.mark.parametrize("route", ROUTES)
def test_a_start_without_an_offset_is_refused_naming_the_offset(client, session, clock, route):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    alice = bearer(session, clock, w.alice)
    response = client.post(route, json=_body(w.finance.id, starts_at="2026-01-06T09:00:00"))
    assert response.status_code == 401  # no token: refused before anything else
    fields = _fields(
        client.post(route, json=_body(w.finance.id, starts_at="2026-01-06T09:00:00"), headers=alice)
    )
    assert "offset" in fields["starts_at"]


@pytest.mark.parametrize(
    "starts_at",
    [
        "9999-12-31T00:00:00+00:00",  # its end would pass year 9999
        "2028-01-06T09:00:00+00:00",
    ],
)
def test_a_start_more_than_a_year_ahead_is_refused(*, client, session, clock, starts_at):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    alice = bearer(session, clock, w.alice)
    body = _body(w.finance.id, starts_at=starts_at, duration_min=60)
    submitted = client.post("/api/v1/requests", json=body, headers=alice)
    assert "days ahead" in _fields(submitted)["starts_at"]
    dry_run = client.post("/api/v1/requests/dry-run", json=body, headers=alice)
    assert dry_run.status_code == 200, dry_run.text
    assert dry_run.json()["eligible"] is False
    assert dry_run.json()["problems"] == ["starts_at: at most 365 days ahead"]


@pytest.mark.parametrize("starts_at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_start_with_no_utc_time_is_refused(*, client, session, clock, route, starts_at):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    alice = bearer(session, clock, w.alice)
    body = _body(w.finance.id, starts_at=starts_at, duration_min=60)
    assert "outside years" in _fields(client.post(route, json=body, headers=alice))["starts_at"]


def test_a_start_a_month_ahead_with_an_offset_is_taken(client, session, clock):
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    alice = bearer(session, clock, w.alice)
    response = client.post(
        "/api/v1/requests",
        json=_body(w.finance.id, starts_at="2026-02-05T10:00:00+01:00", duration_min=60),
        headers=alice,
    )
    assert response.status_code == 201, response.text
    assert response.json()["starts_at"].startswith("2026-02-05T09:00:00")


@pytest.mark.parametrize("time_zone", ["x" * 5000, "Europe/../../etc/passwd", "Nowhere/Land"])
def test_unknown_or_odd_time_zones_are_a_422(client, session, clock, time_zone):
    w = make_world(session, clock)
    admin = bearer(session, clock, w.admin)
    response = client.post(
        "/api/v1/flows", json=_flow_body(w.integration.id, time_zone), headers=admin
    )
    message = _fields(response)["timeframe.time_zone"]
    assert "unknown IANA time zone" in message
    assert len(message) < 100  # a 5,000-character value is not repeated back whole


def test_a_known_time_zone_is_taken(client, session, clock):
    w = make_world(session, clock)
    admin = bearer(session, clock, w.admin)
    response = client.post(
        "/api/v1/flows", json=_flow_body(w.integration.id, "Europe/Amsterdam"), headers=admin
    )
    assert response.status_code == 201, response.text


TIMES = st.one_of(
    st.none(),
    st.datetimes().map(datetime.isoformat),  # naive, any year
    st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
    st.datetimes(
        min_value=datetime(2026, 1, 5, 9, 0),  # noqa: DTZ001 - the bound of a naive strategy
        max_value=datetime(2027, 6, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(datetime.isoformat),
    st.text(max_size=40),
    st.integers(),
)
DURATIONS = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63))
ZONES = st.one_of(st.timezone_keys(), st.text(max_size=300), st.text(min_size=2000, max_size=6000))


@pytest.fixture
def arranged(client, session, clock):
    """One world for every drawn example (hypothesis reuses a test's fixtures)."""
    w = make_world(session, clock)
    make_flow(session, clock, w.integration)
    return w, bearer(session, clock, w.alice), bearer(session, clock, w.admin)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(starts_at=TIMES, duration_min=DURATIONS, time_zone=ZONES, route=st.sampled_from(ROUTES))
def test_generated_times_zones_and_durations_never_give_a_5xx(
    *, client, arranged, starts_at, duration_min, time_zone, route
):
    w, alice, admin = arranged
    fields = {"starts_at": starts_at, "duration_min": duration_min}
    body = _body(w.finance.id, **{k: v for k, v in fields.items() if v is not None})
    answer = client.post(route, json=body, headers=alice)
    assert answer.status_code < 500, answer.text
    flow = client.post("/api/v1/flows", json=_flow_body(w.integration.id, time_zone), headers=admin)
    assert flow.status_code < 500, flow.text
