"""The budgets a real tenant has beyond its tier: an app + tenant write bucket of its own size, a
tenant-wide resource-unit budget other apps spend in the background, and budgets that change while
the emulator runs (graph.md §8; docs/emulator.md "Throttling")."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import gid, uid
from jitgate.emulator.settings import EmulatorSettings
from jitgate.emulator.throttle import Throttler

APP = "app"
TENANT = "tenant"


def charge(throttler, settings, *, now, units=1, writes=0):
    return throttler.charge(
        settings, app_id=APP, tenant_id=TENANT, units=units, writes=writes, now=now
    )


def admitted(throttler, settings, *, now, count, writes=1):
    verdicts = [charge(throttler, settings, now=now, writes=writes) for _ in range(count)]
    return sum(1 for v in verdicts if not v.retry_after)


def test_the_app_write_bucket_is_its_own_size_whatever_the_tier():
    settings = EmulatorSettings(tier="L", write_budget=30, write_window_s=3.0)
    throttler = Throttler()
    assert admitted(throttler, settings, now=0.0, count=40) == 30
    refused = charge(throttler, settings, now=0.0, writes=1)
    assert refused.information == "WriteLimitExceeded"
    assert refused.scope == f"Tenant_Application/Write/{APP}/{TENANT}"
    assert refused.retry_after == pytest.approx(0.1)  # 30 per 3 s: one write per 0.1 s
    assert admitted(throttler, settings, now=1.0, count=20) == 10


def test_a_tenant_wide_resource_unit_budget_is_shared_with_other_apps():
    settings = EmulatorSettings(
        tier="L", tenant_resource_units=100, ru_window_s=10.0, other_apps_ru_per_s=6.0
    )
    throttler = Throttler()
    assert admitted(throttler, settings, now=0.0, count=150, writes=0) == 100
    refused = charge(throttler, settings, now=0.0)
    assert refused.information == "ResourceUnitLimitExceeded"
    assert refused.scope == f"Tenant/ReadWrite/{APP}/{TENANT}"
    # 10 RU/s refill, the other apps take 6 of them: 4 a second are left for us
    assert admitted(throttler, settings, now=10.0, count=100, writes=0) == 40


def test_other_apps_never_take_a_tenant_bucket_below_empty():
    settings = EmulatorSettings(
        tier="L", tenant_resource_units=100, ru_window_s=10.0, other_apps_ru_per_s=20.0
    )
    throttler = Throttler()
    charge(throttler, settings, now=0.0)
    refused = charge(throttler, settings, now=100.0)
    assert refused.retry_after == pytest.approx(10.0)  # they spend it all: a window's wait


def test_a_budget_changed_mid_run_keeps_the_share_left_and_refills_at_the_new_rate():
    settings = EmulatorSettings(tier="L", write_budget=100, write_window_s=10.0)
    throttler = Throttler()
    assert admitted(throttler, settings, now=0.0, count=40) == 40  # 60 % left
    settings.update({"write_budget": 50})
    assert admitted(throttler, settings, now=0.0, count=100) == 30  # 60 % of 50
    assert admitted(throttler, settings, now=2.0, count=100) == 10  # 5 a second now


def test_other_apps_writes_drain_the_tenant_write_bucket():
    settings = EmulatorSettings(
        tier="L",
        write_budget=1000,
        tenant_write_budget=100,
        tenant_write_window_s=10.0,
        other_apps_writes_per_s=5.0,
    )
    throttler = Throttler()
    assert admitted(throttler, settings, now=0.0, count=200) == 100
    assert admitted(throttler, settings, now=10.0, count=200) == 50
    refused = charge(throttler, settings, now=10.0, writes=1)
    assert refused.scope == f"Tenant/Write/{APP}/{TENANT}"


def test_budgets_change_at_run_time_through_the_admin_api(client, state):
    client.patch("/_emulator/settings", json={"write_budget": 600, "write_window_s": 30.0})
    state.throttler.charge(
        state.settings, app_id=APP, tenant_id=TENANT, units=1, writes=300, now=state.tenant.now()
    )
    changed = client.patch("/_emulator/settings", json={"write_budget": 300})
    assert changed.json()["write_budget"] == 300
    buckets = {b["key"]: b for b in client.get("/_emulator/throttle").json()["buckets"]}
    write = buckets[f"w/{APP}/{TENANT}"]
    assert write["capacity"] == 300
    assert write["tokens"] == pytest.approx(150, abs=1)  # half was left, half is left


def test_inner_batch_answers_carry_the_resource_unit_and_limit_percentage(graph, state, clock):
    state.settings.update({"write_budget": 10, "write_window_s": 100.0})
    group = gid(state, "Production Access")
    users = [uid(state, k) for k in ("lee", "grady", "megan")]
    body = {
        "requests": [
            {
                "id": str(i),
                "method": "POST",
                "url": f"/groups/{group}/members/$ref",
                "headers": {"Content-Type": "application/json"},
                "body": {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user}"},
            }
            for i, user in enumerate(users)
        ]
    }
    state.throttler.charge(
        state.settings,
        app_id=state.client_id,
        tenant_id=state.tenant.tenant_id,
        units=1,
        writes=6,
        now=state.tenant.now(),
    )
    answers = graph.post("/v1.0/$batch", json=body).json()["responses"]
    headers = [
        {k.lower(): v for k, v in a["headers"].items()} for a in answers if a["status"] < 300
    ]
    assert headers
    assert all(h["x-ms-resource-unit"] == "1" for h in headers)
    assert float(headers[-1]["x-ms-throttle-limit-percentage"]) >= 0.8
    state.settings.update({"batch_limit_percentage": False})
    clock.advance(timedelta(seconds=100))
    again = graph.post("/v1.0/$batch", json=body).json()["responses"]
    assert all("x-ms-throttle-limit-percentage" not in a["headers"] for a in again)
