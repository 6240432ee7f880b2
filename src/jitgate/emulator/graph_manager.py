"""A user's manager: read it, set it, remove it (graph.md §2).

``GET /users/{id}/manager`` [GD:api/user-list-manager.md], ``PUT /users/{id}/manager/$ref`` with
``{"@odata.id": ".../users/{managerId}"}`` and ``DELETE /users/{id}/manager/$ref``
[GD:api/user-post-manager.md, api/user-delete-manager.md] (doc). A change is a change of the user
for delta (users delta tracks ``manager`` when it is selected; graph_delta).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, get_user_obj, object_ref, render
from jitgate.emulator.http import Response, bad_request, empty_response, json_response, not_found

if TYPE_CHECKING:
    from jitgate.emulator.router import Router


def _user(call: Call) -> str:
    return str(get_user_obj(call, call.params["id"])["id"])


def get_manager(call: Call) -> Response:
    """GET /users/{id}/manager."""
    call.require(p.USER_READ)
    user_id = _user(call)
    manager_id = call.tenant.managers.get(user_id)
    if manager_id is None or manager_id not in call.tenant.users:
        raise not_found("manager")
    payload = {
        "@odata.context": call.context("directoryObjects/$entity"),
        **render(call.tenant.users[manager_id], "user", None, typed=True),
    }
    return json_response(200, payload)


def set_manager(call: Call) -> Response:
    """PUT /users/{id}/manager/$ref."""
    call.require(p.USER_WRITE)
    user_id = _user(call)
    manager_id = object_ref(call.body().get("@odata.id"))
    if manager_id not in call.tenant.users or manager_id == user_id:
        raise bad_request(f"Invalid object identifier '{manager_id}'.")
    call.tenant.managers[user_id] = manager_id
    call.tenant.touch("user", user_id)
    return empty_response()


def remove_manager(call: Call) -> Response:
    """DELETE /users/{id}/manager/$ref."""
    call.require(p.USER_WRITE)
    user_id = _user(call)
    if call.tenant.managers.pop(user_id, None) is None:
        raise not_found("manager")
    call.tenant.touch("user", user_id)
    return empty_response()


def register(router: Router) -> None:
    """Attach the manager routes."""
    router.add("GET", "users/{id}/manager", get_manager)
    router.add("PUT", "users/{id}/manager/$ref", set_manager)
    router.add("DELETE", "users/{id}/manager/$ref", remove_manager)
