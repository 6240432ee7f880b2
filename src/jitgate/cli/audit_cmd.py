"""``jitgate audit …``: verify, list and export over the API; checkpoint and rotate-key locally.

``checkpoint`` and ``rotate-key`` work on the server's own data directory (the key file is never
sent anywhere), so they run on the server's host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from jitgate.cli.client import ApiClient
from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine, transaction
from jitgate.cli.output import Output, OutputOption, emit, emit_message
from jitgate.core.clock import SystemClock
from jitgate.server.audit.checkpoints import checkpoint_record, parse_checkpoints
from jitgate.server.audit.keys import AuditKeyError, rotate_ring
from jitgate.server.audit.operations import write_checkpoint

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


def _read_checkpoints(values: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in values:
        text = value
        if not value.lstrip().startswith(("{", "[")):
            try:
                text = Path(value).read_text()
            except OSError as err:
                raise CliError(f"--checkpoint {value}: {err.strerror}", code=2) from err
        try:
            found.extend(parse_checkpoints(text))
        except ValueError as err:
            raise CliError(f"--checkpoint {value[:60]}: {err}", code=2) from err
    return found


@audit_app.command("verify")
def verify(
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            help="A checkpoint kept outside the database: JSON, or a file (JSON, an API page, "
            "or JSON log lines); repeatable",
        ),
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Have the server check the audit chain; exit 1 naming the first bad sequence number."""
    external = _read_checkpoints(checkpoint or [])
    client = ApiClient.from_profile()
    if external:
        result = client.post("/audit/verify", {"checkpoints": external})
    else:
        result = client.get("/audit/verify")
    if not result.get("ok"):
        bad = result.get("first_bad_seq")
        where = f" at seq {bad}" if bad else ""
        raise CliError(f"audit chain broken{where}: {result.get('problem')}", code=1)
    legacy = f", {result['legacy_seq']} legacy (unkeyed)" if result.get("legacy_seq") else ""
    message = (
        f"audit chain ok: {result.get('events')} events{legacy}, "
        f"{result.get('checkpoints')} checkpoints"
    )
    emit_message(message, output, **result)


@audit_app.command("checkpoint")
def checkpoint(output: Output = OutputOption) -> None:
    """Sign and store a checkpoint of the chain's head now, and print it (keep a copy)."""
    engine = open_engine(load_settings())
    try:
        with transaction(engine) as session:
            made = write_checkpoint(session=session, clock=SystemClock())
            record = checkpoint_record(made) if made else None
    finally:
        engine.dispose()
    if record is None:
        raise CliError("the audit log is empty: nothing to checkpoint", code=1)
    emit_message(json.dumps(record, sort_keys=True), output, **record)


@audit_app.command("rotate-key")
def rotate_key(output: Output = OutputOption) -> None:
    """Add a new audit key and make it the active one (old keys stay, old events verify)."""
    try:
        key_id = rotate_ring(load_settings())
    except AuditKeyError as err:
        raise CliError(err.detail) from err
    message = f"audit key {key_id} is now active; restart the server to sign with it"
    emit_message(message, output, key_id=key_id)


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
