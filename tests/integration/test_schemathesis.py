"""Property-based API testing from the app's own OpenAPI document (schemathesis).

Every operation is called with generated inputs as an admin: no response may be a 5xx, and every
response must match the schema and media type the document declares for it. The operations are
driven with hypothesis directly (schemathesis' pytest plugin does not support pytest 9 yet), with
a fixed seed so that CI is reproducible; raise ``max_examples`` locally to search further.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)

from factories import bearer, make_identity
from jitgate.server.identities.models import UserRole
from jitgate.server.web.app import create_app

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@pytest.fixture
def api_schema(settings, clock, sessions):
    app = create_app(settings, clock=clock, sessions=sessions)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def admin_headers(session, clock):
    admin = make_identity(session, clock, "fuzz.admin@contoso.example", role=UserRole.ADMIN)
    return bearer(session, clock, admin)


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


def _check_for(operation, headers):
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=25,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    return check


def test_every_operation_conforms_to_its_openapi(api_schema, admin_headers):
    operations = _operations(api_schema)
    assert operations, "the OpenAPI document lists no operations"
    for operation in operations:
        _check_for(operation, admin_headers)()
