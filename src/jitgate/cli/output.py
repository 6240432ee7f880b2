"""Printing results: a rich table for people, JSON for scripts (``--output table|json``).

Tables take the terminal's width (rich's own detection, which honours ``COLUMNS``). Ids are
never cut: an id column shows each id's shortest unique prefix (at least ``MIN_PREFIX``
characters) on one line, and the CLI accepts exactly such prefixes (``jitgate.cli.resolve``);
``-o json`` prints the full ids. Short values (statuses, times) stay on one line and long text
folds; times show in UTC to the minute (``-o json`` has them exact).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

MIN_PREFIX = 8
SHORT = 12  # a column whose cells are all this short stays on one line (and times)
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$")


class Output(StrEnum):
    """How to print results."""

    TABLE = "table"
    JSON = "json"


OutputOption = typer.Option(Output.TABLE, "--output", "-o", help="table or json")


def _when(value: str) -> str:
    """An ISO 8601 time with an offset as ``YYYY-MM-DD HH:MM`` in UTC."""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and TIMESTAMP.match(value):
        return _when(value)
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


def is_id_column(key: str) -> bool:
    """Tell whether a column holds object ids (shown as unique prefixes, never cut)."""
    last = key.rsplit(".", 1)[-1]
    return last == "id" or last.endswith("_id")


def unique_prefixes(ids: list[str]) -> dict[str, str]:
    """Map each id to its shortest prefix (at least ``MIN_PREFIX`` long) no other id shares."""
    result: dict[str, str] = {}
    distinct = sorted(set(ids))
    for value in distinct:
        length = min(MIN_PREFIX, len(value))
        while length < len(value) and any(
            other != value and other.startswith(value[:length]) for other in distinct
        ):
            length += 1
        result[value] = value[:length]
    return result


def _console() -> Console:
    return Console(soft_wrap=False)


def emit_message(message: str, output: Output, **fields: Any) -> None:
    """Print a one-line result: the sentence for people, an object for scripts."""
    if output is Output.JSON:
        typer.echo(json.dumps({"message": message, **fields}, sort_keys=True, default=str))
    else:
        typer.echo(message)


def emit(
    data: Any, output: Output, columns: list[str] | None = None, *, title: str | None = None
) -> None:
    """Print ``data`` (an object, a list, or a page with ``items``); ``title`` heads a table."""
    if output is Output.JSON:
        typer.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    rows = data.get("items", data) if isinstance(data, dict) and "items" in data else data
    console = _console()
    if isinstance(rows, dict):
        table = Table(show_header=False, box=None)
        table.add_column(no_wrap=True)
        table.add_column(overflow="fold")
        for key, value in rows.items():
            table.add_row(key, _cell(value))
        console.print(table)
        return
    if not isinstance(rows, list):
        typer.echo(_cell(rows))
        return
    keys = columns or (sorted(rows[0]) if rows and isinstance(rows[0], dict) else ["value"])
    console.print(_table(rows, keys, title))


def _header(key: str) -> str:
    """A column's heading: the field's name in words (``grantee.upn`` as ``grantee upn``)."""
    return key.replace(".", " ").replace("_", " ")


def _table(rows: list[Any], keys: list[str], title: str | None = None) -> Table:
    cells = [
        [_cell(_get(row, k)) for k in keys] if isinstance(row, dict) else [_cell(row)]
        for row in rows
    ]
    table = Table(title=title, title_justify="left")
    for index, key in enumerate(keys):
        if is_id_column(key):
            column = [line[index] for line in cells if index < len(line)]
            short = unique_prefixes([c for c in column if c])
            for line in cells:
                if index < len(line) and line[index]:
                    line[index] = short[line[index]]
            width = max((len(c) for c in column if c), default=0)
            width = min(width, max((len(v) for v in short.values()), default=0))
            table.add_column(_header(key), no_wrap=True, min_width=width)
        elif all(
            len(line[index]) <= SHORT or TIMESTAMP.match(str(_get(row, key)))
            for row, line in zip(rows, cells, strict=True)
            if index < len(line) and isinstance(row, dict)
        ):
            table.add_column(_header(key), no_wrap=True)
        else:
            table.add_column(_header(key), overflow="fold")
    for line in cells:
        table.add_row(*line)
    return table
