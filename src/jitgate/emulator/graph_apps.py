"""Applications (with addPassword/removePassword) and B2B invitations (guest users).

Invariant: a secret's text is returned once, by ``addPassword``; reads show only its ``hint``; the
sign-in token endpoint accepts exactly the secrets listed in ``Tenant.secrets`` for the app.
"""
# ruff: noqa: E501 - Graph and AADSTS texts stay on one line, verbatim, to grep against reference/graph.md

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING

from jitgate.emulator import permissions as p
from jitgate.emulator.graph_common import Call, Listing, check_guid, list_page
from jitgate.emulator.graph_users import new_user
from jitgate.emulator.http import Response, bad_request, empty_response, json_response, not_found
from jitgate.emulator.schedule import parse_time
from jitgate.emulator.store import Secret, iso

if TYPE_CHECKING:
    from jitgate.emulator.router import Router
    from jitgate.emulator.store import Obj, Tenant

APPS = Listing(
    kind="application",
    resource="Application",
    filterable={"id", "appId", "displayName", "signInAudience"},
)
TWO_YEARS = 2 * 365 * 86400


def add_secret(
    tenant: Tenant,
    app: Obj,
    *,
    display_name: str,
    start: float,
    end: float,
    text: str | None = None,
) -> Secret:
    """Create a client secret on ``app`` and return it (the text is only known here)."""
    secret = Secret(str(uuid.uuid4()), text or secrets.token_urlsafe(30), display_name, start, end)
    tenant.secrets.setdefault(app["appId"], []).append(secret)
    app.setdefault("passwordCredentials", []).append(
        {
            "customKeyIdentifier": None,
            "displayName": display_name,
            "endDateTime": iso(end),
            "hint": secret.text[:3],
            "keyId": secret.key_id,
            "secretText": None,
            "startDateTime": iso(start),
        }
    )
    return secret


def _app(call: Call) -> Obj:
    ident = call.params["id"]
    if ident.startswith("(appId="):
        object_id = call.tenant.app_by_appid.get(ident[len("(appId=") :].strip("')"))
        if object_id is None:
            raise not_found(ident)
        ident = object_id
    app = call.tenant.applications.get(check_guid(ident))
    if app is None:
        raise not_found(ident)
    return app


def list_apps(call: Call) -> Response:
    """GET /applications."""
    call.require(p.APP_READ)
    return list_page(call, APPS, call.tenant.applications.values(), "applications")


def get_app(call: Call) -> Response:
    """GET /applications/{id} or /applications(appId='...')."""
    call.require(p.APP_READ)
    return json_response(
        200, {"@odata.context": call.context("applications/$entity"), **_app(call)}
    )


def create_app(call: Call) -> Response:
    """POST /applications (201); also creates no service principal, as Graph does."""
    call.require(p.APP_WRITE)
    body = call.body()
    if not body.get("displayName"):
        raise bad_request(
            "Invalid value specified for property 'displayName' of resource 'Application'."
        )
    app: Obj = {
        "id": str(uuid.uuid4()),
        "appId": str(uuid.uuid4()),
        "displayName": body["displayName"],
        "createdDateTime": iso(call.now),
        "signInAudience": body.get("signInAudience", "AzureADMyOrg"),
        "passwordCredentials": [],
        "keyCredentials": [],
        "web": body.get("web") or {"redirectUris": []},
        "requiredResourceAccess": body.get("requiredResourceAccess") or [],
    }
    call.tenant.add_object("application", app)
    return json_response(201, {"@odata.context": call.context("applications/$entity"), **app})


def add_password(call: Call) -> Response:
    """POST /applications/{id}/addPassword: returns the new secret, with its text, once."""
    call.require(p.APP_WRITE)
    app = _app(call)
    credential = call.body().get("passwordCredential") or {}
    start = parse_time(credential["startDateTime"]) if credential.get("startDateTime") else call.now
    end = (
        parse_time(credential["endDateTime"])
        if credential.get("endDateTime")
        else start + TWO_YEARS
    )
    secret = add_secret(
        call.tenant,
        app,
        display_name=str(credential.get("displayName") or ""),
        start=start,
        end=end,
    )
    payload = {
        "@odata.context": call.context("microsoft.graph.passwordCredential"),
        "customKeyIdentifier": None,
        "displayName": secret.display_name,
        "endDateTime": iso(end),
        "hint": secret.text[:3],
        "keyId": secret.key_id,
        "secretText": secret.text,
        "startDateTime": iso(start),
    }
    return json_response(200, payload)


def remove_password(call: Call) -> Response:
    """POST /applications/{id}/removePassword with ``{"keyId"}`` (204)."""
    call.require(p.APP_WRITE)
    app = _app(call)
    key_id = str(call.body().get("keyId", "")).lower()
    before = call.tenant.secrets.get(app["appId"], [])
    after = [s for s in before if s.key_id != key_id]
    if len(after) == len(before):
        raise bad_request(f"No password credential found with keyId '{key_id}'.")
    call.tenant.secrets[app["appId"]] = after
    app["passwordCredentials"] = [
        c for c in app.get("passwordCredentials", []) if c["keyId"] != key_id
    ]
    return empty_response()


def invite(call: Call) -> Response:
    """POST /invitations: creates (or re-invites) a guest user (201)."""
    call.require(p.USER_INVITE)
    body = call.body()
    email = str(body.get("invitedUserEmailAddress") or "")
    if "@" not in email:
        raise bad_request(
            "Invalid value specified for property 'invitedUserEmailAddress' of resource 'Invitation'.",
            "BadRequest",
        )
    if not body.get("inviteRedirectUrl"):
        raise bad_request(
            "Invalid value specified for property 'inviteRedirectUrl' of resource 'Invitation'.",
            "BadRequest",
        )
    tenant = call.tenant
    upn = f"{email.replace('@', '_')}#EXT#@{tenant.domains[0]}"
    user = tenant.find_user(upn)
    if user is None:
        user = new_user(
            call,
            {
                "displayName": body.get("invitedUserDisplayName")
                or email.split("@", maxsplit=1)[0],
                "userPrincipalName": upn,
                "mail": email,
                "userType": body.get("invitedUserType", "Guest"),
                "externalUserState": "PendingAcceptance",
                "creationType": "Invitation",
                "otherMails": [email],
            },
        )
        tenant.add_object("user", user)
    payload = {
        "@odata.context": call.context("invitations/$entity"),
        "id": str(uuid.uuid4()),
        "inviteRedeemUrl": f"{call.req.base_url}/redeem?rd={user['id']}",
        "invitedUserDisplayName": user["displayName"],
        "invitedUserType": user.get("userType", "Guest"),
        "invitedUserEmailAddress": email,
        "sendInvitationMessage": bool(body.get("sendInvitationMessage")),
        "resetRedemption": False,
        "inviteRedirectUrl": body["inviteRedirectUrl"],
        "status": "PendingAcceptance",
        "invitedUserMessageInfo": body.get("invitedUserMessageInfo")
        or {"messageLanguage": None, "ccRecipients": [], "customizedMessageBody": None},
        "invitedUser": {"id": user["id"]},
    }
    return json_response(201, payload)


def register(router: Router) -> None:
    """Attach the application and invitation routes."""
    router.add("GET", "applications", list_apps)
    router.add("POST", "applications", create_app)
    router.add("GET", "applications/{id}", get_app)
    router.add("POST", "applications/{id}/addPassword", add_password)
    router.add("POST", "applications/{id}/removePassword", remove_password)
    router.add("POST", "invitations", invite)
