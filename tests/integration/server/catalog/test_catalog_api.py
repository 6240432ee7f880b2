from __future__ import annotations

from factories import bearer, make_identity


def _headers(session, clock):
    return bearer(session, clock, make_identity(session, clock, "user@contoso.example"))


def test_catalog_needs_a_token(client):
    assert client.get("/api/v1/catalog").status_code == 401


def test_catalog_lists_entra_id(client, session, clock):
    response = client.get("/api/v1/catalog", headers=_headers(session, clock))
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json()}
    entra = types["entra-id"]
    assert entra["name"] == "Microsoft Entra ID — Groups and Roles"
    assert entra["requires_secret"] is False
    assert set(entra["required_entra_roles"]) == {
        "Groups Administrator",
        "Privileged Role Administrator",
    }


def test_catalog_type_publishes_every_seed_setting(client, session, clock):
    response = client.get("/api/v1/catalog/entra-id", headers=_headers(session, clock))
    assert response.status_code == 200
    params = {p["id"]: p for p in response.json()["params"]}
    assert set(params) == {
        "name",
        "connector_id",
        "resource_types",
        "credential_rotation_days",
        "user_cleanup_days",
        "invite_guests",
        "invite_redirect_url",
        "custom_access_details",
        "owners",
        "resource_owner",
        "grant_mode",
        "membership_mode",
    }
    for param in params.values():
        assert param["label"]
        assert param["description"]
        assert isinstance(param["optional"], bool)
    assert params["name"]["optional"] is False
    assert params["name"]["limits"]["max_length"] == 64
    assert params["custom_access_details"]["limits"]["max_length"] == 400
    assert params["credential_rotation_days"]["limits"]["minimum"] == 1
    invite = params["invite_guests"]
    assert (invite["type"], invite["default"]) == ("boolean", False)
    assert params["credential_rotation_days"]["limits"]["maximum"] == 3650
    assert params["user_cleanup_days"]["type"] == "integer"
    assert params["resource_types"]["values"] == ["entra-group", "entra-role"]
    assert params["grant_mode"]["values"] == ["direct", "pim"]
    assert params["grant_mode"]["default"] == "direct"
    assert params["membership_mode"]["values"] == ["additive", "authoritative"]
    assert params["resource_owner"]["requires"] == ["owners"]
    owner_fields = {f["id"]: f for f in params["owners"]["fields"]}
    assert owner_fields["attribute"]["values"] == ["user", "group"]
    ro_fields = {f["id"]: f for f in params["resource_owner"]["fields"]}
    assert set(ro_fields) == {"key_name", "attribute"}
    assert "user.upn" in ro_fields["attribute"]["values"]


def test_catalog_type_publishes_resource_types_and_permissions(client, session, clock):
    body = client.get("/api/v1/catalog/entra-id", headers=_headers(session, clock)).json()
    types = {r["id"]: r for r in body["resource_types"]}
    assert [p["id"] for p in types["entra-group"]["permissions"]] == ["member", "owner"]
    assert [p["id"] for p in types["entra-role"]["permissions"]] == ["active"]
    assert [s["pattern"] for s in types["entra-role"]["scopes"]] == [
        "/",
        "/administrativeUnits/{id}",
    ]


def test_unknown_catalog_type_is_404(client, session, clock):
    response = client.get("/api/v1/catalog/okta", headers=_headers(session, clock))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
