"""Property-based API testing from the app's own OpenAPI document (schemathesis).

Every operation is called with generated inputs against a populated world (``api_world``): path
parameters, id-valued query parameters and id fields of bodies are drawn partly from the world's
real ids, so the calls reach the code behind the routes instead of stopping at a 404. No response
may be a 5xx, and every response must match the schema and media type the document declares.

Where the world holds well-formed calls for an operation (a valid flow, a request for a group
nobody asked for yet, a report under a real lease), some cases are those calls instead.

Passes (``PASSES``): the user API as an admin and, with fewer examples, as a plain requester (the
authorisation paths); the request routes as the approver; the connector protocol with the
connector's token. Each call runs inside a savepoint that is rolled back afterwards, so every case
sees the same world (a delete or a token revocation in one case does not empty it for the next).
Finally every operation with a path parameter must have answered at least once about a real
object (a 2xx or a 409), which is what shows that the world was used: none can only 404.

The operations are driven with hypothesis directly (schemathesis' pytest plugin does not support
pytest 9 yet), with a fixed seed so that CI is reproducible; raise the example counts locally to
search further.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from schemathesis.core import NOT_SET

from api_world import make_api_world
from jitgate.server.app import create_app

if TYPE_CHECKING:
    from collections.abc import Iterator

    from schemathesis import Case
    from schemathesis.schemas import APIOperation
    from sqlalchemy.engine import Connection

    from api_world import ApiWorld

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
USER_API = "/api/v1/"
CONNECTOR_API = "/api/connector/v1/"
# Who calls which operations (by path prefix), with how many examples each.
PASSES = (
    ("admin", USER_API, 6),
    ("requester", USER_API, 3),
    ("approver", "/api/v1/requests", 4),
    ("connector", CONNECTOR_API, 8),
)
# Body fields that name objects of the world (``request_ids`` in connector reports are Graph's).
BODY_IDS = {
    "connector_id": "connector_id",
    "integration_id": "integration_id",
    "flow_id": "flow_id",
    "resource_ids": "resource_id",
    "job_id": "job_id",
    "lease_token": "lease_token",
    "instance_key": "instance_key",
    "grantee": "ref",
}
# A claim long-polls for up to ``wait_s`` (25 s unless given) when nothing is due: never wait.
CLAIM = "/jobs:claim"
JSON = "application/json"
MULTIPLE_CHOICES = 300
CONFLICT = 409


@pytest.fixture
def api_schema(settings, clock, sessions):
    app = create_app(settings, clock=clock, sessions=sessions)
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


@pytest.fixture
def world(session, sessions, clock):
    return make_api_world(session, sessions, clock)


@contextmanager
def _undone(connection: Connection) -> Iterator[None]:
    """Run a call inside a savepoint and roll it back, whatever the call changed."""
    savepoint = connection.begin_nested()
    try:
        yield
    finally:
        savepoint.rollback()


def _swap(draw, real: st.SearchStrategy[Any], generated: Any) -> Any:
    """A real value or the generated one (about half each)."""
    return draw(real) if draw(st.booleans()) else generated


def _body_with_real_ids(draw, body: Any, real: dict[str, st.SearchStrategy[Any]]) -> Any:
    if isinstance(body, list):
        return [_body_with_real_ids(draw, item, real) for item in body]
    if not isinstance(body, dict):
        return body
    changed = {}
    for key, value in body.items():
        name = BODY_IDS.get(key)
        if name is None:
            changed[key] = _body_with_real_ids(draw, value, real)
        elif isinstance(value, list):
            changed[key] = _swap(draw, real[f"{name}s"], value)
        else:
            changed[key] = _swap(draw, real[name], value)
    return changed


def _real_values(ids: dict[str, list[str]]) -> dict[str, st.SearchStrategy[Any]]:
    """Per name, a strategy for one real id and (``<name>s``) for a short list of them."""
    one = {name: st.sampled_from(values) for name, values in ids.items()}
    some = {
        f"{name}s": st.lists(strategy, min_size=1, max_size=2, unique=True)
        for name, strategy in one.items()
    }
    return {**one, **some}


def _no_wait(case: Case) -> Case:
    if case.operation.path.endswith(CLAIM) and isinstance(case.body, dict):
        case.body = {**case.body, "wait_s": 0}
    return case


@dataclass
class Fuzz:
    """Runs operations against the world and keeps every status code per operation."""

    world: ApiWorld
    connection: Connection
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.real = _real_values(self.world.ids)

    def cases(self, operation: APIOperation) -> st.SearchStrategy[Case]:
        """The operation's generated cases with ids often swapped for real ones, and (where the
        world has any) its well-formed calls."""
        ids, real = self.world.ids, self.real

        @st.composite
        def mixed(draw):
            case = draw(operation.as_strategy())
            for params in (case.path_parameters, case.query):
                for name, value in list((params or {}).items()):
                    if name in ids:
                        params[name] = _swap(draw, real[name], value)
            if isinstance(case.body, dict | list):
                case.body = _body_with_real_ids(draw, case.body, real)
            return case

        strategy = mixed()
        calls = self.world.calls.get(operation.label)
        if calls:
            strategy |= st.sampled_from(calls).map(
                lambda call: operation.Case(
                    path_parameters=dict(call[0]),
                    body=NOT_SET if call[1] is None else copy.deepcopy(call[1]),
                    media_type=None if call[1] is None else JSON,
                )
            )
        return strategy.map(_no_wait)

    def run(self, operation: APIOperation, headers: dict[str, str], examples: int) -> None:
        """Call ``operation`` with ``examples`` cases, each rolled back, checking every answer."""

        @given(case=self.cases(operation))
        @hypothesis_settings(
            max_examples=examples,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Case) -> None:
            with _undone(self.connection):
                response = case.call_and_validate(headers=headers, checks=CHECKS)
            self.statuses[operation.label].append(response.status_code)

        check()


def _reached(codes: list[int]) -> bool:
    """An answer about a real object: a 2xx, or a 409 (a clash with the object's state).

    Other refusals prove nothing: a 401 or 403 can come before any lookup, a 404 is the lookup
    failing, and a 422 is request validation, which FastAPI runs before the route.
    """
    return any(code < MULTIPLE_CHOICES or code == CONFLICT for code in codes)


def test_every_operation_conforms_to_its_openapi(api_schema, world, connection):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operations"
    assert any(op.path.startswith(CONNECTOR_API) for op in operations), "no connector protocol"
    fuzz = Fuzz(world, connection)
    for who, prefix, examples in PASSES:
        for operation in (op for op in operations if op.path.startswith(prefix)):
            fuzz.run(operation, getattr(world, who), examples)

    with_ids = sorted(op.label for op in operations if "{" in op.path)
    unreached = [label for label in with_ids if not _reached(fuzz.statuses[label])]
    assert not unreached, f"never reached a real object: {unreached}"
