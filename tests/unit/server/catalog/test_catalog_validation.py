"""The metadata-driven validator: each rule the catalog publishes is the rule it enforces."""

from __future__ import annotations

import pytest

from jitgate.core.errors import NotFound
from jitgate.core.names import IDENTIFIER_WORDS
from jitgate.server.catalog.registry import ENTRA_ID, ParamType, get_integration_type
from jitgate.server.catalog.validation import check_param, validate_config

NOT_TEXT = "must be text without NUL or unpaired surrogates"

VALID = {
    "name": "Contoso Entra",
    "connector_id": "c1",
    "resource_types": ["entra-group"],
    "credential_rotation_days": None,
    "user_cleanup_days": 1,
    "custom_access_details": "x" * 400,
    "owners": [{"attribute": "user", "values": ["a@contoso.example"]}],
    "resource_owner": {"key_name": "owner", "attribute": "group.id"},
    "grant_mode": "direct",
    "membership_mode": "authoritative",
}


def _errors(**changes):
    values = {**VALID, **changes}
    return validate_config(ENTRA_ID, values, connector_exists=lambda cid: cid == "c1")


def test_a_valid_config_passes():
    assert _errors() == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "a" * 64}, []),
        ({"name": "a" * 65}, [("name", "must be at most 64 characters")]),
        ({"name": "Finance_Team-1.0 Prod"}, []),
        ({"name": "_x"}, [("name", IDENTIFIER_WORDS)]),
        ({"name": None}, [("name", "is required")]),
        (
            {"custom_access_details": "x" * 401},
            [("custom_access_details", "must be at most 400 characters")],
        ),
        ({"credential_rotation_days": 3650}, []),
        (
            {"credential_rotation_days": 3651},
            [("credential_rotation_days", "must be between 1 and 3650")],
        ),
        ({"user_cleanup_days": 0}, [("user_cleanup_days", "must be between 1 and 3650")]),
        ({"user_cleanup_days": True}, [("user_cleanup_days", "must be a whole number of days")]),
        ({"user_cleanup_days": 2.5}, [("user_cleanup_days", "must be a whole number of days")]),
        ({"invite_guests": True}, []),
        ({"invite_guests": "yes"}, [("invite_guests", "must be true or false")]),
        ({"invite_redirect_url": "https://myapps.microsoft.com/contoso"}, []),
        (
            {"invite_redirect_url": "http://example.com"},
            [("invite_redirect_url", "must be an https:// address without spaces")],
        ),
        ({"resource_types": []}, [("resource_types", "choose at least one")]),
        (
            {"resource_types": ["entra-app"]},
            [("resource_types.0", "must be one of entra-group, entra-role")],
        ),
        ({"connector_id": "c2"}, [("connector_id", "no connector 'c2'")]),
        ({"owners": []}, [("resource_owner", "needs integration owner to be set")]),
        ({"owners": [], "resource_owner": None}, []),
        (
            {"owners": [{"attribute": "group", "values": []}]},
            [("owners.0.values", "choose at least one")],
        ),
        (
            {"owners": [{"attribute": "user", "values": ["a"], "x": 1}]},
            [("owners.0.x", "is not a known field")],
        ),
        (
            {"resource_owner": {"key_name": "owner", "attribute": "role"}},
            [
                (
                    "resource_owner.attribute",
                    "must be one of user.upn, user.mail, user.id, group.name, group.id",
                )
            ],
        ),
        ({"custom_access_details": "a\x00b"}, [("custom_access_details", NOT_TEXT)]),
        (
            {"owners": [{"attribute": "user", "values": ["\ud800"]}]},
            [("owners.0.values.0", NOT_TEXT)],
        ),
        ({"custom_access_details": "line one\nline two ✓"}, []),
        ({"grant_mode": "pim"}, []),
        (
            {"membership_mode": "both"},
            [("membership_mode", "must be one of additive, authoritative")],
        ),
    ],
)
def test_rules(changes, expected):
    assert [(e["field"], e["message"]) for e in _errors(**changes)] == expected


def test_every_broken_rule_is_reported_at_once():
    fields = [e["field"] for e in _errors(name="", custom_access_details="y" * 500, owners=[])]
    assert fields == ["name", "custom_access_details", "resource_owner"]


def test_every_param_type_has_a_check():
    for param_type in ParamType:
        spec = next((p for p in ENTRA_ID.params if p.type is param_type), None)
        if spec is not None:
            assert isinstance(check_param(spec, spec.id, spec.default), list)


def test_unknown_type_is_not_found():
    with pytest.raises(NotFound):
        get_integration_type("okta")


@pytest.mark.parametrize("key", ["owner", "Eigentümer", "所有者", "cost.centre/owner"])
def test_a_tag_key_takes_letters_and_digits_of_any_script(key):
    assert _errors(resource_owner={"key_name": key, "attribute": "group.id"}) == []


def test_a_refused_tag_key_says_why_in_words():
    errors = _errors(resource_owner={"key_name": "_owner", "attribute": "group.id"})
    assert [e["field"] for e in errors] == ["resource_owner.key_name"]
    message = errors[0]["message"]
    assert message.startswith("must start with a letter or digit")
    assert "^" not in message
    assert "[" not in message
