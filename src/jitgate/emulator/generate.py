"""Large synthetic tenants (100k users, 50k groups with owners and members) in seconds.

Writes straight into the store's tables (no change-log entries: a generated tenant is the
starting point, position 0, of every delta sync). Deterministic for a given ``seed``.
"""

from __future__ import annotations

import random
import uuid
from typing import TYPE_CHECKING

from jitgate.emulator.store import iso

if TYPE_CHECKING:
    from jitgate.emulator.store import Tenant

FIRST = (
    "Ada",
    "Ben",
    "Chen",
    "Dana",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jo",
    "Kai",
    "Lea",
    "Max",
    "Nia",
    "Omar",
    "Pia",
)
LAST = ("Ng", "Smith", "Garcia", "Kowalski", "Okafor", "Tanaka", "Rossi", "Dubois", "Khan", "Silva")
DEPARTMENTS = ("Engineering", "Finance", "Sales", "Support", "Legal", "Operations", "Marketing")


def generate(
    tenant: Tenant,
    *,
    users: int = 0,
    groups: int = 0,
    members_per_group: int = 10,
    owners_per_group: int = 1,
    seed: int = 0,
    password: str | None = None,
) -> None:
    """Add ``users`` users and ``groups`` groups with random owners and members to ``tenant``."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    domain = tenant.domains[0]
    created = iso(tenant.now())
    now = tenant.now()
    user_ids: list[str] = []
    for index in range(users):
        object_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST)) % len(LAST)]
        upn = f"user{index:06d}@{domain}"
        tenant.users[object_id] = {
            "id": object_id,
            "displayName": f"{first} {last} {index}",
            "givenName": first,
            "surname": last,
            "userPrincipalName": upn,
            "mail": upn,
            "jobTitle": None,
            "department": DEPARTMENTS[index % len(DEPARTMENTS)],
            "businessPhones": [],
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "accountEnabled": True,
            "userType": "Member",
            "onPremisesSyncEnabled": None,
            "createdDateTime": created,
        }
        tenant.kinds[object_id] = "user"
        tenant.upn_index[upn] = object_id
        user_ids.append(object_id)
        if password:
            tenant.passwords[object_id] = password
    members, member_of, owners, owner_of = (
        tenant.members,
        tenant.member_of,
        tenant.owners,
        tenant.owner_of,
    )
    for index in range(groups):
        object_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        unified = index % 4 == 0
        tenant.groups[object_id] = {
            "id": object_id,
            "displayName": f"{DEPARTMENTS[index % len(DEPARTMENTS)]} group {index}",
            "description": f"Synthetic group {index}",
            "groupTypes": ["Unified"] if unified else [],
            "mailEnabled": unified,
            "securityEnabled": True,
            "mailNickname": f"group{index:06d}",
            "mail": f"group{index:06d}@{domain}" if unified else None,
            "isAssignableToRole": None,
            "onPremisesSyncEnabled": None,
            "createdDateTime": created,
            "visibility": "Private" if unified else None,
        }
        tenant.kinds[object_id] = "group"
        edges: dict[str, float] = {}
        owned: dict[str, float] = {}
        if user_ids:
            for member_id in rng.sample(user_ids, min(members_per_group, len(user_ids))):
                edges[member_id] = now
                member_of.setdefault(member_id, set()).add(object_id)
            for owner_id in rng.sample(user_ids, min(owners_per_group, len(user_ids))):
                owned[owner_id] = now
                owner_of.setdefault(owner_id, set()).add(object_id)
        members[object_id] = edges
        owners[object_id] = owned
