"""The CLI sends a request again when the server says the database was busy (nothing changed)."""

from __future__ import annotations

import httpx
import pytest

from jitgate.cli.client import BUSY, ApiClient
from jitgate.cli.errors import ApiError, CliError
from jitgate.cli.profile import Profile

BUSY_PROBLEM = {"type": BUSY, "title": "Service busy", "status": 503, "detail": "retry"}


def client_for(answers: list[httpx.Response]) -> tuple[ApiClient, list[str], list[float]]:
    seen: list[str] = []
    slept: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return answers.pop(0)

    client = ApiClient(
        Profile(url="http://server.test", token="jg_at_x"),
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )
    return client, seen, slept


def busy(retry_after: str = "2") -> httpx.Response:
    return httpx.Response(503, json=BUSY_PROBLEM, headers={"Retry-After": retry_after})


def test_a_busy_answer_is_sent_again_after_its_retry_after():
    client, seen, slept = client_for([busy("2"), busy("30"), httpx.Response(201, json={"id": "r"})])
    assert client.post("/requests", {"resource_ids": []}) == {"id": "r"}
    assert seen == ["POST /api/v1/requests"] * 3
    assert slept == [2.0, 5.0]  # Retry-After, capped


def test_busy_three_times_more_is_shown_as_the_problem():
    client, seen, _ = client_for([busy(), busy(), busy(), busy()])
    with pytest.raises(ApiError) as info:
        client.get("/grants")
    assert info.value.status == 503
    assert len(seen) == 4


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="upstream down"),  # not the server's problem: may have run
        httpx.Response(503, json={"type": "about:blank", "title": "Unavailable"}),
        httpx.Response(409, json={"title": "Conflict", "detail": "already decided"}),
    ],
)
def test_other_errors_are_not_sent_again(answer):
    client, seen, slept = client_for([answer])
    with pytest.raises(ApiError):
        client.post("/requests/r/approve", {})
    assert len(seen) == 1
    assert slept == []


def test_a_401_says_the_token_is_no_longer_valid_and_how_to_log_in():
    answer = httpx.Response(401, json={"title": "Unauthorized", "detail": "invalid token"})
    client, _, _ = client_for([answer])
    with pytest.raises(ApiError) as info:
        client.get("/me")
    assert "no longer valid" in info.value.message
    assert "jitgate login --url" in info.value.message


def test_an_answer_that_is_not_json_is_one_line_naming_the_url():
    page = httpx.Response(200, text="<html>hello</html>", headers={"content-type": "text/html"})
    client, _, _ = client_for([page])
    with pytest.raises(CliError) as info:
        client.get("/me")
    assert (
        "http://server.test/api/v1/me answered 200 with text/html, not JSON" in info.value.message
    )
    assert "\n" not in info.value.message
