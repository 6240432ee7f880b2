"""``jitgate audit …``: verify the hash chain, list and export; all over the API (the profile)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jitgate.cli.client import ApiClient
from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit, emit_message

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(output: Output = OutputOption) -> None:
    """Have the server check the audit hash chain; exit 1 naming the first bad sequence number."""
    result = ApiClient.from_profile().get("/audit/verify")
    if not result.get("ok"):
        raise CliError(
            f"audit chain broken at seq {result.get('first_bad_seq')}: {result.get('problem')}",
            code=1,
        )
    emit_message(f"audit chain ok: {result.get('events')} events", output, **result)


@audit_app.command("list")
def list_events(
    action: Annotated[str | None, typer.Option(help="Only this action")] = None,
    target_id: Annotated[str | None, typer.Option(help="Only events about this object")] = None,
    after_seq: Annotated[int, typer.Option(min=0, help="Start after this sequence number")] = 0,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    output: Output = OutputOption,
) -> None:
    """List audit events (admins and auditors)."""
    page = ApiClient.from_profile().get(
        "/audit/events", action=action, target_id=target_id, after_seq=after_seq, limit=limit
    )
    emit(page, output, ["seq", "at", "actor_name", "source", "action", "target_type", "target_id"])


@audit_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action")] = None,
    output: Output = OutputOption,
) -> None:
    """Export audit events as JSON Lines or CSV (``--output`` shapes the note about ``--out``)."""
    if fmt not in {"jsonl", "csv"}:
        raise CliError("--format must be jsonl or csv", code=2)
    text = ApiClient.from_profile().stream_text("/audit/export", format=fmt, action=action)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        emit_message(f"wrote {out}", output, path=str(out))


def register(app: typer.Typer) -> None:
    """Attach ``audit``."""
    app.add_typer(audit_app, name="audit")
