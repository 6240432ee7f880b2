"""Printing results: a rich table for people, JSON for scripts (``--output table|json``)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table


class Output(StrEnum):
    """How to print results."""

    TABLE = "table"
    JSON = "json"


OutputOption = typer.Option(Output.TABLE, "--output", "-o", help="table or json")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _get(row: dict[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def emit(data: Any, output: Output, columns: list[str] | None = None) -> None:
    """Print ``data`` (an object, a list, or a page with ``items``)."""
    if output is Output.JSON:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    rows = data.get("items", data) if isinstance(data, dict) and "items" in data else data
    console = Console(width=160)
    if isinstance(rows, dict):
        table = Table(show_header=False, box=None)
        for key, value in rows.items():
            table.add_row(key, _cell(value))
        console.print(table)
        return
    if not isinstance(rows, list):
        typer.echo(_cell(rows))
        return
    keys = columns or (sorted(rows[0]) if rows and isinstance(rows[0], dict) else ["value"])
    table = Table(*keys)
    for row in rows:
        cells = [_cell(_get(row, k)) for k in keys] if isinstance(row, dict) else [_cell(row)]
        table.add_row(*cells)
    console.print(table)
