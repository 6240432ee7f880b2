from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jitgate.server.flows.evaluate import matches_requestor, target_covers, within_window
from jitgate.server.flows.schemas import Requestors, Target, Timeframe
from jitgate.server.identities.models import Identity
from jitgate.server.integrations.models import Resource


def person(upn, *, groups=(), manager_id=None, attributes=None, pid=None):
    return Identity(
        id=pid or upn,
        upn=upn,
        mail=upn,
        display_name=upn,
        groups=[{"id": f"id-{g}", "name": g} for g in groups],
        manager_id=manager_id,
        attributes=attributes or {},
    )


def resource(name, *, rid=None, rtype="entra-group", tags=None, integration="i1"):
    return Resource(
        id=rid or f"r-{name}",
        integration_id=integration,
        type=rtype,
        external_id=f"ext-{name}",
        name=name,
        tags=tags or {},
    )


def req(op, *conditions):
    return Requestors.model_validate({"logical_operator": op, "conditions": list(conditions)})


ALICE = person("alice@contoso.example", groups=["Finance", "Staff"], attributes={"dept": "FIN"})
BOSS = person("boss@contoso.example")


def test_no_conditions_match_everyone():
    assert matches_requestor(ALICE, Requestors(), None)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"type": "user", "values": ["ALICE@contoso.example"]}, True),
        ({"type": "user", "match_operator": "is_not", "values": ["alice@contoso.example"]}, False),
        ({"type": "user", "match_operator": "contains", "values": ["lice@"]}, True),
        ({"type": "user", "match_operator": "does_not_contain", "values": ["bob"]}, True),
        ({"type": "user", "match_operator": "starts_with", "values": ["ali"]}, True),
        ({"type": "group", "values": ["finance"]}, True),
        ({"type": "group", "values": ["id-Staff"]}, True),
        ({"type": "group", "values": ["Ops"]}, False),
        ({"type": "manager", "values": ["boss@contoso.example"]}, True),
        ({"type": "attribute", "attribute": "dept", "values": ["FIN"]}, True),
        ({"type": "attribute", "attribute": "dept", "values": ["fin"]}, False),
        (
            {
                "type": "attribute",
                "attribute": "missing",
                "match_operator": "is_not",
                "values": ["x"],
            },
            True,
        ),
    ],
)
def test_condition_operators(condition, expected):
    assert matches_requestor(ALICE, req("OR", condition), BOSS) is expected


def test_and_needs_every_condition_or_needs_one():
    finance = {"type": "group", "values": ["Finance"]}
    ops = {"type": "group", "values": ["Ops"]}
    assert not matches_requestor(ALICE, req("AND", finance, ops), None)
    assert matches_requestor(ALICE, req("OR", finance, ops), None)


def test_no_manager_fails_is_and_passes_is_not():
    lonely = person("lonely@contoso.example")
    assert not matches_requestor(
        lonely, req("OR", {"type": "manager", "values": ["boss@contoso.example"]}), None
    )
    assert matches_requestor(
        lonely, req("OR", {"type": "manager", "match_operator": "is_not", "values": ["x"]}), None
    )


def target(**kwargs):
    base = {"integration_id": "i1", "resource_type": "entra-group", "permissions": ["member"]}
    return Target.model_validate({**base, **kwargs})


def test_no_include_covers_every_resource_of_the_type():
    t = target()
    assert target_covers(t, resource("Finance"), "member")
    assert not target_covers(t, resource("Finance"), "owner")
    assert not target_covers(t, resource("Admin", rtype="entra-role"), "member")
    assert not target_covers(t, resource("Finance", integration="i2"), "member")


def test_includes_or_together_and_excludes_win():
    t = target(
        scopes=[
            {"type": "name", "values": ["finance"]},
            {"type": "tag", "key": "env", "values": ["prod"]},
            {"mode": "exclude", "type": "id", "values": ["ext-Payroll"]},
        ]
    )
    assert target_covers(t, resource("Finance"), "member")
    assert target_covers(t, resource("Sales", tags={"env": "prod"}), "member")
    assert not target_covers(t, resource("Payroll", tags={"env": "prod"}), "member")
    assert not target_covers(t, resource("Sales", tags={"env": "dev"}), "member")


def test_tag_scope_without_values_needs_the_key_only():
    t = target(scopes=[{"type": "tag", "key": "jit"}])
    assert target_covers(t, resource("A", tags={"jit": "yes"}), "member")
    assert not target_covers(t, resource("B"), "member")


def test_role_scopes_limit_directory_scope():
    t = target(
        resource_type="entra-role", permissions=["active"], role_scopes=["/administrativeUnits/au1"]
    )
    role = resource("Helpdesk Administrator", rtype="entra-role")
    assert target_covers(t, role, "active", "/administrativeUnits/au1")
    assert not target_covers(t, role, "active", "/")


def window(**kwargs):
    base = {"days_of_week": ["MON", "TUE"], "start_time": "08:00", "end_time": "18:00"}
    return Timeframe.model_validate({**base, **kwargs})


def test_window_days_and_hours():
    tf = window()
    assert within_window(tf, datetime(2026, 1, 5, 8, 0, tzinfo=UTC))  # Monday
    assert not within_window(tf, datetime(2026, 1, 5, 18, 0, tzinfo=UTC))
    assert not within_window(tf, datetime(2026, 1, 7, 9, 0, tzinfo=UTC))  # Wednesday
    assert within_window(None, datetime(2026, 1, 7, 9, 0, tzinfo=UTC))


def test_window_uses_its_time_zone():
    tf = window(time_zone="America/New_York")
    assert not within_window(tf, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))  # 04:00 in New York
    assert within_window(tf, datetime(2026, 1, 5, 14, 0, tzinfo=UTC))


def test_window_across_midnight_belongs_to_its_start_day():
    tf = window(days_of_week=["MON"], start_time="22:00", end_time="02:00")
    assert within_window(tf, datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    assert within_window(tf, datetime(2026, 1, 6, 1, 0, tzinfo=UTC))  # Tuesday 01:00
    assert not within_window(tf, datetime(2026, 1, 5, 1, 0, tzinfo=UTC))  # Monday 01:00 (Sunday's)


def test_window_validation():
    with pytest.raises(ValueError, match="time zone"):
        window(time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="HH:MM"):
        window(start_time="8am")
