"""``jitgate demo``: a scripted grant cycle against a running ``jitgate up``; ``demo totp``.

Reads ``demo.json`` from the data dir (``jitgate up`` writes it); every value can be given on the
command line instead (``--url``, the two tokens, ``--emulator-url`` + ``--emulator-ca``).
``jitgate demo totp <user>`` prints a demo person's current one-time code for the sign-in page.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

import httpx
import typer

from jitgate.cli.errors import CliError
from jitgate.cli.local import load_settings
from jitgate.cli.output import Output, OutputOption, emit_message
from jitgate.demo import totp as demo_totp
from jitgate.demo.info import DemoInfo, EmulatorInfo, info_path, load_info
from jitgate.demo.script import DemoError, DemoTarget, run_demo


def _emulator(info: DemoInfo | None, url: str | None, ca: Path | None) -> EmulatorInfo:
    if url is None:
        if info is None:
            raise CliError("no demo.json and no --emulator-url: is `jitgate up` running?", code=2)
        return info.emulator
    if ca is None:
        raise CliError("--emulator-url needs --emulator-ca (the emulator's ca.pem)", code=2)
    trust = ssl.create_default_context(cafile=str(ca))
    response = httpx.get(f"{url.rstrip('/')}/_emulator/info", verify=trust, timeout=10)
    response.raise_for_status()
    return EmulatorInfo.model_validate(response.json())


def _pick(given: str | None, info: DemoInfo | None, key: str, flag: str) -> str:
    if given:
        return given
    if info is None or key not in info.people:
        raise CliError(f"no demo.json in the data dir: pass {flag}", code=2)
    return info.people[key].token


demo_app = typer.Typer(
    help="A scripted grant cycle against `jitgate up` (and `demo totp <user>`).",
    invoke_without_command=True,
)


def demo(
    ctx: typer.Context,
    fast: Annotated[
        bool,
        typer.Option(help="Move the demo clock to the grant's end instead of waiting a minute."),
    ] = False,
    data_dir: Annotated[
        Path | None, typer.Option(help="`jitgate up`'s data dir (JITGATE_DATA_DIR; .jitgate)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="The server's URL")] = None,
    requester_token: Annotated[str | None, typer.Option(help="The requester's API token")] = None,
    approver_token: Annotated[str | None, typer.Option(help="The approver's API token")] = None,
    emulator_url: Annotated[str | None, typer.Option(help="The emulator's base URL")] = None,
    emulator_ca: Annotated[Path | None, typer.Option(help="The emulator's ca.pem")] = None,
    output: Output = OutputOption,
) -> None:
    """Request -> approve -> granted (in Graph) -> expired -> revoked, with timings."""
    if ctx.invoked_subcommand is not None:
        return
    directory = data_dir or load_settings().data_dir
    try:
        info = load_info(directory)
    except ValueError as err:
        raise CliError(f"cannot read {info_path(directory)}: {err}") from err
    server = url or (info.url if info else None)
    if server is None:
        raise CliError("no demo.json in the data dir and no --url: is `jitgate up` running?", 2)
    target = DemoTarget(
        url=server,
        requester_token=_pick(requester_token, info, "requester", "--requester-token"),
        approver_token=_pick(approver_token, info, "approver", "--approver-token"),
        emulator=_emulator(info, emulator_url, emulator_ca),
        integration_id=info.integration_id if info and not url else None,
    )

    def echo(line: str) -> None:
        emit_message(line, output)

    echo(f"jitgate demo against {server} ({'fast' if fast else 'real-time'} expiry)")
    try:
        run_demo(target, fast=fast, echo=echo)
    except DemoError as err:
        raise CliError(f"demo failed: {err}") from err


def totp(
    user: Annotated[
        str, typer.Argument(help="A demo person: grady, or grady@contoso.onmicrosoft.com")
    ],
    data_dir: Annotated[
        Path | None, typer.Option(help="`jitgate up`'s data dir (JITGATE_DATA_DIR; .jitgate)")
    ] = None,
    output: Output = OutputOption,
) -> None:
    """Print a demo person's current one-time code (the demo clock when `jitgate up` runs)."""
    directory = data_dir or load_settings().data_dir
    try:
        info = load_info(directory)
    except ValueError as err:
        raise CliError(f"cannot read {info_path(directory)}: {err}") from err
    try:
        code = demo_totp.current_code(user, info)
    except demo_totp.TotpError as err:
        raise CliError(str(err), code=2) from err
    emit_message(
        code.text(),
        output,
        code=code.code,
        upn=code.upn,
        remaining_s=code.remaining_s,
        clock=code.clock,
    )


def register(app: typer.Typer) -> None:
    """Attach ``demo`` and ``demo totp``."""
    demo_app.callback()(demo)
    demo_app.command("totp")(totp)
    app.add_typer(demo_app, name="demo")
