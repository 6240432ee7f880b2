from __future__ import annotations

import uuid

import pytest

from jitgate.graph import odata


def test_single_quotes_are_doubled():
    assert str(odata.eq("mail", "o'brien@contoso.com")) == "mail eq 'o''brien@contoso.com'"


def test_injection_stays_inside_the_literal():
    hostile = "x' or userType eq 'Guest"
    rendered = str(odata.eq("userPrincipalName", hostile))
    assert rendered == "userPrincipalName eq 'x'' or userType eq ''Guest'"
    # The literal is the only quoted run: an even number of quotes after the opening one.
    assert rendered.count("'") % 2 == 0


def test_literals():
    assert odata.quote(None) == "null"
    assert odata.quote(value=True) == "true"
    assert odata.quote(3) == "3"
    gid = uuid.UUID("62e90394-69f5-4237-9190-012177145e10")
    assert odata.quote(gid) == "'62e90394-69f5-4237-9190-012177145e10'"


def test_guest_upn_is_kept_verbatim():
    upn = "alice_contoso.com#EXT#@fabrikam.onmicrosoft.com"
    assert str(odata.eq("userPrincipalName", upn)) == f"userPrincipalName eq '{upn}'"


def test_combinators():
    f = odata.eq("a", "1") & (
        odata.startswith("displayName", "Sales") | odata.in_("id", ["x", "y"])
    )
    assert str(f) == "(a eq '1') and ((startswith(displayName,'Sales')) or (id in ('x','y')))"
    assert str(odata.any_eq("groupTypes", "Unified")) == "groupTypes/any(c:c eq 'Unified')"
    assert str(odata.ne("mailEnabled", value=True)) == "mailEnabled ne true"


@pytest.mark.parametrize("field", ["a eq 1 or b", "x)", "", "1abc", "a/"])
def test_fields_must_be_property_paths(field):
    with pytest.raises(ValueError, match="property path"):
        odata.eq(field, "v")


def test_empty_in_and_empty_combination_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        odata.in_("id", [])
    with pytest.raises(ValueError, match="nothing"):
        odata.and_()
