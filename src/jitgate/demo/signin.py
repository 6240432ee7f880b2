"""The demo's Entra sign-in side: the portal app pointed at the server, the people to sign in as.

The people's passwords and TOTP secrets are the demo tenant's (``tenants/demo.yaml``); they are
throw-away demo values, printed in the banner and written to the 0600 ``demo.json``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.demo.info import SignInInfo, SignInPerson
from jitgate.emulator.portal_apps import (
    CLI_APP_ID,
    PORTAL_APP_ID,
    register_portal_app,
    set_portal_uris,
)

if TYPE_CHECKING:
    from jitgate.emulator.state import EmulatorState

DOMAIN = "contoso.onmicrosoft.com"
# (demo tenant key, what they are in the demo)
SIGN_IN_PEOPLE = (
    ("lynne", "admin (Jitgate.Admin)"),
    ("grady", "requester"),
    ("alex", "approver"),
    ("isaiah", "auditor (Jitgate.Auditor)"),
)


def portal_uris(base_url: str) -> dict[str, list[str]]:
    """The server's OIDC callback and signed-out URLs, as the portal app registers them."""
    return {
        "redirect_uris": [f"{base_url}/auth/callback"],
        "post_logout_redirect_uris": [f"{base_url}/auth/signed-out"],
    }


def register_portal(state: EmulatorState, base_url: str) -> str:
    """Point the portal app at the server at ``base_url``; return its new client secret."""
    return register_portal_app(state, **portal_uris(base_url))


def move_portal(state: EmulatorState, base_url: str) -> None:
    """Re-point the portal app (the server ended up on another port); the secret stays."""
    set_portal_uris(state, **portal_uris(base_url))


def sign_in_info(
    state: EmulatorState, *, portal_client_secret: str, browser_base_url: str | None
) -> SignInInfo:
    """What a person needs to sign in to the demo (written to ``demo.json``)."""
    tenant = state.tenant
    people = []
    for key, role in SIGN_IN_PEOPLE:
        upn = f"{key}@{DOMAIN}"
        user_id = tenant.upn_index[upn]
        people.append(
            SignInPerson(
                key=key,
                upn=upn,
                role=role,
                password=tenant.passwords.get(user_id, ""),
                totp_secret=tenant.mfa_secrets.get(user_id),
            )
        )
    return SignInInfo(
        portal_client_id=PORTAL_APP_ID,
        portal_client_secret=portal_client_secret,
        cli_client_id=CLI_APP_ID,
        browser_base_url=browser_base_url,
        people=people,
    )


def banner_lines(info: SignInInfo, data_dir_flag: str = "") -> list[str]:
    """The banner's "sign in as" block (``data_dir_flag``: `` --data-dir X`` when not default)."""
    lines = ["  sign in as:   (on the emulator's Entra sign-in page, then a one-time code)"]
    for person in info.people:
        secret = person.totp_secret or "none (password only)"
        lines.append(
            f"    {person.upn:<32} {person.role:<26} password {person.password}  "
            f"TOTP secret {secret}"
        )
    lines.append(f"  current code: jitgate demo totp grady{data_dir_flag}   (any person above)")
    return lines
