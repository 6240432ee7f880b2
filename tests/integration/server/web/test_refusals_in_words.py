"""Names take letters and digits of any script; every refusal is in words, never a pattern."""

from __future__ import annotations

import pytest

from factories import bearer, make_identity
from jitgate.server.actor import UserRole
from jitgate.server.app import create_app
from jitgate.server.web.params import PATTERN_WORDS


@pytest.fixture
def admin(session, clock):
    person = make_identity(session, clock, "admin@contoso.example", role=UserRole.ADMIN)
    return bearer(session, clock, person)


def _messages(response) -> list[str]:
    assert response.status_code == 422, response.text
    problem = response.json()
    return [problem["detail"], *(e["message"] for e in problem.get("errors", []))]


def _in_words(messages: list[str]) -> None:
    for message in messages:
        assert "^" not in message, message
        assert "[" not in message, message
        assert "pattern" not in message, message


@pytest.mark.parametrize("name", ["東京-本社", "Zürich ops", "Москва 2", "Ελλάδα_1", "café.prod"])
def test_a_connector_name_takes_letters_and_digits_of_any_script(client, admin, name):
    response = client.post("/api/v1/connectors", json={"name": name}, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


def test_a_refused_name_says_why_in_words(client, admin):
    response = client.post("/api/v1/connectors", json={"name": "bad/slash"}, headers=admin)
    messages = _messages(response)
    _in_words(messages)
    assert "letters, digits" in messages[1]


def test_a_refused_mail_says_why_in_words(client, admin):
    response = client.post(
        "/api/v1/identities",
        json={"upn": "adele@contoso.example", "display_name": "Adele", "mail": "adele at home"},
        headers=admin,
    )
    messages = _messages(response)
    _in_words(messages)
    assert "mail address" in messages[1]


def test_a_bad_id_and_a_nul_in_a_search_say_why_in_words(client, admin):
    bad_id = _messages(client.get("/api/v1/connectors/not.an.id", headers=admin))
    _in_words(bad_id)
    assert "must be an id" in bad_id[1]
    nul = _messages(client.get("/api/v1/integrations", params={"search": "a\x00b"}, headers=admin))
    _in_words(nul)
    assert "NUL" in " ".join(nul)


def _patterns(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {v for k, v in node.items() if k == "pattern" and isinstance(v, str)}
        return found.union(*(_patterns(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_patterns(v) for v in node))
    return set()


def test_every_pattern_of_the_api_has_words(settings, clock, sessions):
    document = create_app(settings, clock=clock, sessions=sessions).openapi()
    patterns = _patterns(document)
    assert patterns, "the API has no pattern: drop this test"
    assert patterns - PATTERN_WORDS.keys() == set()
