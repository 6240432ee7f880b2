"""The sign-in pages: password, one-time code, errors (AADSTS code and text, readable).

Every field has a label; errors are shown on the page in a ``role=alert`` paragraph with the
AADSTS number and Entra's text; forms post back to the same authorize URL.
"""
# ruff: noqa: E501 - AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from jitgate.emulator.signin_html import error_block, hidden_fields, page

if TYPE_CHECKING:
    from jitgate.emulator.http import Response
    from jitgate.emulator.signin_client import SigninError
    from jitgate.emulator.state import EmulatorState

MAX_LISTED_USERS = 200
FORM_FIELDS = frozenset({"username", "password", "otc", "flow"})

BAD_PASSWORD = (50126, "Error validating credentials due to invalid username or password.")
DISABLED = (50057, "The user account is disabled.")
MFA_FAILED = (500121, "Authentication failed during strong authentication request.")
MFA_REQUIRED = (50074, "Strong Authentication is required.")
MFA_ENROLL = (
    50079,
    "Due to a configuration change made by your administrator, or because you moved to a new location, the user is required to enroll in multi-factor authentication.",
)
FLOW_EXPIRED = (50058, "A silent sign-in request was sent but no user is signed in.")


def error_page(err: SigninError) -> Response:
    """A request the page cannot redirect (unknown client, redirect URI mismatch)."""
    return page("Sign in: error", error_block(err.code, err.text), status=400)


def _targets(params: dict[str, str]) -> tuple[str, ...]:
    return (params["redirect_uri"],) if params.get("redirect_uri") else ()


def password_form(
    state: EmulatorState, params: dict[str, str], error: tuple[int, str] | None = None
) -> Response:
    """Ask for a username and password (``login_hint`` prefilled)."""
    carried = {k: v for k, v in params.items() if k not in FORM_FIELDS}
    hint = params.get("username") or params.get("login_hint", "")
    options = []
    for user in list(state.tenant.users.values())[:MAX_LISTED_USERS]:
        if user.get("accountEnabled") is False:
            continue
        upn = html.escape(user["userPrincipalName"])
        options.append(
            f"<option value='{upn}'>{html.escape(user.get('displayName') or '')}</option>"
        )
    message = error_block(*error) if error else ""
    inner = (
        f"{message}<form method='post'>{hidden_fields(carried)}"
        "<label for='username'>Email or username</label>"
        f"<input id='username' name='username' type='text' autocomplete='username' list='known-users' required value='{html.escape(hint)}'>"
        f"<datalist id='known-users'>{''.join(options)}</datalist>"
        "<label for='password'>Password</label>"
        "<input id='password' name='password' type='password' autocomplete='current-password' required>"
        "<button type='submit'>Sign in</button></form>"
        "<p class='hint'>Demo people and their passwords are listed by <code>jitgate up</code>.</p>"
    )
    return page(
        "Sign in to the jitgate emulator",
        inner,
        form_targets=_targets(params),
    )


def code_form(
    params: dict[str, str],
    flow: str,
    user: dict[str, Any],
    error: tuple[int, str] | None = None,
) -> Response:
    """Ask for the one-time code from the person's authenticator app."""
    message = error_block(*error) if error else ""
    who = html.escape(user["userPrincipalName"])
    carried = {k: v for k, v in params.items() if k not in FORM_FIELDS}
    inner = (
        f"{message}<p>Enter the code displayed in the authenticator app for <strong>{who}</strong>.</p>"
        f"<form method='post'>{hidden_fields({**carried, 'flow': flow})}"
        "<label for='otc'>Code</label>"
        "<input id='otc' name='otc' type='text' inputmode='numeric' autocomplete='one-time-code' pattern='[0-9]{6}' maxlength='6' required>"
        "<button type='submit'>Verify</button></form>"
        "<p class='hint'>In the demo, <code>jitgate demo totp &lt;user&gt;</code> prints the current code.</p>"
    )
    return page(
        "Enter code",
        inner,
        form_targets=_targets(params),
    )
