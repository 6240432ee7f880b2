"""``jitgate login`` and ``jitgate whoami``: the saved client profile."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer

from jitgate.cli import browser_login
from jitgate.cli.client import ApiClient
from jitgate.cli.errors import CliError
from jitgate.cli.output import Output, OutputOption, emit, emit_message
from jitgate.cli.profile import Profile, save_profile


def _say(line: str) -> None:
    typer.echo(line, err=True)  # progress on stderr; the result (or --output json) on stdout


def login(
    url: Annotated[str, typer.Option(help="Server URL, e.g. http://127.0.0.1:8080")],
    token: Annotated[str | None, typer.Option(help="An API token (jg_at_…)")] = None,
    browser: Annotated[
        bool,
        typer.Option("--browser", help="Sign in through Entra ID in the browser instead."),
    ] = False,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            envvar="JITGATE_CA_BUNDLE",
            help="Extra CA for the sign-in host (a private authority or the demo emulator).",
        ),
    ] = None,
    open_browser: Annotated[
        bool,
        typer.Option("--open/--no-open", help="Open the sign-in page in the default browser."),
    ] = True,
    output: Output = OutputOption,
) -> None:
    """Save the profile: check an API token, or sign in through Entra ID (--browser)."""
    url = url.rstrip("/")
    if browser == (token is not None):
        raise CliError("give either --token or --browser")
    if token is None:
        config = browser_login.fetch_config(url)
        id_token = browser_login.sign_in(
            config,
            ca_bundle=ca_bundle,
            open_url=_open if open_browser else _no_open,
            say=_say,
        )
        issued = browser_login.exchange(url, id_token)
        token = issued.token
    profile = Profile(url=url, token=token)
    me = ApiClient(profile).get("/me")
    path = save_profile(profile)
    message = f"logged in as {me['upn']} ({me['role']}); profile saved to {path}"
    emit_message(message, output, upn=me["upn"], role=me["role"], profile=str(path))


def _open(url: str) -> object:
    return webbrowser.open(url)


def _no_open(url: str) -> object:
    return url


def whoami(output: Output = OutputOption) -> None:
    """Show who the saved token belongs to."""
    emit(ApiClient.from_profile().get("/me"), output)


def register(app: typer.Typer) -> None:
    """Attach ``login`` and ``whoami``."""
    app.command("login")(login)
    app.command("whoami")(whoami)
