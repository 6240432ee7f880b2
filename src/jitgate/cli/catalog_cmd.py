"""``jitgate catalog|connectors|integrations|flows``: admin client commands over the REST API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from jitgate.cli import resolve
from jitgate.cli.client import ApiClient, require_json_object
from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit, emit_message

connectors_app = typer.Typer(help="Connectors (the agents that reach Microsoft Graph).")
integrations_app = typer.Typer(help="Integrations (an Entra tenant through a connector).")
flows_app = typer.Typer(help="Access flows (who may request what, who approves).")

FileOption = typer.Option("--file", "-f", help="A JSON file with the object")
SourceArgument = typer.Argument(help="A JSON file, or - for standard input", show_default=False)
READ_ONLY_FLOW_FIELDS = ("id", "created_at", "updated_at")


def _flow_body(source: Path | None) -> dict[str, Any]:
    """A flow from a file or stdin; the fields the server sets are dropped, with a note."""
    if source is None:
        raise CliError("give a JSON file (or - for standard input)", code=2)
    if str(source) == "-":
        body = require_json_object(sys.stdin.read(), "standard input")
    else:
        body = _body(source, {})
    dropped = [k for k in READ_ONLY_FLOW_FIELDS if body.pop(k, None) is not None]
    if dropped:
        typer.echo(f"note: ignored the read-only field(s) {', '.join(dropped)}", err=True)
    return body


def _body(file: Path | None, fields: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if file is not None:
        try:
            text = file.read_text()
        except OSError as err:
            raise CliError(f"cannot read {file}: {err.strerror}") from err
        body = require_json_object(text, str(file))
    body.update({k: v for k, v in fields.items() if v not in (None, [], ())})
    return body


def catalog(
    integration_type: Annotated[str | None, typer.Argument(help="e.g. entra-id")] = None,
    output: Output = OutputOption,
) -> None:
    """List integration types, or show one type's config metadata."""
    client = ApiClient.from_profile()
    if integration_type:
        emit(client.get(f"/catalog/{integration_type}"), output)
    else:
        emit(client.get("/catalog"), output, ["type", "name", "description"])


@connectors_app.command("list")
def connectors_list(output: Output = OutputOption) -> None:
    """List connectors with their status."""
    emit(ApiClient.from_profile().get("/connectors"), output, ["id", "name", "status"])


@connectors_app.command("show")
def connectors_show(connector_id: str, output: Output = OutputOption) -> None:
    """Show a connector, its instances and its self-check."""
    client = ApiClient.from_profile()
    emit(client.get(f"/connectors/{resolve.connector(client, connector_id)}"), output)


@connectors_app.command("create")
def connectors_create(name: str, output: Output = OutputOption) -> None:
    """Create a connector; its token is printed once."""
    emit(ApiClient.from_profile().post("/connectors", {"name": name}), output)


@connectors_app.command("rotate-token")
def connectors_rotate(connector_id: str, output: Output = OutputOption) -> None:
    """Issue a new connector token (the old one stops working)."""
    client = ApiClient.from_profile()
    emit(client.post(f"/connectors/{resolve.connector(client, connector_id)}/token:rotate"), output)


@connectors_app.command("delete")
def connectors_delete(connector_id: str, output: Output = OutputOption) -> None:
    """Delete a connector no integration uses."""
    client = ApiClient.from_profile()
    found = resolve.connector(client, connector_id)
    client.delete(f"/connectors/{found}")
    emit_message(f"deleted connector {found}", output, id=found)


@integrations_app.command("list")
def integrations_list(output: Output = OutputOption) -> None:
    """List integrations."""
    emit(
        ApiClient.from_profile().get("/integrations"),
        output,
        ["id", "name", "type", "status", "resource_types", "last_sync_at"],
    )


@integrations_app.command("show")
def integrations_show(integration_id: str, output: Output = OutputOption) -> None:
    """Show an integration."""
    client = ApiClient.from_profile()
    emit(client.get(f"/integrations/{resolve.integration(client, integration_id)}"), output)


@integrations_app.command("create")
def integrations_create(
    name: Annotated[str | None, typer.Option(help="Unique, user-friendly name")] = None,
    connector: Annotated[str | None, typer.Option(help="Connector id")] = None,
    resource_type: Annotated[
        list[str] | None, typer.Option("--resource-type", help="entra-group / entra-role")
    ] = None,
    file: Annotated[Path | None, FileOption] = None,
    output: Output = OutputOption,
) -> None:
    """Create an entra-id integration (options, or a JSON file for every setting)."""
    client = ApiClient.from_profile()
    found = resolve.connector(client, connector) if connector else None
    body = _body(file, {"name": name, "connector_id": found, "resource_types": resource_type or []})
    body.setdefault("type", "entra-id")
    emit(client.post("/integrations", body), output)


