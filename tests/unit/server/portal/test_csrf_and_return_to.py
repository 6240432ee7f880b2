"""The portal's same-site and same-origin rules: CSRF origin checks and ``return_to``."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from jitgate.server.portal.csrf import cross_site
from jitgate.server.portal.sign_ins import safe_return_to

BASE = "https://jitgate.example"


def _request(headers: dict[str, str]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "server": ("internal", 8443),
        "path": "/x",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    return Request(scope)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({}, False),
        ({"Origin": BASE}, False),
        ({"Origin": "https://internal:8443"}, False),
        ({"Sec-Fetch-Site": "same-origin", "Origin": BASE}, False),
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),
        ({"Sec-Fetch-Site": "cross-site"}, True),
    ],
)
def test_cross_site_requests_are_recognised(headers, refused):
    assert cross_site(_request(headers), BASE) is refused


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("/requests/new?x=1", "/requests/new?x=1"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/a\\b", "/"),
        ("/a\nSet-Cookie: x", "/"),
        ("relative/path", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_return_to_is_a_path_on_this_server(value, kept):
    assert safe_return_to(value) == kept
