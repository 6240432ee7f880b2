"""Terraform rendering: complete, stable and safe against HCL injection."""

from __future__ import annotations

from jitgate.server.integrations.as_code import hcl_string, render_hcl, render_json, resource_label

VALUES = {
    "name": "Contoso Entra",
    "connector_id": "c1",
    "resource_types": ["entra-group"],
    "credential_rotation_days": None,
    "user_cleanup_days": 30,
    "custom_access_details": None,
    "owners": [{"attribute": "user", "values": ["a@contoso.example"]}],
    "resource_owner": None,
    "grant_mode": "direct",
    "membership_mode": "additive",
}


def test_label_is_a_valid_identifier():
    assert resource_label("Contoso Entra (prod)") == "contoso_entra_prod"
    assert resource_label("1st") == "i_1st"
    assert resource_label("...") == "integration"


def test_strings_cannot_break_out_or_interpolate():
    assert hcl_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert hcl_string("${var.x} %{if}") == '"$${var.x} %%{if}"'
    assert hcl_string("\x07") == '"\\u0007"'


def test_hcl_has_every_set_value_and_omits_unset_ones():
    assert render_hcl(VALUES, "entra-id") == (
        'resource "jitgate_integration" "contoso_entra" {\n'
        '  name              = "Contoso Entra"\n'
        '  type              = "entra-id"\n'
        '  connector_id      = "c1"\n'
        '  resource_types    = ["entra-group"]\n'
        "  user_cleanup_days = 30\n"
        '  grant_mode        = "direct"\n'
        '  membership_mode   = "additive"\n'
        "\n"
        "  owner {\n"
        '    attribute = "user"\n'
        '    values    = ["a@contoso.example"]\n'
        "  }\n"
        "}\n"
    )


def test_json_form_matches():
    body = render_json(VALUES, "entra-id")["resource"]["jitgate_integration"]["contoso_entra"]
    assert body["user_cleanup_days"] == 30
    assert "credential_rotation_days" not in body
    assert body["owner"] == [{"attribute": "user", "values": ["a@contoso.example"]}]
