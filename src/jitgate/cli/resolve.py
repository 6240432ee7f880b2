"""Turning what a person types into an object id: a full id, a unique id prefix, or a name.

Tables show ids as their shortest unique prefix (``jitgate.cli.output``); every command that
takes an id accepts such a prefix (``MIN_PREFIX`` characters at least, so a slip of the keyboard
does not pick some object), or the object's name (integrations, connectors, flows,
resources), or a person's UPN or mail. A reference that fits several objects is refused with
the candidates listed; nothing is sent to the server until the reference is unambiguous.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from jitgate.cli.errors import ApiError, CliError
from jitgate.cli.output import MIN_PREFIX

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from jitgate.cli.client import ApiClient

HEXISH = re.compile(r"^[0-9a-fA-F-]+$")
FULL_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PAGE = 500
NOT_FOUND = 404
MAX_CANDIDATES = 5


def pick(
    ref: str,
    objects: Iterable[dict[str, Any]],
    kind: str,
    names: tuple[str, ...],
    ids: tuple[str, ...] = ("id",),
) -> str:
    """The id of the one object whose id starts with ``ref`` or whose name is ``ref``.

    ``ids`` are the fields a table shows as id prefixes (a resource's Entra object id too).
    """
    wanted = ref.strip()
    if not wanted:
        raise CliError(f"give a {kind} id, id prefix or name", code=2)
    rows = list(objects)
    exact = [r for r in rows if r.get("id") == wanted]
    if exact:
        return str(exact[0]["id"])
    folded = wanted.casefold()
    named = [r for r in rows if any(str(r.get(n) or "").casefold() == folded for n in names)]
    found = named
    if not found and len(wanted) >= MIN_PREFIX:
        prefix = wanted.lower()
        found = [r for r in rows if any(str(r.get(k) or "").startswith(prefix) for k in ids)]
    if not found:
        short = ""
        if len(wanted) < MIN_PREFIX and HEXISH.match(wanted):
            short = f" (an id prefix has at least {MIN_PREFIX} characters)"
        raise CliError(f"no {kind} with the id, id prefix or name {ref!r}{short}")
    if len(found) > 1:
        listed = ", ".join(_label(r, names) for r in found[:MAX_CANDIDATES])
        more = f" and {len(found) - MAX_CANDIDATES} more" if len(found) > MAX_CANDIDATES else ""
        raise CliError(f"{ref!r} fits {len(found)} {kind}s: {listed}{more}; give more of the id")
    return str(found[0]["id"])


def _label(row: dict[str, Any], names: tuple[str, ...]) -> str:
    name = next((row[n] for n in names if row.get(n)), None)
    return f"{row['id']} ({name})" if name else str(row["id"])


def pages(client: ApiClient, path: str, **params: str | bool) -> Iterator[dict[str, Any]]:
    """Every item of a paged list route, page by page."""
    offset = 0
    while True:
        page = client.get(path, limit=PAGE, offset=offset, **params)
        items = page.get("items", []) if isinstance(page, dict) else page
        yield from items
        if not isinstance(page, dict) or offset + len(items) >= int(page.get("total", 0)):
            return
        offset += len(items)


def integration(client: ApiClient, ref: str) -> str:
    """An integration by id, prefix or name."""
    if FULL_ID.match(ref):
        return ref
    return pick(ref, client.get("/integrations"), "integration", ("name",))


def connector(client: ApiClient, ref: str) -> str:
    """A connector by id, prefix or name."""
    if FULL_ID.match(ref):
        return ref
    return pick(ref, client.get("/connectors"), "connector", ("name",))


def flow(client: ApiClient, ref: str, *, mine: bool = False) -> str:
    """An access flow by id, prefix or name (``mine``: among those I may request under)."""
    if FULL_ID.match(ref):
        return ref
    return pick(ref, client.get("/flows/available" if mine else "/flows"), "flow", ("name",))


def resource(client: ApiClient, ref: str) -> str:
    """A resource by id, prefix, name or Entra object id, across every integration.

    A name is looked for with the server's name search; an id, prefix or object id (which is a
    GUID like a resource id) among every resource.
    """
    wanted = ref.strip()
    search = {} if HEXISH.match(wanted) else {"search": wanted}
    rows: list[dict[str, Any]] = []
    for item in client.get("/integrations"):
        rows.extend(pages(client, f"/integrations/{item['id']}/resources", **search))
    if any(r.get("id") == wanted for r in rows):
        return wanted
    by_external = [r for r in rows if r.get("external_id") == wanted]
    if len(by_external) == 1:
        return str(by_external[0]["id"])
    return pick(ref, rows, "resource", ("name",), ("id", "external_id"))


def person(client: ApiClient, ref: str) -> str:
    """A person by id, id prefix, UPN, mail or Entra object id.

    The server resolves all but a prefix; a prefix is looked for among everyone listed.
    """
    wanted = ref.strip()
    try:
        return str(client.get(f"/identities/{wanted}")["id"])
    except ApiError as err:
        if err.status != NOT_FOUND or not HEXISH.match(wanted) or len(wanted) < MIN_PREFIX:
            raise
    return pick(wanted, pages(client, "/identities"), "person", ("upn", "mail"))


def request(client: ApiClient, ref: str) -> str:
    """An access request by id or id prefix (mine, awaiting me, then every one I may see)."""
    if FULL_ID.match(ref):
        return ref
    rows = {r["id"]: r for r in pages(client, "/requests", scope="mine")}
    rows.update({r["id"]: r for r in pages(client, "/requests", scope="approvals")})
    if client.get("/me").get("role") in {"admin", "auditor"}:
        rows.update({r["id"]: r for r in pages(client, "/requests", scope="all")})
    return pick(ref, rows.values(), "request", ())


def standing(client: ApiClient, ref: str) -> str:
    """A standing membership by id or id prefix."""
    if FULL_ID.match(ref):
        return ref
    return pick(
        ref,
        pages(client, "/standing-memberships", include_removed=True),
        "standing membership",
        (),
    )


def token(client: ApiClient, ref: str) -> str:
    """One of my API tokens by id, id prefix or name."""
    if FULL_ID.match(ref):
        return ref
    return pick(ref, client.get("/tokens"), "token", ("name",))
