"""Membership keys and what is in flight on one: the vocabulary of memberships and their jobs.

A *membership key* is (integration, resource, permission, scope, principal object id): one row
of ``membership`` or ``standing_membership``. ``InFlightJob`` names the one open job the
reconciler keeps per key (not a ``jobs.models.JobKind``: a ``verify`` is a ``read_membership``
job, an ``extend`` a ``grant`` job).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InFlightJob(StrEnum):
    """Which Graph write (or read) the reconciler has in flight on a key: one at a time."""

    GRANT = "grant"
    EXTEND = "extend"
    REVOKE = "revoke"
    VERIFY = "verify"


@dataclass(frozen=True, slots=True, order=True)
class MembershipKey:
    """One principal's permission on one resource (and scope)."""

    integration_id: str
    resource_id: str
    permission: str
    scope: str
    principal_id: str
