"""``jitgate standing …``: access found without a grant, and the authoritative allow-list."""

from __future__ import annotations

from typing import Annotated

import typer

from jitgate.cli import resolve
from jitgate.cli.client import ApiClient
from jitgate.cli.output import Output, OutputOption, emit

standing_app = typer.Typer(
    help="Standing memberships (access without a grant) and the allow-list.",
    no_args_is_help=True,
)

COLUMNS = ["id", "resource_id", "principal_id", "permission", "source", "allowed", "removed_at"]


@standing_app.command("list")
def list_standing(
    integration: Annotated[str | None, typer.Option(help="Only this integration id")] = None,
    resource: Annotated[str | None, typer.Option(help="Only this resource id")] = None,
    principal: Annotated[str | None, typer.Option(help="Only this Entra object id")] = None,
    allowed: Annotated[
        bool | None, typer.Option("--allowed/--not-allowed", help="Only rows on / off the list")
    ] = None,
    include_removed: Annotated[
        bool, typer.Option("--all", help="Also rows whose member is gone")
    ] = False,
    output: Output = OutputOption,
) -> None:
    """List standing memberships (admins and auditors)."""
    page = ApiClient.from_profile().get(
        "/standing-memberships",
        integration_id=integration,
        resource_id=resource,
        principal_id=principal,
        allowed=allowed,
        include_removed=include_removed or None,
    )
    emit(page, output, COLUMNS)


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
