"""``jitgate db …`` and ``jitgate admin …``: database migrations and bootstrap tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings, open_engine, transaction
from jitgate.cli.output import Output, OutputOption, emit_message
from jitgate.core.clock import SystemClock
from jitgate.core.migrate import upgrade
from jitgate.server.actor import Actor, Source, UserRole
from jitgate.server.identities.operations import bootstrap_token

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
admin_app = typer.Typer(help="Server-side administration.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(output: Output = OutputOption) -> None:
    """Create or migrate the database to the newest schema."""
    settings = load_settings()
    engine = open_engine(settings, require_current=False)
    try:
        upgrade(engine)
    except SQLAlchemyError as err:
        raise CliError(f"migration failed: {err.__class__.__name__}: {err.args[0]}") from err
    finally:
        engine.dispose()
    url = engine.url.render_as_string()
    emit_message(f"database is at the newest schema ({url})", output, database=url)


@admin_app.command("create-token")
def create_token(
    user: Annotated[str, typer.Option("--user", help="UPN or mail of the person")],
    role: Annotated[UserRole, typer.Option("--role", help="admin, auditor or user")] = (
        UserRole.USER
    ),
    name: Annotated[str, typer.Option("--name", help="A label for the token")] = "bootstrap",
    expires_in_days: Annotated[int, typer.Option("--expires-in-days", min=1, max=3650)] = 90,
    output: Output = OutputOption,
) -> None:
    """Create (or update) a person with a role and print a new API token for them."""
    settings = load_settings()
    engine = open_engine(settings)
    actor = Actor(identity_id=None, name="cli:admin", role=UserRole.ADMIN, source=Source.CLI)
    try:
        with transaction(engine) as session:
            secret = bootstrap_token(
                session=session,
                clock=SystemClock(),
                actor=actor,
                upn=user,
                role=role,
                name=name,
                expires_in_days=expires_in_days,
            )
    finally:
        engine.dispose()
    if output is Output.JSON:
        emit_message("token created", output, token=secret, user=user)
    else:
        typer.echo(secret)


def register(app: typer.Typer) -> None:
    """Attach ``db`` and ``admin``."""
    app.add_typer(db_app, name="db")
    app.add_typer(admin_app, name="admin")
