"""``jitgate audit …``: verify the hash chain (on the database), list and export (over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jitgate.cli.client import ApiClient
from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine, transaction
from jitgate.cli.output import Output, OutputOption, emit
from jitgate.server.audit.service import verify_chain

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify() -> None:
    """Check the audit hash chain in the database; exit 1 naming the first bad sequence number."""
    engine = open_engine(load_settings())
    try:
        with transaction(engine) as session:
            result = verify_chain(session=session)
    finally:
        engine.dispose()
    if not result.ok:
        raise CliError(
            f"audit chain broken at seq {result.first_bad_seq}: {result.problem}", code=1
        )
    typer.echo(f"audit chain ok: {result.events} events")


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
) -> None:
    """Export audit events as JSON Lines or CSV."""
    if fmt not in {"jsonl", "csv"}:
        raise CliError("--format must be jsonl or csv", code=2)
    text = ApiClient.from_profile().stream_text("/audit/export", format=fmt, action=action)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Attach ``audit``."""
    app.add_typer(audit_app, name="audit")
