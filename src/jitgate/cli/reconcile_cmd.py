"""``jitgate reconcile``, ``jitgate sync`` and ``jitgate drift``: the reconciler jobs, by hand.

They work on the database directly, like the server's loop, and take the same locks; each has
``--dry-run`` (plan and print, then roll back).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from sqlalchemy import select

from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine
from jitgate.cli.output import Output, OutputOption, emit_message
from jitgate.core.clock import SystemClock
from jitgate.core.db import make_session_factory
from jitgate.server.integrations.models import Integration
from jitgate.server.integrations.sync import enqueue_discovery
from jitgate.server.reconciler.drift import schedule_drift_reads
from jitgate.server.reconciler.tick import ReconcilerConfig, run_tick
from jitgate.server.requests.integration_uses import INTEGRATION_USES

DryRun = Annotated[bool, typer.Option("--dry-run", help="Plan and print; change nothing.")]


def reconcile(dry_run: DryRun = False, output: Output = OutputOption) -> None:
    """Run one reconciler tick: start due grants, expire ended ones, queue Graph jobs."""
    settings = load_settings()
    engine = open_engine(settings)
    try:
        config = ReconcilerConfig.from_settings(settings)
        report = run_tick(
            sessions=make_session_factory(engine),
            clock=SystemClock(),
            config=config,
            dry_run=dry_run,
        )
    finally:
        engine.dispose()
    lines = report.lines()
    summary = f"{'dry run: ' if dry_run else ''}{len(report.applied)} action(s)"
    if output is Output.JSON:
        emit_message(summary, output, actions=lines, dry_run=dry_run)
        return
    for line in lines:
        typer.echo(line)
    typer.echo(summary)


def sync(
    integration: Annotated[str | None, typer.Option(help="Only this integration id")] = None,
    full: Annotated[bool, typer.Option("--full", help="A full run, not a delta run")] = False,
    dry_run: DryRun = False,
    output: Output = OutputOption,
) -> None:
    """Queue discovery (resources and identities) for one or every integration now."""
    engine = open_engine(load_settings())
    session = make_session_factory(engine)()
    try:
        query = (
            select(Integration).where(Integration.deleted_at.is_(None)).order_by(Integration.name)
        )
        if integration is not None:
            query = query.where(Integration.id == integration)
        rows = session.scalars(query).all()
        if integration is not None and not rows:
            raise CliError(f"no integration {integration!r}", code=1)
        for row in rows:
            job = enqueue_discovery(
                uses=INTEGRATION_USES,
                session=session,
                clock=SystemClock(),
                integration=row,
                full=full,
            )
            state = (
                f"discover job {job.id} ({job.payload.get('mode')})" if job else "already queued"
            )
            emit_message(f"{row.name}: {state}", output, integration=row.id, state=state)
        if dry_run:
            session.rollback()
            emit_message("dry run: nothing queued", output, dry_run=True)
        else:
            session.commit()
    finally:
        session.close()
        engine.dispose()


def drift(dry_run: DryRun = False, output: Output = OutputOption) -> None:
    """Queue membership reads of every managed resource now (drift detection)."""
    engine = open_engine(load_settings())
    session = make_session_factory(engine)()
    try:
        jobs = schedule_drift_reads(session=session, clock=SystemClock(), interval=timedelta(0))
        message = f"{len(jobs)} read membership job(s){' (dry run)' if dry_run else ''}"
        emit_message(message, output, jobs=len(jobs), dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    finally:
        session.close()
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Attach ``reconcile``, ``sync`` and ``drift``."""
    app.command("reconcile")(reconcile)
    app.command("sync")(sync)
    app.command("drift")(drift)
