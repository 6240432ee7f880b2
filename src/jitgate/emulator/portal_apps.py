"""jitgate's own app registrations in the demo tenant: the portal (web) and the CLI (public).

The ids are fixed in ``tenants/demo.yaml``; ``register_portal_app`` points the portal app at a
running jitgate server (its callback and signed-out URLs) and hands out a fresh client secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from jitgate.emulator import graph_apps

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState
    from jitgate.emulator.store import Obj

PORTAL_APP_ID = "3f6d2c1a-8b4e-4f7a-9c2d-5e1b0a7f9c31"
CLI_APP_ID = "b2a9e4d7-1c3f-4e8a-a6b5-0d9f2c7e4a18"
ADMIN_ROLE = "Jitgate.Admin"
AUDITOR_ROLE = "Jitgate.Auditor"
SECRET_LIFETIME_S = 2 * 365 * 86400.0
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def application(state: EmulatorState, app_id: str) -> Obj | None:
    """Return the application object registered under ``app_id``."""
    tenant = state.tenant
    return tenant.applications.get(tenant.app_by_appid.get(app_id, ""))


def set_portal_uris(
    state: EmulatorState, *, redirect_uris: list[str], post_logout_redirect_uris: list[str]
) -> Obj:
    """Replace the portal app's web redirect URIs and post-logout redirect URIs; return it."""
    tenant = state.tenant
    with tenant.lock:
        app = application(state, PORTAL_APP_ID)
        if app is None:
            raise KeyError(f"the tenant has no portal app {PORTAL_APP_ID}")
        app.setdefault("web", {})["redirectUris"] = list(redirect_uris)
        tenant.post_logout_uris[PORTAL_APP_ID] = list(post_logout_redirect_uris)
        return app


def register_portal_app(
    state: EmulatorState, *, redirect_uris: list[str], post_logout_redirect_uris: list[str]
) -> str:
    """Set the portal app's redirect and logout URIs; return a new client secret for it."""
    tenant = state.tenant
    with tenant.lock:
        app = set_portal_uris(
            state, redirect_uris=redirect_uris, post_logout_redirect_uris=post_logout_redirect_uris
        )
        now = tenant.now()
        secret = graph_apps.add_secret(
            tenant, app, display_name="jitgate server", start=now, end=now + SECRET_LIFETIME_S
        )
        return secret.text


def _loopback_match(registered: str, uri: str) -> bool:
    want, have = urlsplit(registered), urlsplit(uri)
    if want.scheme != "http" or have.scheme != "http":
        return False
    if (want.hostname or "") not in LOOPBACK_HOSTS:
        return False
    if want.hostname != have.hostname:
        return False
    return want.path in {"", "/"} or want.path == have.path


def redirect_allowed(app: Obj, uri: str) -> bool:
    """Return whether ``uri`` is a registered redirect of ``app`` (loopback: any port)."""
    web = set((app.get("web") or {}).get("redirectUris") or [])
    spa = set((app.get("spa") or {}).get("redirectUris") or [])
    public = list((app.get("publicClient") or {}).get("redirectUris") or [])
    if uri in web | spa | set(public):
        return True
    return any(_loopback_match(registered, uri) for registered in public)


def is_public_client(app: Obj | None) -> bool:
    """Return whether ``app`` may redeem codes without a credential (a public client)."""
    return bool(app and app.get("isFallbackPublicClient"))
