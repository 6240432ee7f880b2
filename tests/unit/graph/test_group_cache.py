"""The group cache: entries expire after their time and the oldest go first past the bound."""

from __future__ import annotations

from jitgate.graph.operations.group_cache import GroupCache
from jitgate.graph.operations.models import Group


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl():
    clock = Clock()
    cache = GroupCache(clock, ttl_s=10.0)
    cache.put(Group(id="g1", display_name="One"))
    clock.now = 9.9
    found = cache.get("g1")
    assert found is not None
    assert found.display_name == "One"
    clock.now = 10.0
    assert cache.get("g1") is None
    assert len(cache) == 0


def test_putting_again_refreshes_the_entry():
    clock = Clock()
    cache = GroupCache(clock, ttl_s=10.0)
    cache.put(Group(id="g1", display_name="Old"))
    clock.now = 8.0
    cache.put(Group(id="g1", display_name="New"))
    clock.now = 15.0
    found = cache.get("g1")
    assert found is not None
    assert found.display_name == "New"


def test_the_oldest_entries_go_first_past_the_bound():
    cache = GroupCache(Clock(), max_entries=2)
    for gid in ("g1", "g2", "g3"):
        cache.put(Group(id=gid, display_name=gid))
    assert cache.get("g1") is None
    assert cache.get("g2") is not None
    assert cache.get("g3") is not None
