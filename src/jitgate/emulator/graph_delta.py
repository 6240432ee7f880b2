"""Delta queries for users and groups (graph.md §7).

A delta token is a position in ``Tenant.changes`` (plus the query options and its issue time); a
skip token is a position inside one round (which groups/users, which member chunk). The first round
returns every object; later rounds return objects changed since the token, with ``members@delta``
additions and ``@removed`` removals. Large member lists repeat the group object across entries,
as Graph does, so clients must merge. Users delta with ``manager`` in ``$select`` tracks the
manager as ``manager@delta`` ("$select also supports manager and members navigation properties for
users and groups respectively. Selecting those properties allows tracking of changes to user's
manager and group memberships." [GD:concepts/delta-query-overview.md] (doc)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.emulator import odata
from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, decode_token, encode_token, link, render
from jitgate.emulator.http import GraphError, Response, json_response, unsupported_query
from jitgate.emulator.store import ODATA_TYPES, OP_DELETED, OP_MEMBER_ADDED, OP_MEMBER_REMOVED

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj

Change = tuple[str, bool, dict[str, int]]  # (object id, deleted, member id -> last op)
DAY = 86400.0
NAVIGATION = frozenset({"members", "manager"})  # $select names tracked as ``name@delta``


def _changes(call: Call, kind: str, start: int, end: int) -> list[Change]:
    merged: dict[str, tuple[bool, dict[str, int]]] = {}
    for entry_kind, object_id, member_id, op in call.tenant.changes[start:end]:
        if entry_kind != kind:
            continue
        deleted, members = merged.get(object_id, (False, {}))
        if op == OP_DELETED:
            deleted = True
        elif op in {OP_MEMBER_ADDED, OP_MEMBER_REMOVED}:
            members[member_id] = op
        else:
            deleted = False
        merged[object_id] = (deleted, members)
    return [(object_id, deleted, members) for object_id, (deleted, members) in merged.items()]


def _member_ref(call: Call, member_id: str, op: int) -> Obj:
    kind = call.tenant.kinds.get(member_id, "user")
    ref: Obj = {
        "@odata.type": ODATA_TYPES.get(kind, "#microsoft.graph.directoryObject"),
        "id": member_id,
    }
    if op == OP_MEMBER_REMOVED:
        ref["@removed"] = {"reason": "deleted"}
    return ref


def _manager_refs(call: Call, user_id: str) -> list[Obj]:
    """``manager@delta``: the current manager, or an empty list when there is none (infer)."""
    manager_id = call.tenant.managers.get(user_id)
    if manager_id is None or manager_id not in call.tenant.users:
        return []
    return [{"@odata.type": ODATA_TYPES["user"], "id": manager_id}]


def _entries(
    call: Call, state: dict[str, Any], track_members: bool
) -> Iterator[tuple[int, int, Obj]]:
    """Yield (index, member offset after, entry) from the skip position in ``state``."""
    kind = state["k"]
    select = state.get("sel")
    chunk = max(1, call.settings.delta_member_chunk)
    if state["ph"] == "init":
        ids: list[Change] = [(i, False, {}) for i in call.tenant.collection(kind)]
    else:
        ids = _changes(call, kind, state["p"], state["end"])
    wanted = set(state["f"]) if state.get("f") else None
    for index in range(state["i"], len(ids)):
        object_id, deleted, member_ops = ids[index]
        if wanted is not None and object_id not in wanted:
            continue
        obj = call.tenant.collection(kind).get(object_id)
        if deleted or obj is None:
            yield index, 0, {"id": object_id, "@removed": {"reason": "changed"}}
            continue
        base = render(obj, kind, [s for s in select if s not in NAVIGATION] if select else None)
        base.setdefault("id", object_id)
        if kind == "user" and select and "manager" in select:
            base["manager@delta"] = _manager_refs(call, object_id)
        if kind != "group" or not track_members:
            yield index, 0, base
            continue
        if state["ph"] == "init":
            refs = [(m, OP_MEMBER_ADDED) for m in call.tenant.members.get(object_id, {})]
        else:
            refs = list(member_ops.items())
        offset = state["m"] if index == state["i"] else 0
        if not refs:
            yield index, 0, base
            continue
        while offset < len(refs):
            part = refs[offset : offset + chunk]
            offset += len(part)
            yield (
                index,
                offset if offset < len(refs) else 0,
                {**base, "members@delta": [_member_ref(call, m, op) for m, op in part]},
            )


def _start_state(call: Call, kind: str) -> dict[str, Any]:
    query = call.req.query
    for option in ("$top", "$orderby"):
        if option in query:
            raise unsupported_query(
                f"The query option '{option}' is not supported with delta query."
            )
    state: dict[str, Any] = {
        "k": kind,
        "ph": "init",
        "i": 0,
        "m": 0,
        "end": len(call.tenant.changes),
        "t": call.now,
        "e": call.tenant.pim_table("_delta").get("epoch", {}).get("n", 0),
    }
    if query.get("$select"):
        state["sel"] = [s.strip() for s in query["$select"].split(",") if s.strip()]
    if query.get("$expand", "").startswith("members"):
        state["sel"] = [*state.get("sel", []), "members"] if state.get("sel") else None
    if query.get("$filter"):
        flt = odata.parse_filter(query["$filter"], kind.capitalize(), {"id"})
        state["f"] = [i for i in call.tenant.collection(kind) if flt.predicate({"id": i})]
    return state


def _resync(call: Call, kind: str, code: str, message: str) -> GraphError:
    location = f"{call.graph_url}/{kind}s/delta"
    return GraphError(410, code, message, {"Location": location})


def delta(call: Call) -> Response:
    """GET /users/delta | /groups/delta (also ``.../microsoft.graph.delta``)."""
    kind = "group" if call.req.path.startswith("/v1.0/groups") else "user"
    call.require(p.GROUP_READ if kind == "group" else p.USER_READ)
    query = call.req.query
    epoch = call.tenant.pim_table("_delta").get("epoch", {}).get("n", 0)
    if query.get("$deltatoken") == "latest":
        state = _start_state(call, kind)
        token = encode_token({**state, "ph": "chg", "p": len(call.tenant.changes)})
        return json_response(
            200,
            {
                "@odata.context": call.context(f"{kind}s"),
                "@odata.deltaLink": link(call, "$deltatoken", token),
                "value": [],
            },
        )
    if "$skiptoken" in query:
        state = decode_token(query["$skiptoken"])
    elif "$deltatoken" in query:
        state = decode_token(query["$deltatoken"])
        if state.get("e", 0) != epoch:
            raise _resync(
                call,
                kind,
                "resyncRequired",
                "The delta token is no longer valid; restart the sync from the initial query.",
            )
        if call.now - float(state.get("t", 0)) > call.settings.delta_token_days * DAY:
            raise _resync(
                call, kind, "syncStateNotFound", "The sync state generation is not found."
            )
        state.update({"ph": "chg", "i": 0, "m": 0, "end": len(call.tenant.changes)})
    else:
        state = _start_state(call, kind)
    select = state.get("sel")
    track = select is None or "members" in select
    page: list[Obj] = []
    next_pos: tuple[int, int] | None = None
    for index, member_after, entry in _entries(call, state, track):
        if len(page) == call.settings.delta_page_size:
            break
        page.append(entry)
        next_pos = (index + 1, 0) if member_after == 0 else (index, member_after)
    more = (
        next_pos is not None
        and len(page) == call.settings.delta_page_size
        and next(_entries(call, {**state, "i": next_pos[0], "m": next_pos[1]}, track), None)
        is not None
    )
    payload: dict[str, Any] = {"@odata.context": call.context(f"{kind}s")}
    if more and next_pos is not None:
        payload["@odata.nextLink"] = link(
            call,
            "$skiptoken",
            encode_token({**state, "i": next_pos[0], "m": next_pos[1]}),
            drop=("$select", "$filter", "$expand"),
        )
    else:
        token = encode_token(
            {
                "k": kind,
                "ph": "chg",
                "p": state["end"],
                "t": call.now,
                "e": epoch,
                **{k: state[k] for k in ("sel", "f") if k in state},
            }
        )
        payload["@odata.deltaLink"] = link(
            call, "$deltatoken", token, drop=("$select", "$filter", "$expand")
        )
    payload["value"] = page
    return json_response(200, payload)


def register(router: Router) -> None:
    """Attach the delta routes."""
    for base in ("users", "groups"):
        router.add("GET", f"{base}/delta", delta)
        router.add("GET", f"{base}/microsoft.graph.delta", delta)
        router.add("GET", f"{base}/delta()", delta)
