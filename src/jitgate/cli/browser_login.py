"""``jitgate login --browser``: sign the CLI in through Entra ID, like ``az login``.

The CLI is a public client (no secret): it asks the server which tenant, authority and client
id to use (``GET /auth/cli-config``), starts an authorization code flow with PKCE, ``state``
and ``nonce`` through MSAL with a loopback redirect (``http://127.0.0.1:<port>``: any port, as
Entra allows for public clients; the IP literal, as Microsoft advises over ``localhost``), opens
the browser on the sign-in page and waits for the redirect on a one-shot listener there. MSAL
checks ``state`` and the nonce and redeems the code; the id token is then exchanged at
``POST /api/v1/auth/token`` (the id token as the bearer credential, no body) for a short-lived
jitgate API token, which is what the profile keeps. The id token itself is never stored.

Invariants: the listener answers one request that carries the flow's ``state`` and then
closes; a redirect with another ``state`` or an ``error`` ends the sign-in with one readable
line; nothing is saved unless the server issued a token.
"""

from __future__ import annotations

import threading
import warnings
import webbrowser
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import httpx
import msal

from jitgate.cli.errors import CliError
from jitgate.core.tls import ssl_context

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

#: MSAL's advice for web apps; a loopback listener of a CLI takes the code in the query.
QUERY_MODE_WARNING = "response_mode='form_post' is recommended"
DONE_PAGE = (
    b"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>jitgate</title></head>"
    b"<body><main><h1>Signed in</h1><p>You can close this window and return to the terminal."
    b"</p></main></body></html>"
)


@dataclass(frozen=True, slots=True)
class CliSignInConfig:
    """Where the CLI signs in: the server's answer to ``GET /auth/cli-config``."""

    tenant_id: str
    authority_host: str
    client_id: str


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """The jitgate API token the server issued for the signed-in person."""

    token: str
    upn: str
    role: str
    expires_at: str


class _Receiver(BaseHTTPRequestHandler):
    """Answers the loopback redirect once and hands its query to the waiting thread."""

    received: ClassVar[dict[str, str] | None] = None
    arrived: ClassVar[threading.Event]

    def do_GET(self) -> None:
        query = dict(parse_qsl(urlsplit(self.path).query))
        if "code" not in query and "error" not in query:
            self.send_response(404)
            self.end_headers()
            return
        type(self).received = query
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Security-Policy", "default-src 'none'")
        self.end_headers()
        self.wfile.write(DONE_PAGE)
        type(self).arrived.set()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002, ANN401 - stdlib's signature
        """Keep the terminal quiet: the CLI says what happened itself."""


def fetch_config(url: str, *, verify: bool | str = True) -> CliSignInConfig:
    """Ask the server where its CLI signs in; one readable line if it cannot say."""
    try:
        response = httpx.get(f"{url}/auth/cli-config", timeout=30.0, verify=verify)
    except httpx.HTTPError as err:
        raise CliError(f"cannot reach {url}: {err}") from err
    if response.status_code != httpx.codes.OK:
        raise CliError(
            f"{url} has no browser sign-in for the CLI ({response.status_code}): ask an admin "
            "to set JITGATE_OIDC_TENANT and JITGATE_OIDC_CLI_CLIENT_ID, or use --token"
        )
    body = response.json()
    return CliSignInConfig(
        tenant_id=body["tenant_id"],
        authority_host=body["authority_host"],
        client_id=body["client_id"],
    )


def _receiver() -> tuple[HTTPServer, type[_Receiver]]:
    handler = type("Receiver", (_Receiver,), {"received": None, "arrived": threading.Event()})
    server = HTTPServer(("127.0.0.1", 0), handler)
    return server, handler


def sign_in(
    config: CliSignInConfig,
    *,
    ca_bundle: Path | None,
    open_url: Callable[[str], object] = webbrowser.open,
    say: Callable[[str], None],
    timeout_s: float = 300.0,
) -> str:
    """Run the loopback flow; return the id token MSAL checked (state, nonce, PKCE)."""
    # MSAL's own requests session would let REQUESTS_CA_BUNDLE override the bundle given:
    # an httpx client with one TLS context (system store + ca_bundle) instead.
    http = httpx.Client(verify=ssl_context(ca_bundle), timeout=30.0)
    app = msal.PublicClientApplication(
        config.client_id,
        authority=f"{config.authority_host.rstrip('/')}/{config.tenant_id}",
        instance_discovery=False,
        http_client=http,
    )
    server, handler = _receiver()
    port = server.server_address[1]
    try:
        return _run_flow(
            app, server, handler, port, open_url=open_url, say=say, timeout_s=timeout_s
        )
    finally:
        http.close()


def _run_flow(
    app: msal.PublicClientApplication,
    server: HTTPServer,
    handler: type[_Receiver],
    port: int,
    *,
    open_url: Callable[[str], object],
    say: Callable[[str], None],
    timeout_s: float,
) -> str:
    with warnings.catch_warnings():  # the loopback listener takes the code in the query
        warnings.filterwarnings("ignore", QUERY_MODE_WARNING)
        flow = app.initiate_auth_code_flow(
            scopes=[], redirect_uri=f"http://127.0.0.1:{port}", prompt="select_account"
        )
    if "auth_uri" not in flow:
        server.server_close()
        raise CliError(f"cannot start the sign-in: {flow.get('error_description', flow)}")
    listener = threading.Thread(target=server.serve_forever, daemon=True)
    listener.start()
    try:
        say(f"Opening the sign-in page; if no browser opens, visit:\n  {flow['auth_uri']}")
        open_url(flow["auth_uri"])
        if not handler.arrived.wait(timeout_s):
            raise CliError(f"no sign-in within {timeout_s:.0f} s; run jitgate login again")
    finally:
        server.shutdown()
        server.server_close()
    received = handler.received or {}
    if "error" in received:
        raise CliError(f"sign-in refused: {received.get('error_description') or received['error']}")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", QUERY_MODE_WARNING)
            result = app.acquire_token_by_auth_code_flow(flow, received)
    except ValueError as err:  # MSAL: state mismatch or a flow used twice
        raise CliError(f"sign-in refused: {err}") from err
    if "id_token" not in result:
        raise CliError(f"sign-in refused: {result.get('error_description', result.get('error'))}")
    return str(result["id_token"])


def exchange(url: str, id_token: str, *, verify: bool | str = True) -> IssuedToken:
    """Trade the Entra id token for a short-lived jitgate API token."""
    try:
        response = httpx.post(
            f"{url}/api/v1/auth/token",
            headers={"Authorization": f"Bearer {id_token}", "User-Agent": "jitgate-cli"},
            timeout=30.0,
            verify=verify,
        )
    except httpx.HTTPError as err:
        raise CliError(f"cannot reach {url}: {err}") from err
    if response.status_code != httpx.codes.CREATED:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise CliError(f"the server refused the sign-in ({response.status_code}): {detail}")
    body = response.json()
    return IssuedToken(
        token=body["token"], upn=body["upn"], role=body["role"], expires_at=body["expires_at"]
    )
