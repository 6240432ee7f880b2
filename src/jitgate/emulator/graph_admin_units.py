"""Administrative units and their members (graph.md §4).

Role assignments scoped to a unit are in ``graph_roles``.
"""
# ruff: noqa: E501 - Graph texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import (
    Call,
    Listing,
    check_guid,
    get_object,
    list_page,
    object_ref,
)
from jitgate.emulator.http import Response, bad_request, empty_response, json_response, not_found

if TYPE_CHECKING:
    from jitgate.emulator.router import Router

ADMIN_UNITS = Listing(
    kind="administrativeUnit",
    resource="AdministrativeUnit",
    filterable={"id", "displayName", "description", "visibility", "membershipType"},
)


def list_admin_units(call: Call) -> Response:
    """GET /directory/administrativeUnits."""
    call.require(p.AU_READ)
    return list_page(
        call, ADMIN_UNITS, call.tenant.admin_units.values(), "directory/administrativeUnits"
    )


def get_admin_unit(call: Call) -> Response:
    """GET /directory/administrativeUnits/{id}."""
    call.require(p.AU_READ)
    unit = call.tenant.admin_units.get(check_guid(call.params["id"]))
    if unit is None:
        raise not_found(call.params["id"])
    return json_response(
        200, {"@odata.context": call.context("directory/administrativeUnits/$entity"), **unit}
    )


def admin_unit_members(call: Call) -> Response:
    """GET /directory/administrativeUnits/{id}/members."""
    call.require(p.AU_READ)
    unit_id = check_guid(call.params["id"])
    if unit_id not in call.tenant.admin_units:
        raise not_found(unit_id)
    tenant = call.tenant
    items = [tenant.get(m) for m in tenant.au_members[unit_id]]
    return list_page(
        call,
        Listing(kind="directoryObject", resource="DirectoryObject", typed=True),
        [i for i in items if i],
        "directoryObjects",
        lambda o: tenant.kinds[o["id"]],
    )


def add_admin_unit_member(call: Call) -> Response:
    """POST /directory/administrativeUnits/{id}/members/$ref (204)."""
    call.require(p.AU_WRITE)
    unit_id = check_guid(call.params["id"])
    if unit_id not in call.tenant.admin_units:
        raise not_found(unit_id)
    member_id = object_ref(call.body().get("@odata.id"))
    get_object(call, member_id)
    if member_id in call.tenant.au_members[unit_id]:
        raise bad_request(
            "One or more added object references already exist for the following modified properties: 'members'."
        )
    call.tenant.au_members[unit_id][member_id] = call.now
    call.tenant.au_of.setdefault(member_id, set()).add(unit_id)
    return empty_response()


def remove_admin_unit_member(call: Call) -> Response:
    """DELETE /directory/administrativeUnits/{id}/members/{memberId}/$ref (204)."""
    call.require(p.AU_WRITE)
    unit_id = check_guid(call.params["id"])
    member_id = check_guid(call.params["member"])
    if call.tenant.au_members.get(unit_id, {}).pop(member_id, None) is None:
        raise not_found(unit_id)
    call.tenant.au_of.get(member_id, set()).discard(unit_id)
    return empty_response()


def register(router: Router) -> None:
    """Attach the administrative-unit routes (both the ``directory/`` and the short path)."""
    for prefix in ("directory/administrativeUnits", "administrativeUnits"):
        router.add("GET", prefix, list_admin_units)
        router.add("GET", f"{prefix}/{{id}}", get_admin_unit)
        router.add("GET", f"{prefix}/{{id}}/members", admin_unit_members)
        router.add("POST", f"{prefix}/{{id}}/members/$ref", add_admin_unit_member)
        router.add("DELETE", f"{prefix}/{{id}}/members/{{member}}/$ref", remove_admin_unit_member)
