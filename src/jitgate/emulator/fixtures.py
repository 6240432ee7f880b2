"""The YAML tenant fixture format (see docs/emulator.md) and loading it into a ``Tenant``.

Objects are named by a ``key``; references (members, owners, managers, principals) may use a key,
an object id or a userPrincipalName. Ids default to UUIDv5 of the tenant id and the key, so the
same fixture always yields the same ids.
"""

from __future__ import annotations

import secrets
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509

from jitgate.emulator import generate as generator
from jitgate.emulator import graph_apps, graph_roles, roles_builtin
from jitgate.emulator.graph_group_objects import new_group
from jitgate.emulator.graph_pim import DEFAULT_POLICIES
from jitgate.emulator.store import CertKey, Tenant, iso
from jitgate.emulator.tokens import thumbprints

DEFAULT_TENANT = "7d3c1b9e-5f0a-4a59-9a53-2c1e0b8f6a11"
YEAR = 365 * 86400.0


def load(seed: Path | dict[str, Any] | str | None) -> dict[str, Any]:
    """Return the fixture data for a path, a dict, ``"demo"`` or None."""
    if seed is None:
        return {
            "apps": [{"key": "connector", "connector": True, "displayName": "jitgate connector"}]
        }
    if isinstance(seed, dict):
        return seed
    if str(seed) == "demo":
        text = resources.files("jitgate.emulator").joinpath("tenants/demo.yaml").read_text()
    else:
        text = Path(seed).read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise TypeError("a tenant fixture is a YAML mapping")
    return data


def tenant_id(data: dict[str, Any]) -> str:
    """Return the fixture's tenant id (a default one when absent)."""
    return str((data.get("tenant") or {}).get("id") or DEFAULT_TENANT).lower()


