"""Ambiguous writes: a write whose request went out but whose answer was lost may still land."""

from __future__ import annotations

import httpx
import pytest

from jitgate.graph.batch import BatchExecutor, BatchRequest
from jitgate.graph.client import GraphClient
from jitgate.graph.errors import GraphTransient
from jitgate.graph.limiter import Priority
from jitgate.graph.retry import FakeTimer, RetryPolicy

pytestmark = pytest.mark.anyio


class Tokens:
    async def token(self) -> str:
        return "token"

    def invalidate(self) -> None:
        pass


def client_for(answers: list[object], *, attempts: int = 4) -> GraphClient:
    """A client whose transport gives ``answers`` in turn (an exception class is raised)."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer("lost", request=request)
        if isinstance(answer, int):
            return httpx.Response(answer, json={"error": {"code": "x", "message": "x"}})
        return httpx.Response(200, json=answer)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return GraphClient(
        http=http,
        tokens=Tokens(),
        base_url="https://graph.test/v1.0",
        timer=FakeTimer(),
        retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.01),
    )


async def test_a_write_retried_after_a_read_timeout_succeeds_but_is_ambiguous():
    async with client_for([httpx.ReadTimeout, {}]) as graph:
        response = await graph.request("POST", "/groups/g/members/$ref", json_body={})
    assert response.ambiguous  # the first try may still land


@pytest.mark.parametrize(
    ("method", "lost"),
    [
        ("POST", httpx.ConnectTimeout),  # never sent
        ("POST", httpx.ConnectError),
        ("POST", httpx.PoolTimeout),
        ("GET", httpx.ReadTimeout),  # a read changes nothing
    ],
)
async def test_unsent_requests_and_reads_are_not_ambiguous(method, lost):
    async with client_for([lost, {}]) as graph:
        response = await graph.request(method, "/groups/g")
    assert not response.ambiguous


@pytest.mark.parametrize("lost", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
async def test_an_error_after_a_lost_answer_is_ambiguous(lost):
    async with client_for([lost, 503, 503], attempts=3) as graph:
        with pytest.raises(GraphTransient) as caught:
            await graph.request("DELETE", "/groups/g/members/u/$ref")
    assert caught.value.ambiguous


async def test_a_5xx_answer_is_not_ambiguous():
    async with client_for([503, 503], attempts=2) as graph:
        with pytest.raises(GraphTransient) as caught:
            await graph.request("POST", "/groups/g/members/$ref", json_body={})
    assert not caught.value.ambiguous


async def test_batch_marks_the_writes_of_a_batch_whose_answer_was_lost():
    answer = {
        "responses": [
            {"id": "0", "status": 204, "body": None},
            {"id": "1", "status": 200, "body": {"id": "g"}},
        ]
    }
    async with client_for([httpx.ReadTimeout, answer]) as graph:
        add, read = await BatchExecutor(graph).execute(
            [
                BatchRequest("POST", "/groups/g/members/$ref", body={}, priority=Priority.GRANT),
                BatchRequest("GET", "/groups/g"),
            ]
        )
    assert add.ok
    assert add.ambiguous
    assert read.ok
    assert not read.ambiguous


async def test_batch_keeps_the_mark_across_its_own_item_retries():
    throttled = {"responses": [{"id": "0", "status": 503, "body": None}]}
    done = {"responses": [{"id": "0", "status": 204, "body": None}]}
    async with client_for([httpx.ReadTimeout, throttled, done]) as graph:
        (add,) = await BatchExecutor(graph).execute(
            [BatchRequest("POST", "/groups/g/members/$ref", body={}, priority=Priority.GRANT)]
        )
    assert add.ok
    assert add.ambiguous
    assert add.attempts == 2
