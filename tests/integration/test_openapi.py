"""The OpenAPI document is part of the product: every operation is described and secured."""

from __future__ import annotations

import pytest

from jitgate.server.app import create_app

PUBLIC: set[tuple[str, str]] = {("GET", "/api/v1")}  # the index: links to the docs


@pytest.fixture
def document(settings, clock, sessions):
    return create_app(settings, clock=clock, sessions=sessions).openapi()


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_every_operation_has_a_summary_a_description_and_a_tag(document):
    missing = [
        f"{method} {path}"
        for method, path, op in _operations(document)
        if not op.get("summary") or not op.get("description") or not op.get("tags")
    ]
    assert missing == []


def test_every_operation_is_secured(document):
    unsecured = [
        f"{method} {path}"
        for method, path, op in _operations(document)
        if (method, path) not in PUBLIC and not op.get("security")
    ]
    assert unsecured == []


def test_errors_are_documented_as_problem_json(document):
    for method, path, op in _operations(document):
        default = op["responses"].get("default")
        assert default, f"{method} {path} documents no error response"
        assert "application/problem+json" in default["content"], f"{method} {path}"


def test_request_bodies_carry_examples(document):
    schemas = document["components"]["schemas"]
    without = []
    for method, path, op in _operations(document):
        body = op.get("requestBody")
        if not body:
            continue
        ref = body["content"]["application/json"]["schema"].get("$ref", "")
        schema = schemas.get(ref.rsplit("/", 1)[-1], {})
        props = schema.get("properties", {})
        has_example = "examples" in schema or any(
            "examples" in p or "example" in p for p in props.values()
        )
        if props and not has_example:
            without.append(f"{method} {path} ({ref.rsplit('/', 1)[-1]})")
    assert without == []