class _Loader:
    def __init__(self, tenant: Tenant, data: dict[str, Any]) -> None:
        self.tenant = tenant
        self.data = data
        self.keys: dict[str, str] = {}
        self.now = tenant.now()

    def ident(self, key: str, given: object = None) -> str:
        object_id = (
            str(given).lower() if given else str(uuid.uuid5(uuid.UUID(self.tenant.tenant_id), key))
        )
        self.keys[key] = object_id
        return object_id

    def ref(self, name: str) -> str:
        found = self.keys.get(name) or self.tenant.upn_index.get(name.lower())
        if found is None and name.lower() in self.tenant.kinds:
            found = name.lower()
        if found is None:
            raise ValueError(f"fixture reference {name!r} names no object")
        return found

    def users(self) -> None:
        default_password = self.data.get("default_password")
        domain = self.tenant.domains[0]
        for spec in self.data.get("users") or []:
            key = spec["key"]
            upn = spec.get("userPrincipalName") or f"{key}@{domain}"
            user = {
                "id": self.ident(key, spec.get("id")),
                "displayName": spec.get("displayName", key),
                "givenName": spec.get("givenName"),
                "surname": spec.get("surname"),
                "userPrincipalName": upn,
                "mail": spec.get("mail", upn),
                "jobTitle": spec.get("jobTitle"),
                "department": spec.get("department"),
                "businessPhones": spec.get("businessPhones", []),
                "mobilePhone": None,
                "officeLocation": spec.get("officeLocation"),
                "preferredLanguage": spec.get("preferredLanguage"),
                "accountEnabled": spec.get("accountEnabled", True),
                "userType": spec.get("userType", "Member"),
                "onPremisesSyncEnabled": spec.get("onPremisesSyncEnabled"),
                "employeeId": spec.get("employeeId"),
                "createdDateTime": iso(self.now),
            }
            self.tenant.add_object("user", user, log=False)
            self.tenant.created_at[user["id"]] = 0.0
            password = spec.get("password", default_password)
            if password:
                self.tenant.passwords[user["id"]] = str(password)
            if spec.get("mfa_secret"):
                self.tenant.mfa_secrets[user["id"]] = str(spec["mfa_secret"])
        for spec in self.data.get("users") or []:
            if spec.get("manager"):
                self.tenant.managers[self.keys[spec["key"]]] = self.ref(spec["manager"])

    def groups(self) -> None:
        specs = self.data.get("groups") or []
        for spec in specs:
            body = {k: v for k, v in spec.items() if k not in {"key", "id", "owners", "members"}}
            body.setdefault("mailNickname", spec["key"])
            body.setdefault("securityEnabled", True)
            body.setdefault("mailEnabled", False)
            group = new_group(self.now, body)
            group["id"] = self.ident(spec["key"], spec.get("id"))
            self.tenant.add_object("group", group, log=False)
            self.tenant.created_at[group["id"]] = 0.0
        for spec in specs:
            group_id = self.keys[spec["key"]]
            for name in spec.get("members") or []:
                self.tenant.members[group_id][self.ref(name)] = 0.0
                self.tenant.member_of.setdefault(self.ref(name), set()).add(group_id)
            for name in spec.get("owners") or []:
                self.tenant.owners[group_id][self.ref(name)] = 0.0
                self.tenant.owner_of.setdefault(self.ref(name), set()).add(group_id)

    def admin_units(self) -> None:
        for spec in self.data.get("admin_units") or []:
            unit = {
                "id": self.ident(spec["key"], spec.get("id")),
                "displayName": spec.get("displayName", spec["key"]),
                "description": spec.get("description"),
                "visibility": spec.get("visibility"),
                "membershipType": spec.get("membershipType", "Assigned"),
            }
            self.tenant.add_object("administrativeUnit", unit, log=False)
            for name in spec.get("members") or []:
                self.tenant.au_members[unit["id"]][self.ref(name)] = 0.0
                self.tenant.au_of.setdefault(self.ref(name), set()).add(unit["id"])

    def apps(self) -> None:
        for spec in self.data.get("apps") or []:
            self.app(spec)

    def app(self, spec: dict[str, Any]) -> None:
        tenant = self.tenant
        key = spec["key"]
        app_id = str(spec.get("appId") or uuid.uuid5(uuid.UUID(tenant.tenant_id), f"appId:{key}"))
        app = {
            "id": self.ident(f"app:{key}", spec.get("objectId")),
            "appId": app_id,
            "displayName": spec.get("displayName", key),
            "createdDateTime": iso(self.now),
            "signInAudience": "AzureADMyOrg",
            "passwordCredentials": [],
            "keyCredentials": [],
            "web": {"redirectUris": list(spec.get("redirect_uris") or [])},
            "requiredResourceAccess": [],
        }
        self.sign_in(spec, app)
        tenant.add_object("application", app, log=False)
        sp = {
            "id": self.ident(key, spec.get("servicePrincipalId")),
            "appId": app_id,
            "displayName": app["displayName"],
            "servicePrincipalType": "Application",
            "accountEnabled": not spec.get("disabled", False),
            "appOwnerOrganizationId": tenant.tenant_id,
            "createdDateTime": iso(self.now),
        }
        tenant.add_object("servicePrincipal", sp, log=False)
        tenant.app_permissions[sp["id"]] = list(spec.get("permissions") or [])
        secrets_spec = spec.get("secrets")
        if secrets_spec is None and spec.get("connector"):
            secrets_spec = [{"displayName": "emulator"}]
        for item in secrets_spec or []:
            expired = bool(item.get("expired"))
            end = self.now - YEAR if expired else self.now + 2 * YEAR
            secret = graph_apps.add_secret(
                tenant,
                app,
                display_name=str(item.get("displayName", "")),
                start=self.now - YEAR if expired else self.now,
                end=end,
                text=item.get("text") or secrets.token_urlsafe(30),
            )
            if spec.get("connector") and not expired and not tenant.connector_secret:
                tenant.connector_secret = secret.text
        for item in spec.get("certificates") or []:
            self.cert(app, item)
        if spec.get("connector"):
            tenant.connector_app_id = app_id
        for item in spec.get("app_role_assignments") or []:
            self.app_role_assignment(app, sp["id"], item)

    def sign_in(self, spec: dict[str, Any], app: dict[str, Any]) -> None:
        """The sign-in side of an app: roles, group claims, public client, logout URIs."""
        key = spec["key"]
        app["appRoles"] = [
            {
                "id": str(
                    role.get("id")
                    or uuid.uuid5(
                        uuid.UUID(self.tenant.tenant_id), f"appRole:{key}:{role['value']}"
                    )
                ),
                "value": role["value"],
                "displayName": role.get("displayName", role["value"]),
                "description": role.get("description", role.get("displayName", role["value"])),
                "allowedMemberTypes": list(role.get("allowedMemberTypes") or ["User"]),
                "isEnabled": True,
            }
            for role in spec.get("app_roles") or []
        ]
        app["groupMembershipClaims"] = spec.get("group_membership_claims")
        app["isFallbackPublicClient"] = bool(spec.get("public_client"))
        app["publicClient"] = {"redirectUris": list(spec.get("public_redirect_uris") or [])}
        logout = list(spec.get("post_logout_redirect_uris") or [])
        if logout:
            self.tenant.post_logout_uris[app["appId"]] = logout

    def app_role_assignment(self, app: dict[str, Any], sp_id: str, item: dict[str, Any]) -> None:
        """Assign one of ``app``'s roles (by value) to a user or group."""
        role = next((r for r in app["appRoles"] if r["value"] == item["role"]), None)
        if role is None:
            raise ValueError(f"app {app['displayName']!r} has no app role {item['role']!r}")
        principal = self.ref(str(item["principal"]))
        self.tenant.app_role_assignments.append(
            {
                "id": str(
                    uuid.uuid5(
                        uuid.UUID(self.tenant.tenant_id), f"ara:{sp_id}:{principal}:{role['id']}"
                    )
                ),
                "principalId": principal,
                "principalType": "Group" if principal in self.tenant.groups else "User",
                "resourceId": sp_id,
                "appRoleId": role["id"],
            }
        )

    def cert(self, app: dict[str, Any], item: dict[str, Any]) -> None:
        pem = (
            item["pem"]
            if "BEGIN CERTIFICATE" in str(item.get("pem", ""))
            else Path(item["path"]).read_text()
        )
        cert = x509.load_pem_x509_certificate(pem.encode())
        sha1, s256 = thumbprints(cert)
        key = CertKey(
            str(uuid.uuid4()),
            cert,
            sha1,
            s256,
            str(item.get("displayName", "")),
            cert.not_valid_before_utc.timestamp(),
            cert.not_valid_after_utc.timestamp(),
        )
        self.tenant.certs.setdefault(app["appId"], []).append(key)
        app["keyCredentials"].append(
            {
                "keyId": key.key_id,
                "type": "AsymmetricX509Cert",
                "usage": "Verify",
                "displayName": key.display_name,
                "customKeyIdentifier": sha1,
                "startDateTime": iso(key.start),
                "endDateTime": iso(key.end),
            }
        )

    def roles(self) -> None:
        tenant = self.tenant
        for definition in roles_builtin.definitions(self.data.get("role_definitions")):
            tenant.role_definitions[definition["id"]] = definition
        for template in (
            "62e90394-69f5-4237-9190-012177145e10",
            *(self.data.get("activated_directory_roles") or []),
        ):
            found = graph_roles.role_definition(tenant, roles_builtin.template_id(template))
            if found is not None:
                graph_roles.activate(tenant, found)
        assignments = list(self.data.get("role_assignments") or [])
        for spec in self.data.get("apps") or []:
            assignments.extend(
                {"principal": spec["key"], "role": role}
                for role in spec.get("directory_roles") or []
            )
        for spec in assignments:
            scope = str(spec.get("scope", "/"))
            if scope.startswith("au:"):
                scope = f"/administrativeUnits/{self.ref(scope[3:])}"
            role_id = roles_builtin.template_id(str(spec["role"]))
            principal = self.ref(str(spec["principal"]))
            if tenant.find_role_assignment(principal, role_id, scope) is None:
                graph_roles.new_assignment(tenant, principal, role_id, scope, "direct")


def apply(tenant: Tenant, data: dict[str, Any]) -> None:
    """Load ``data`` into ``tenant`` (which must be empty or hold earlier fixtures)."""
    info = data.get("tenant") or {}
    tenant.display_name = str(info.get("name", tenant.display_name))
    if info.get("domains"):
        tenant.domains = [str(d) for d in info["domains"]]
    loader = _Loader(tenant, data)
    loader.users()
    loader.groups()
    loader.admin_units()
    loader.apps()
    loader.roles()
    policies = (data.get("pim") or {}).get("policies") or {}
    for kind, values in policies.items():
        tenant.pim_table("policies")[kind] = {**_default_policy(kind), **values}
    if data.get("generate"):
        generator.generate(tenant, **data["generate"])


def _default_policy(kind: str) -> dict[str, Any]:
    return dict(DEFAULT_POLICIES[kind])
