"""``jitgate standing …``: access found without a grant, and the authoritative allow-list."""

from __future__ import annotations

from typing import Annotated

import typer

from jitgate.cli import names, resolve
from jitgate.cli.client import ApiClient
from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit, emit_message

standing_app = typer.Typer(
    help="Standing memberships (access without a grant) and the allow-list.",
    no_args_is_help=True,
)

COLUMNS = ["id", "resource", "member", "integration", "source", "allowed"]


@standing_app.command("list")
def list_standing(
    integration: Annotated[
        str | None, typer.Option(help="Only this integration (id, id prefix or name)")
    ] = None,
    resource: Annotated[
        str | None, typer.Option(help="Only this resource (id, id prefix or name)")
    ] = None,
    principal: Annotated[
        str | None, typer.Option(help="Only this member (Entra object id, UPN or mail)")
    ] = None,
    allowed: Annotated[
        bool | None, typer.Option("--allowed/--not-allowed", help="Only rows on / off the list")
    ] = None,
    include_removed: Annotated[
        bool, typer.Option("--all", help="Also rows whose member is gone")
    ] = False,
    output: Output = OutputOption,
) -> None:
    """List standing memberships with the resource and member named (admins and auditors)."""
    client = ApiClient.from_profile()
    page = client.get(
        "/standing-memberships",
        integration_id=resolve.integration(client, integration) if integration else None,
        resource_id=resolve.resource(client, resource) if resource else None,
        principal_id=_principal(client, principal) if principal else None,
        allowed=allowed,
        include_removed=include_removed or None,
    )
    if output is Output.JSON:
        emit(page, output)
        return
    items = page.get("items", [])
    if not items:
        emit_message("no standing memberships", output)
        return
    title = f"standing memberships: {len(items)} of {page.get('total', len(items))}"
    columns = [*COLUMNS, "removed_at"] if include_removed else COLUMNS
    emit(names.standing_rows(client, items), output, columns, title=title)


def _principal(client: ApiClient, ref: str) -> str:
    """An Entra object id as given, or the object id of the person with that UPN or mail."""
    if resolve.FULL_ID.match(ref):
        return ref
    person = client.get(f"/identities/{ref}")
    if not person.get("object_id"):
        raise CliError(f"{ref} is not synced from Entra: no standing membership can name them")
    return str(person["object_id"])


@standing_app.command("allow")
def allow(standing_id: str, output: Output = OutputOption) -> None:
    """Put a standing membership on the allow-list: an authoritative integration keeps it."""
    _set_allowed(standing_id, allowed=True, output=output)


@standing_app.command("disallow")
def disallow(standing_id: str, output: Output = OutputOption) -> None:
    """Take a standing membership off the allow-list: an authoritative integration removes it."""
    _set_allowed(standing_id, allowed=False, output=output)


def _set_allowed(ref: str, *, allowed: bool, output: Output) -> None:
    client = ApiClient.from_profile()
    path = f"/standing-memberships/{resolve.standing(client, ref)}"
    emit(client.patch(path, {"allowed": allowed}), output)


def register(app: typer.Typer) -> None:
    """Attach ``standing``."""
    app.add_typer(standing_app, name="standing")
