"""``jitgate request …`` and ``jitgate grants``: ask for access, decide, extend, revoke."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from jitgate.cli import names, resolve
from jitgate.cli.client import ApiClient
from jitgate.cli.output import Output, OutputOption, emit, emit_message

request_app = typer.Typer(help="Access requests.", no_args_is_help=True)

REQUEST_COLUMNS = ["id", "status", "grantee.upn", "flow_name", "duration_min", "created_at"]
GRANT_COLUMNS = ["request_id", "status", "who", "what", "until", "why"]
READ_ALL_ROLES = {"admin", "auditor"}


def _request_body(
    *,
    resource: list[str],
    permission: list[str],
    scope: list[str],
    duration: int | None,
    justification: str | None,
    grantee: str | None,
    flow: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource_ids": resource,
        "permissions": permission,
        "scopes": scope,
    }
    optional = {
        "duration_min": duration,
        "justification": justification,
        "grantee": grantee,
        "flow_id": flow,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


ResourceOpt = Annotated[
    list[str], typer.Option("--resource", "-r", help="Resource id, id prefix or name (repeat)")
]
PermissionOpt = Annotated[
    list[str] | None, typer.Option("--permission", "-p", help="member, owner or active (repeat)")
]
ScopeOpt = Annotated[
    list[str] | None, typer.Option("--scope", help="Role scope: / or /administrativeUnits/{id}")
]
DurationOpt = Annotated[int | None, typer.Option("--duration", "-d", help="Minutes", min=1)]
JustOpt = Annotated[str | None, typer.Option("--justification", "-j")]
ForOpt = Annotated[
    str | None, typer.Option("--for", help="Grantee: UPN, mail or id (request for others)")
]
FlowOpt = Annotated[str | None, typer.Option("--flow", help="Access flow id, id prefix or name")]


@request_app.command("create")
def create(
    resource: ResourceOpt,
    permission: PermissionOpt = None,
    scope: ScopeOpt = None,
    duration: DurationOpt = None,
    justification: JustOpt = None,
    grantee: ForOpt = None,
    flow: FlowOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would happen")] = False,
    output: Output = OutputOption,
) -> None:
    """Ask for access to one or more resources."""
    body = _request_body(
        resource=resource,
        permission=permission or ["member"],
        scope=scope or ["/"],
        duration=duration,
        justification=justification,
        grantee=grantee,
        flow=flow,
    )
    client = ApiClient.from_profile()
    body["resource_ids"] = [resolve.resource(client, r) for r in resource]
    if flow is not None:
        body["flow_id"] = resolve.flow(client, flow, mine=True)
    emit(client.post("/requests/dry-run" if dry_run else "/requests", body), output)


@request_app.command("list")
def list_requests(
    scope: Annotated[str, typer.Option(help="mine, approvals or all")] = "mine",
    status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    output: Output = OutputOption,
) -> None:
    """List my requests, those awaiting my approval, or all (admins, auditors)."""
    page = ApiClient.from_profile().get("/requests", scope=scope, status=status)
    emit(page, output, REQUEST_COLUMNS)


@request_app.command("show")
def show(request_id: str, output: Output = OutputOption) -> None:
    """Show a request with its units, approvals and grants."""
    client = ApiClient.from_profile()
    emit(client.get(f"/requests/{resolve.request(client, request_id)}"), output)


def _decide(action: str, request_id: str, reason: str | None, output: Output) -> None:
    body = {"reason": reason} if reason else {}
    client = ApiClient.from_profile()
    emit(client.post(f"/requests/{resolve.request(client, request_id)}/{action}", body), output)


ReasonOpt = Annotated[str | None, typer.Option("--reason", help="Why")]


@request_app.command("approve")
def approve(request_id: str, reason: ReasonOpt = None, output: Output = OutputOption) -> None:
    """Approve a request you are an approver of."""
    _decide("approve", request_id, reason, output)


@request_app.command("reject")
def reject(request_id: str, reason: ReasonOpt = None, output: Output = OutputOption) -> None:
    """Reject a request you are an approver of."""
    _decide("reject", request_id, reason, output)


@request_app.command("cancel")
def cancel(request_id: str, output: Output = OutputOption) -> None:
    """Cancel your own request before it starts."""
    _decide("cancel", request_id, None, output)


@request_app.command("extend")
def extend(request_id: str, output: Output = OutputOption) -> None:
    """Extend active access by the flow's extension length."""
    _decide("extend", request_id, None, output)


@request_app.command("revoke")
def revoke(request_id: str, reason: ReasonOpt = None, output: Output = OutputOption) -> None:
    """End access now."""
    _decide("revoke", request_id, reason, output)


def grants(
    status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    resource: Annotated[
        str | None, typer.Option("--resource", "-r", help="Only this resource (id, prefix, name)")
    ] = None,
    person: Annotated[
        str | None, typer.Option("--person", help="Only this person's (UPN or mail; admins)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="At most this many")] = 50,
    output: Output = OutputOption,
) -> None:
    """Who has what until when, and why: your grants; admins and auditors see everyone's."""
    client = ApiClient.from_profile()
    page = client.get(
        "/grants",
        status=status,
        resource_id=resolve.resource(client, resource) if resource else None,
        identity_id=resolve.person(client, person) if person else None,
        limit=limit,
    )
    if output is Output.JSON:
        emit(page, output)
        return
    everyone = client.get("/me").get("role") in READ_ALL_ROLES
    items = page.get("items", [])
    if not items:
        whose = "" if everyone else " of yours (only admins and auditors see other people's)"
        emit_message(f"no grants{whose}", output)
        return
    shown = f"{len(items)} of {page.get('total', len(items))}"
    whose = "everyone's grants" if everyone else "your grants (admins and auditors see everyone's)"
    rows = names.grant_rows(client, items)
    # a column for what went wrong, only when something did (a refused removal keeps access)
    columns = [*GRANT_COLUMNS, "problem"] if any(r["problem"] for r in rows) else GRANT_COLUMNS
    emit(rows, output, columns, title=f"{whose}: {shown}, times in UTC")


def register(app: typer.Typer) -> None:
    """Attach ``request`` and ``grants``."""
    app.add_typer(request_app, name="request")
    app.command("grants")(grants)
