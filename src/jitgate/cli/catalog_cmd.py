"""``jitgate catalog|connectors|integrations|flows``: admin client commands over the REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jitgate.cli.client import ApiClient, require_json_object
from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit

connectors_app = typer.Typer(help="Connectors (the agents that reach Microsoft Graph).")
integrations_app = typer.Typer(help="Integrations (an Entra tenant through a connector).")
flows_app = typer.Typer(help="Access flows (who may request what, who approves).")

FileOption = typer.Option("--file", "-f", help="A JSON file with the object")


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
    emit(ApiClient.from_profile().get(f"/connectors/{connector_id}"), output)


@connectors_app.command("create")
def connectors_create(name: str, output: Output = OutputOption) -> None:
    """Create a connector; its token is printed once."""
    emit(ApiClient.from_profile().post("/connectors", {"name": name}), output)


@connectors_app.command("rotate-token")
def connectors_rotate(connector_id: str, output: Output = OutputOption) -> None:
    """Issue a new connector token (the old one stops working)."""
    emit(ApiClient.from_profile().post(f"/connectors/{connector_id}/token:rotate"), output)


@connectors_app.command("delete")
def connectors_delete(connector_id: str) -> None:
    """Delete a connector no integration uses."""
    ApiClient.from_profile().delete(f"/connectors/{connector_id}")
    typer.echo(f"deleted connector {connector_id}")


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
    emit(ApiClient.from_profile().get(f"/integrations/{integration_id}"), output)


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
    body = _body(
        file, {"name": name, "connector_id": connector, "resource_types": resource_type or []}
    )
    body.setdefault("type", "entra-id")
    emit(ApiClient.from_profile().post("/integrations", body), output)


@integrations_app.command("update")
def integrations_update(
    integration_id: str,
    file: Annotated[Path, FileOption],
    output: Output = OutputOption,
) -> None:
    """Change an integration's settings from a JSON file (only the keys given)."""
    emit(ApiClient.from_profile().patch(f"/integrations/{integration_id}", _body(file, {})), output)


@integrations_app.command("delete")
def integrations_delete(integration_id: str) -> None:
    """Delete an integration with no live access."""
    ApiClient.from_profile().delete(f"/integrations/{integration_id}")
    typer.echo(f"deleted integration {integration_id}")


@integrations_app.command("refresh")
def integrations_refresh(integration_id: str, output: Output = OutputOption) -> None:
    """Queue a discovery of the integration's resources."""
    emit(ApiClient.from_profile().post(f"/integrations/{integration_id}/refresh"), output)


@integrations_app.command("resources")
def integrations_resources(
    integration_id: str,
    search: Annotated[str | None, typer.Option(help="Name contains")] = None,
    resource_type: Annotated[str | None, typer.Option("--type", help="Resource type")] = None,
    tag: Annotated[str | None, typer.Option(help="key=value")] = None,
    output: Output = OutputOption,
) -> None:
    """List an integration's discovered resources."""
    page = ApiClient.from_profile().get(
        f"/integrations/{integration_id}/resources", search=search, type=resource_type, tag=tag
    )
    emit(page, output, ["id", "type", "name", "external_id", "tags"])


@flows_app.command("list")
def flows_list(output: Output = OutputOption) -> None:
    """List access flows."""
    emit(ApiClient.from_profile().get("/flows"), output, ["id", "name", "trigger", "active"])


@flows_app.command("show")
def flows_show(flow_id: str, output: Output = OutputOption) -> None:
    """Show an access flow."""
    emit(ApiClient.from_profile().get(f"/flows/{flow_id}"), output)


@flows_app.command("create")
def flows_create(file: Annotated[Path, FileOption], output: Output = OutputOption) -> None:
    """Create an access flow from a JSON file."""
    emit(ApiClient.from_profile().post("/flows", _body(file, {})), output)


@flows_app.command("update")
def flows_update(
    flow_id: str, file: Annotated[Path, FileOption], output: Output = OutputOption
) -> None:
    """Replace an access flow's settings from a JSON file."""
    emit(ApiClient.from_profile().put(f"/flows/{flow_id}", _body(file, {})), output)


@flows_app.command("delete")
def flows_delete(flow_id: str) -> None:
    """Delete an access flow."""
    ApiClient.from_profile().delete(f"/flows/{flow_id}")
    typer.echo(f"deleted flow {flow_id}")


def register(app: typer.Typer) -> None:
    """Attach ``catalog``, ``connectors``, ``integrations`` and ``flows``."""
    app.command("catalog")(catalog)
    app.add_typer(connectors_app, name="connectors", no_args_is_help=True)
    app.add_typer(integrations_app, name="integrations", no_args_is_help=True)
    app.add_typer(flows_app, name="flows", no_args_is_help=True)
