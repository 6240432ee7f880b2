"""``jitgate login`` and ``jitgate whoami``: the saved client profile."""

from __future__ import annotations

from typing import Annotated

import typer

from jitgate.cli.client import ApiClient
from jitgate.cli.output import Output, OutputOption, emit, emit_message
from jitgate.cli.profile import Profile, save_profile


def login(
    url: Annotated[str, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080")],
    token: Annotated[str, typer.Option(help="An API token (jg_at_…)")],
    output: Output = OutputOption,
) -> None:
    """Check the token against the server and save the profile."""
    profile = Profile(url=url.rstrip("/"), token=token)
    me = ApiClient(profile).get("/me")
    path = save_profile(profile)
    message = f"logged in as {me['upn']} ({me['role']}); profile saved to {path}"
    emit_message(message, output, upn=me["upn"], role=me["role"], profile=str(path))


def whoami(output: Output = OutputOption) -> None:
    """Show who the saved token belongs to."""
    emit(ApiClient.from_profile().get("/me"), output)


def register(app: typer.Typer) -> None:
    """Attach ``login`` and ``whoami``."""
    app.command("login")(login)
    app.command("whoami")(whoami)
