"""``jitgate available``, ``jitgate people …`` and ``jitgate tokens …`` over the REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jitgate.cli import resolve
from jitgate.cli.client import ApiClient
from jitgate.cli.output import Output, OutputOption, emit
from jitgate.server.actor import UserRole

people_app = typer.Typer(help="People known to jitgate and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="My API tokens.", no_args_is_help=True)


def _offer(flow: dict[str, Any]) -> dict[str, Any]:
    targets = [
        f"{t.get('resource_type')} ({', '.join(t.get('permissions', []))})"
        for t in flow.get("targets", [])
    ]
    return {
        "id": flow["id"],
        "name": flow["name"],
        "targets": targets,
        "approval": "approvers decide" if flow.get("needs_approval") else "automatic",
        "default_min": flow.get("default_duration_min"),
        "max_min": flow.get("max_duration_min"),
    }


def available(output: Output = OutputOption) -> None:
    """What I may request: each flow I am a requestor of, with its targets and limits."""
    flows = ApiClient.from_profile().get("/flows/available")
    if output is Output.JSON:
        emit(flows, output)
        return
    emit([_offer(f) for f in flows], output, list(_offer({"id": "", "name": ""})))


@people_app.command("list")
def people_list(
    search: Annotated[str | None, typer.Option(help="UPN, mail or name contains")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    output: Output = OutputOption,
) -> None:
    """List people (search by UPN, mail or display name)."""
    page = ApiClient.from_profile().get("/identities", search=search, limit=limit)
    emit(page, output, ["id", "upn", "display_name", "role", "source", "account_enabled"])


@people_app.command("show")
def people_show(person: str, output: Output = OutputOption) -> None:
    """Show a person by id, id prefix, UPN, mail or Entra object id."""
    client = ApiClient.from_profile()
    emit(client.get(f"/identities/{resolve.person(client, person)}"), output)


@people_app.command("role")
def people_role(
    person: str,
    role: Annotated[UserRole, typer.Argument(help="admin, auditor or user")],
    output: Output = OutputOption,
) -> None:
    """Set a person's jitgate role (admins)."""
    client = ApiClient.from_profile()
    found = resolve.person(client, person)
    emit(client.put(f"/identities/{found}/role", {"role": role.value}), output)


@tokens_app.command("list")
def tokens_list(output: Output = OutputOption) -> None:
    """List my API tokens (never their secrets)."""
    emit(
        ApiClient.from_profile().get("/tokens"),
        output,
        ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"],
    )


@tokens_app.command("create")
def tokens_create(
    name: str,
    expires_in_days: Annotated[int, typer.Option(min=1, max=3650)] = 90,
    output: Output = OutputOption,
) -> None:
    """Create an API token for myself; its secret is printed this once."""
    body = {"name": name, "expires_in_days": expires_in_days}
    emit(ApiClient.from_profile().post("/tokens", body), output)


@tokens_app.command("revoke")
def tokens_revoke(token_id: str, output: Output = OutputOption) -> None:
    """Revoke one of my API tokens (by id, id prefix or name)."""
    client = ApiClient.from_profile()
    emit(client.delete(f"/tokens/{resolve.token(client, token_id)}"), output)


def register(app: typer.Typer) -> None:
    """Attach ``available``, ``people`` and ``tokens``."""
    app.command("available")(available)
    app.add_typer(people_app, name="people")
    app.add_typer(tokens_app, name="tokens")
