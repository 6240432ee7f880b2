"""What every Graph route shares: the call context, rendering, paging and reference parsing.

Invariants: every link the emulator returns is absolute on its own Graph host; a collection page
holds at most ``$top`` (≤ 999) items; ``@odata.count`` is only on the first page.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from jitgate.emulator import odata
from jitgate.emulator.http import (
    GraphError,
    Response,
    bad_request,
    forbidden,
    json_response,
    not_found,
    unsupported_query,
)
from jitgate.emulator.permissions import allowed
from jitgate.emulator.store import ODATA_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from jitgate.emulator.http import Request
    from jitgate.emulator.settings import EmulatorSettings
    from jitgate.emulator.store import Obj, Tenant

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
USER_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
GROUP_DEFAULT = (
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesLastSyncDateTime",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
)
DEFAULTS: dict[str, tuple[str, ...] | None] = {"user": USER_DEFAULT, "group": GROUP_DEFAULT}
USER_NOT_IN_COLLECTION = frozenset(
    {
        "aboutMe",
        "birthday",
        "hireDate",
        "interests",
        "mySite",
        "pastProjects",
        "preferredName",
        "responsibilities",
        "schools",
        "skills",
        "mailboxSettings",
    }
)
INVALID_ID_TEXT = "Invalid object identifier '{0}'."
PAGE_SIZE_TEXT = "Invalid page size specified: '{0}'. Must be between 1 and 999 inclusive."


@dataclass(slots=True)
class Call:
    """One Graph call after authentication: who calls, on what tenant, with which knobs."""

    req: Request
    tenant: Tenant
    settings: EmulatorSettings
    params: dict[str, str]
    perms: frozenset[str]
    app_id: str
    caller_id: str
    graph_url: str
    cutoff: float | None
    now: float

    def require(self, needed: frozenset[str]) -> None:
        """Raise 403 unless the caller holds one of ``needed``."""
        if not allowed(self.perms, needed):
            raise forbidden()

    def eventual(self) -> bool:
        """Return whether the request asked for ``ConsistencyLevel: eventual``."""
        return self.req.headers.get("consistencylevel", "").lower() == "eventual"

    def body(self) -> dict[str, Any]:
        """Return the JSON object body, or raise the 400 Graph gives for a bad one."""
        try:
            value = self.req.json()
        except ValueError as err:
            raise bad_request(
                "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
                "BadRequest",
            ) from err
        if not isinstance(value, dict):
            raise bad_request("Empty Payload. JSON content expected.", "BadRequest")
        return value

    def context(self, fragment: str) -> str:
        """Return an absolute ``@odata.context`` URL."""
        return f"{self.graph_url}/$metadata#{fragment}"


def check_guid(value: str) -> str:
    """Return ``value`` when it is a GUID; else raise Graph's invalid-identifier 400."""
    if not GUID.match(value):
        raise bad_request(INVALID_ID_TEXT.format(value))
    return value.lower()


def get_user_obj(call: Call, id_or_upn: str) -> Obj:
    """Return a visible user by id or UPN, or raise 404."""
    user = call.tenant.find_user(id_or_upn)
    if user is None or not call.tenant.visible(user["id"], call.cutoff):
        raise not_found(id_or_upn)
    return user


def get_object(call: Call, object_id: str) -> tuple[str, Obj]:
    """Return (kind, object) of any visible directory object, or raise 404."""
    obj = call.tenant.get(object_id) if call.tenant.visible(object_id, call.cutoff) else None
    if obj is None:
        raise not_found(object_id)
    return call.tenant.kinds[object_id], obj


def render(obj: Obj, kind: str, select: list[str] | None, *, typed: bool = False) -> Obj:
    """Return the JSON of ``obj`` with its default (or selected) properties."""
    if select:
        out = {name: obj.get(name) for name in select}
    else:
        names = DEFAULTS.get(kind)
        if names is None:
            out = {k: v for k, v in obj.items() if not k.startswith("_")}
        else:
            out = {name: obj.get(name) for name in names}
    if typed:
        return {"@odata.type": ODATA_TYPES.get(kind, "#microsoft.graph.directoryObject"), **out}
    return out


def object_ref(value: object) -> str:
    """Return the object id inside an ``@odata.id`` reference URL (any host, any collection)."""
    if not isinstance(value, str) or not value:
        raise bad_request("Invalid request body: '@odata.id' is missing.", "BadRequest")
    path = urlsplit(value).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if "(" in last and last.endswith(")"):
        last = last[last.index("(") + 1 : -1].strip("'")
    return check_guid(last)


def encode_token(data: dict[str, Any]) -> str:
    """Return opaque token text for paging and delta state."""
    return (
        base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )


