"""The registry the server runs with: every result handler, in one place.

The grant engine adds its handlers here (``registry.register(JobKind.GRANT, handle_grant)``…).
"""

from __future__ import annotations

from jitgate.server.grants.drift import handle_read_membership_result
from jitgate.server.grants.results import handle_grant_result, handle_revoke_result
from jitgate.server.integrations.sync import handle_discover_result
from jitgate.server.jobs.models import JobKind
from jitgate.server.jobs.registry import HandlerRegistry
from jitgate.server.jobs.selfcheck import handle_self_check_result


def default_registry() -> HandlerRegistry:
    """Return a new registry with every known result handler."""
    registry = HandlerRegistry()
    registry.register(JobKind.SELF_CHECK, handle_self_check_result)
    registry.register(JobKind.GRANT, handle_grant_result)
    registry.register(JobKind.REVOKE, handle_revoke_result)
    registry.register(JobKind.READ_MEMBERSHIP, handle_read_membership_result)
    registry.register(JobKind.DISCOVER, handle_discover_result)
    return registry
