"""The API docs work offline: every page and asset comes from the server itself, under a CSP."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

JS = {"text/javascript", "application/javascript"}
CONTENT_TYPES = {".js": JS, ".css": {"text/css"}, ".png": {"image/png"}}
PAGES = ["/api/v1/docs", "/api/v1/redoc"]


class _References(HTMLParser):
    """Every URL a page makes the browser load or follow (src, href and the specs' data-*)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url", "data-openapi-url"):
            if values.get(name):
                self.urls.append(values[name] or "")
        if tag == "script" and not values.get("src"):
            self._in_script = True
        if tag == "style" or "style" in values:
            self.inline_styles += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _references(text: str) -> _References:
    parser = _References()
    parser.feed(text)
    return parser


def _directives(csp: str) -> dict[str, list[str]]:
    parts = (part.split() for part in csp.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_loads_only_from_the_server_itself(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    found = _references(response.text)
    assert found.urls, "the page references nothing"
    assert found.inline_scripts == 0
    assert found.inline_styles == 0
    for url in found.urls:
        parts = urlsplit(url)
        assert not parts.scheme, f"{url} names a scheme"
        assert not parts.netloc, f"{url} names another origin"
        assert url.startswith("/api/v1/"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = asset.headers["content-type"].split(";")[0]
        suffix = "." + parts.path.rsplit(".", 1)[-1]
        expected = CONTENT_TYPES.get(suffix, {"application/json"})
        assert kind in expected, f"{url}: {kind}"


@pytest.mark.parametrize("page", PAGES)
def test_a_docs_page_allows_scripts_from_its_own_origin_only(client, page):
    csp = _directives(client.get(page).headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'"]
    for sources in csp.values():
        assert not any(s.startswith("http") or s == "*" for s in sources), csp


def test_the_swagger_page_starts_swagger_ui_from_a_file(client):
    script = client.get("/api/v1/docs/assets/swagger-init.js")
    assert script.status_code == 200
    assert "SwaggerUIBundle(" in script.text
    assert "openapiUrl" in script.text
    page = client.get("/api/v1/docs").text
    assert "data-openapi-url='/api/v1/openapi.json'" in page


def test_the_api_answers_an_index_of_links_that_work(client):
    response = client.get("/api/v1")
    assert response.status_code == 200
    links = response.json()["links"]
    assert set(links) == {"docs", "redoc", "openapi", "health"}
    for url in links.values():
        assert client.get(url).status_code == 200, url


def test_the_root_is_the_portal_and_the_docs_stay_where_they_were(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303  # the portal's home: sign in first
    assert response.headers["location"] == "/auth/sign-in?return_to=%2F"
    assert client.get("/api/v1/docs").status_code == 200


def test_an_api_answer_keeps_a_csp_that_loads_nothing(client):
    csp = _directives(client.get("/api/v1").headers["content-security-policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]


def test_a_missing_asset_is_a_404(client):
    assert client.get("/api/v1/docs/assets/nothing.js").status_code == 404
