"""The ``latency_ms`` fault kind: slow responses on one route, served normally afterwards."""

from __future__ import annotations

from jitgate.emulator.faults import Faults
from jitgate.emulator.settings import EmulatorSettings


def _settings(*rules: dict[str, object]) -> EmulatorSettings:
    settings = EmulatorSettings()
    settings.update({"faults": list(rules), "latency_ms": 0, "jitter_ms": 0})
    return settings


def test_a_latency_rule_delays_its_route_only_and_is_no_error() -> None:
    faults = Faults(seed=1)
    settings = _settings({"route": "POST /v1.0/$batch", "latency_ms": 1500})
    assert faults.delay(settings, "POST", "/v1.0/$batch") == 1.5
    assert faults.delay(settings, "GET", "/v1.0/users") == 0.0
    assert faults.pick(settings, "POST", "/v1.0/$batch") is None  # served, not failed


def test_a_counted_latency_rule_fires_count_times_and_adds_to_base_latency() -> None:
    faults = Faults(seed=1)
    settings = _settings({"route": "DELETE", "latency_ms": 200, "count": 2})
    settings.update({"latency_ms": 10})
    delays = [faults.delay(settings, "DELETE", "/v1.0/groups/g/members/u/$ref") for _ in range(3)]
    assert delays == [0.21, 0.21, 0.01]


def test_error_rules_still_fire_next_to_a_latency_rule() -> None:
    faults = Faults(seed=1)
    settings = _settings(
        {"route": "DELETE", "latency_ms": 100}, {"route": "DELETE", "status": 503, "count": 1}
    )
    rule = faults.pick(settings, "DELETE", "/v1.0/groups/g/members/u/$ref")
    assert rule is not None
    assert rule.status == 503