@integrations_app.command("update")
def integrations_update(
    integration_id: str,
    file: Annotated[Path, FileOption],
    output: Output = OutputOption,
) -> None:
    """Change an integration's settings from a JSON file (only the keys given)."""
    client = ApiClient.from_profile()
    path = f"/integrations/{resolve.integration(client, integration_id)}"
    emit(client.patch(path, _body(file, {})), output)


@integrations_app.command("delete")
def integrations_delete(integration_id: str, output: Output = OutputOption) -> None:
    """Delete an integration with no live access."""
    client = ApiClient.from_profile()
    found = resolve.integration(client, integration_id)
    client.delete(f"/integrations/{found}")
    emit_message(f"deleted integration {found}", output, id=found)


@integrations_app.command("refresh")
def integrations_refresh(integration_id: str, output: Output = OutputOption) -> None:
    """Queue a discovery of the integration's resources."""
    client = ApiClient.from_profile()
    path = f"/integrations/{resolve.integration(client, integration_id)}/refresh"
    emit(client.post(path), output)


@integrations_app.command("as-code")
def integrations_as_code(
    integration_id: str,
    fmt: Annotated[str, typer.Option("--format", help="hcl or json (Terraform)")] = "hcl",
    output: Output = OutputOption,
) -> None:
    """Show an integration as a Terraform ``jitgate_integration`` resource."""
    if fmt not in {"hcl", "json"}:
        raise CliError("--format must be hcl or json", code=2)
    client = ApiClient.from_profile()
    code = client.get(f"/integrations/{resolve.integration(client, integration_id)}/as-code")
    if output is Output.JSON:
        emit(code, output)
    elif fmt == "hcl":
        typer.echo(code["hcl"], nl=not str(code["hcl"]).endswith("\n"))
    else:
        emit(code["terraform_json"], Output.JSON)


@integrations_app.command("resources")
def integrations_resources(
    integration_id: str,
    search: Annotated[str | None, typer.Option(help="Name contains")] = None,
    resource_type: Annotated[str | None, typer.Option("--type", help="Resource type")] = None,
    tag: Annotated[str | None, typer.Option(help="key=value")] = None,
    output: Output = OutputOption,
) -> None:
    """List an integration's discovered resources."""
    client = ApiClient.from_profile()
    page = client.get(
        f"/integrations/{resolve.integration(client, integration_id)}/resources",
        search=search,
        type=resource_type,
        tag=tag,
    )
    emit(page, output, ["id", "type", "name", "external_id", "tags"])


@flows_app.command("list")
def flows_list(output: Output = OutputOption) -> None:
    """List access flows."""
    emit(ApiClient.from_profile().get("/flows"), output, ["id", "name", "trigger", "active"])


@flows_app.command("show")
def flows_show(flow_id: str, output: Output = OutputOption) -> None:
    """Show an access flow."""
    client = ApiClient.from_profile()
    emit(client.get(f"/flows/{resolve.flow(client, flow_id)}"), output)


@flows_app.command("create")
def flows_create(
    source: Annotated[Path | None, SourceArgument] = None,
    file: Annotated[Path | None, FileOption] = None,
    name: Annotated[
        str | None, typer.Option(help="Name it this (a copy needs a name of its own)")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Create an access flow from a JSON file, or ``-`` for stdin (``flows show -o json``)."""
    body = _flow_body(source or file)
    if name is not None:
        body["name"] = name
    emit(ApiClient.from_profile().post("/flows", body), output)


@flows_app.command("update")
def flows_update(
    flow_id: str,
    source: Annotated[Path | None, SourceArgument] = None,
    file: Annotated[Path | None, FileOption] = None,
    output: Output = OutputOption,
) -> None:
    """Replace an access flow's settings from a JSON file, or ``-`` for standard input."""
    client = ApiClient.from_profile()
    emit(client.put(f"/flows/{resolve.flow(client, flow_id)}", _flow_body(source or file)), output)


@flows_app.command("delete")
def flows_delete(flow_id: str, output: Output = OutputOption) -> None:
    """Delete an access flow."""
    client = ApiClient.from_profile()
    found = resolve.flow(client, flow_id)
    client.delete(f"/flows/{found}")
    emit_message(f"deleted flow {found}", output, id=found)


def register(app: typer.Typer) -> None:
    """Attach ``catalog``, ``connectors``, ``integrations`` and ``flows``."""
    app.command("catalog")(catalog)
    app.add_typer(connectors_app, name="connectors", no_args_is_help=True)
    app.add_typer(integrations_app, name="integrations", no_args_is_help=True)
    app.add_typer(flows_app, name="flows", no_args_is_help=True)
