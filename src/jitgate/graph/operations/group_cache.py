"""Groups read before writing, kept for a few minutes.

``bulk.apply_changes`` reads each group it writes to (to refuse dynamic, mail-enabled or
on-premises groups before Graph does). A connector writing to the same groups all day would pay
that read before every write; the cache keeps each group for ``ttl_s`` seconds of the client's
monotonic clock. What decides writability (group types, mail, sync, role-assignable) rarely
changes, and a stale entry costs nothing worse than Graph's own refusal of the write. Bounded:
the oldest entries go first past ``max_entries``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from jitgate.graph.operations.models import Group

DEFAULT_TTL_S = 300.0
DEFAULT_MAX_ENTRIES = 10_000


class GroupCache:
    """Group id -> (group, read at), expiring after ``ttl_s``."""

    def __init__(
        self,
        now: Callable[[], float],
        *,
        ttl_s: float = DEFAULT_TTL_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
    ) -> None:
        self._now = now
        self._ttl_s = ttl_s
        self._max = max_entries
        self._entries: OrderedDict[str, tuple[Group, float]] = OrderedDict()

    def get(self, group_id: str) -> Group | None:
        """The group if it was read less than ``ttl_s`` ago."""
        entry = self._entries.get(group_id)
        if entry is None:
            return None
        if self._now() - entry[1] >= self._ttl_s:
            del self._entries[group_id]
            return None
        return entry[0]

    def put(self, group: Group) -> None:
        """Remember a group just read."""
        self._entries.pop(group.id, None)
        self._entries[group.id] = (group, self._now())
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
