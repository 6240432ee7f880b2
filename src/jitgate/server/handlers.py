"""The registry the server runs with: every result handler, in one place.

The composition root wires them (``jitgate.server.app``): the reconciler's, the guests' and
discovery's handlers live in their areas, which the connector protocol (below them) never imports.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from jitgate.server.connectors.protocol.selfcheck import handle_self_check_result
from jitgate.server.guests.results import (
    handle_delete_user_result,
    handle_invite_guest_result,
)
from jitgate.server.integrations.sync import handle_discover_result
from jitgate.server.jobs.models import JobKind
from jitgate.server.jobs.registry import HandlerRegistry
from jitgate.server.reconciler.drift import handle_read_membership_result
from jitgate.server.reconciler.late_write import DEFAULT_LATE_WRITE_WINDOW
from jitgate.server.reconciler.observed import DEFAULT_FULL_EVERY
from jitgate.server.reconciler.results import handle_grant_result, handle_revoke_result

if TYPE_CHECKING:
    from datetime import timedelta


def default_registry(
    *,
    late_write_window: timedelta = DEFAULT_LATE_WRITE_WINDOW,
    full_read_every: timedelta = DEFAULT_FULL_EVERY,
) -> HandlerRegistry:
    """Return a new registry with every known result handler (``Settings`` timings)."""
    registry = HandlerRegistry()
    registry.register(JobKind.SELF_CHECK, handle_self_check_result)
    registry.register(
        JobKind.GRANT, partial(handle_grant_result, late_write_window=late_write_window)
    )
    registry.register(JobKind.REVOKE, handle_revoke_result)
    registry.register(
        JobKind.READ_MEMBERSHIP,
        partial(handle_read_membership_result, full_every=full_read_every),
    )
    registry.register(JobKind.DISCOVER, handle_discover_result)
    registry.register(JobKind.INVITE_GUEST, handle_invite_guest_result)
    registry.register(JobKind.DELETE_USER, handle_delete_user_result)
    return registry