def decode_token(token: str) -> dict[str, Any]:
    """Return the data inside an opaque token, or raise 400."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError as err:
        raise bad_request("Invalid skip token or delta token.", "BadRequest") from err
    if not isinstance(data, dict):
        raise bad_request("Invalid skip token or delta token.", "BadRequest")
    return data


def link(call: Call, name: str, token: str, drop: tuple[str, ...] = ()) -> str:
    """Return the current URL with ``name=token``, keeping every other original query option."""
    keep = [
        (k, v)
        for k, v in parse_qsl(call.req.raw_query, keep_blank_values=True)
        if k not in {"$skiptoken", "$deltatoken", name, *drop}
    ]
    keep.append((name, token))
    query = urlencode(keep, quote_via=quote, safe="$'(),:")
    return f"{call.graph_url}{quote(call.req.path[len('/v1.0') :])}?{query}"


@dataclass
class Listing:
    """How a collection is listed: its name, type and what it allows."""

    kind: str
    resource: str  # e.g. "User", for error texts
    filterable: set[str] | None = None
    searchable: frozenset[str] = frozenset({"displayName", "description"})
    typed: bool = False
    count_segment: bool = False


def page_size(call: Call) -> int:
    """Return ``$top`` (default 100) or raise Graph's page-size error."""
    text = call.req.query.get("$top")
    if text is None:
        return call.settings.default_page_size
    if not text.isdigit() or not 1 <= int(text) <= call.settings.max_page_size:
        raise bad_request(PAGE_SIZE_TEXT.format(text))
    return int(text)


def _query_rules(
    call: Call, listing: Listing
) -> tuple[odata.Filter | None, odata.Predicate | None]:
    query = call.req.query
    following = "$skiptoken" in query  # headers are not carried to later pages
    if "$skip" in query:
        raise bad_request("'$skip' is not supported by the service.")
    # Without ConsistencyLevel: eventual, Graph ignores $count=true (200, no @odata.count); only
    # the /$count segment is refused (count_response).
    count = query.get("$count", "").lower() == "true"
    search = None
    if "$search" in query:
        if not call.eventual() and not following:
            raise unsupported_query(odata.SEARCH_HEADER_TEXT)
        search = odata.parse_search(query["$search"], set(listing.searchable))
    flt = None
    if "$filter" in query:
        flt = odata.parse_filter(query["$filter"], listing.resource, listing.filterable)
        if flt.advanced and not following and not (call.eventual() and count):
            raise unsupported_query(odata.ADVANCED_QUERY_TEXT.format(flt.advanced[0]))
    return flt, search


def select_list(call: Call, kind: str, *, collection: bool) -> list[str] | None:
    """Return ``$select`` as a list, rejecting properties a collection cannot return (501)."""
    text = call.req.query.get("$select")
    if not text:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if collection and kind == "user" and USER_NOT_IN_COLLECTION.intersection(names):
        raise GraphError(501, "NotImplemented", "This operation target is not yet supported.")
    return names


def list_page(
    call: Call,
    listing: Listing,
    source: Iterable[Obj],
    context: str,
    kind_of: Callable[[Obj], str] | None = None,
    *,
    max_top: int | None = None,
    extend: Callable[[Obj, Obj], None] | None = None,
) -> Response:
    """Return one page of ``source`` with filter, search, select, count and a nextLink applied.

    ``max_top`` caps the page whatever ``$top`` says; ``extend(obj, item)`` adds to each rendered
    item (an ``$expand``).
    """
    flt, search = _query_rules(call, listing)
    top = page_size(call)
    if max_top is not None:
        top = min(top, max_top)
    select = select_list(call, listing.kind, collection=True)
    start = 0
    if "$skiptoken" in call.req.query:
        start = int(decode_token(call.req.query["$skiptoken"]).get("i", 0))
    checks = [p for p in ((flt.predicate if flt else None), search) if p is not None]

    def keep(obj: Obj) -> bool:
        return all(check(obj) for check in checks)

    items: list[Obj] = []
    next_index: int | None = None
    position = start
    for position, obj in enumerate(islice(source, start, None), start):
        if checks and not keep(obj):
            continue
        if len(items) == top:
            next_index = position
            break
        kind = kind_of(obj) if kind_of else listing.kind
        item = render(obj, kind, select, typed=listing.typed)
        if extend is not None:
            extend(obj, item)
        items.append(item)
    payload: dict[str, Any] = {
        "@odata.context": call.context(context + (f"({','.join(select)})" if select else ""))
    }
    if (
        call.req.query.get("$count", "").lower() == "true"
        and call.eventual()
        and "$skiptoken" not in call.req.query
    ):
        payload["@odata.count"] = sum(1 for obj in source if keep(obj))
    if next_index is not None:
        payload["@odata.nextLink"] = link(call, "$skiptoken", encode_token({"i": next_index}))
    payload["value"] = items
    return json_response(200, payload)


def count_response(call: Call, listing: Listing, source: Iterable[Obj]) -> Response:
    """Answer ``.../$count`` (text/plain), which needs ``ConsistencyLevel: eventual``."""
    if not call.eventual():
        raise bad_request("$count is not currently supported.")
    flt, search = _query_rules(call, listing)
    checks = [p for p in ((flt.predicate if flt else None), search) if p is not None]
    total = sum(1 for obj in source if all(check(obj) for check in checks))
    return Response(200, str(total).encode(), {"Content-Type": "text/plain;charset=utf-8"})
