"""A small synchronous client for jitgate's REST API, used by the CLI commands."""

from __future__ import annotations

import json
import time
import weakref
from typing import TYPE_CHECKING, Any

import httpx

from jitgate.cli.errors import ApiError, CliError
from jitgate.cli.profile import Profile, load_profile

if TYPE_CHECKING:
    from collections.abc import Callable

BUSY = "https://jitgate.dev/problems/database-busy"
BUSY_RETRIES = 3
MAX_WAIT_S = 5.0


def _busy(response: httpx.Response) -> bool:
    """A 503 "database busy" problem: nothing changed, the same request may be sent again."""
    if response.status_code != httpx.codes.SERVICE_UNAVAILABLE:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("type") == BUSY


def _retry_after(response: httpx.Response) -> float:
    try:
        wait = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        wait = 1.0
    return min(max(wait, 0.0), MAX_WAIT_S)


def _decode(response: httpx.Response) -> Any:
    """The answer's JSON; an answer that is not JSON is one line saying what answered."""
    try:
        return response.json()
    except ValueError as err:
        kind = response.headers.get("content-type", "no content type")
        raise CliError(
            f"{response.url} answered {response.status_code} with {kind}, not JSON: is that "
            "URL a jitgate server?"
        ) from err


class ApiClient:
    """Calls ``/api/v1`` with the profile's token; problems become ``ApiError``."""

    def __init__(
        self,
        profile: Profile,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport,
            base_url=f"{profile.url}/api/v1",
            headers={"Authorization": f"Bearer {profile.token}", "User-Agent": "jitgate-cli"},
            timeout=timeout,
        )
        # Commands drop their client when they return: close its connections then, not at
        # interpreter exit (the tests run many commands in one process).
        weakref.finalize(self, self._http.close)

    @classmethod
    def from_profile(cls) -> ApiClient:
        """Build a client from the saved profile or the environment."""
        return cls(load_profile())

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; raise ``ApiError`` on any non-2xx answer.

        A "database busy" problem (the server lost a lock race and changed nothing) is sent
        again after its Retry-After, a few times, before it is shown.
        """
        response = self._http.request(method, path, **kwargs)
        for _ in range(BUSY_RETRIES):
            if not _busy(response):
                break
            self._sleep(_retry_after(response))
            response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:  # noqa: PLR2004 - HTTP error range
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.reason_phrase, "detail": response.text[:200]}
            if not isinstance(problem, dict):
                problem = {"title": response.reason_phrase, "detail": str(problem)[:200]}
            raise ApiError(response.status_code, problem)
        return response

    def get(self, path: str, **params: Any) -> Any:
        """GET and decode JSON."""
        clean = {k: v for k, v in params.items() if v is not None}
        return _decode(self.request("GET", path, params=clean))

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON and decode the answer (``None`` when empty)."""
        response = self.request("POST", path, json=body)
        return _decode(response) if response.content else None

    def patch(self, path: str, body: Any) -> Any:
        """PATCH JSON and decode the answer."""
        return _decode(self.request("PATCH", path, json=body))

    def put(self, path: str, body: Any) -> Any:
        """PUT JSON and decode the answer."""
        return _decode(self.request("PUT", path, json=body))

    def delete(self, path: str) -> Any:
        """DELETE and decode the answer (``None`` when empty)."""
        response = self.request("DELETE", path)
        return _decode(response) if response.content else None

    def stream_text(self, path: str, **params: Any) -> str:
        """GET a text body (exports)."""
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean).text


def require_json_object(text: str, source: str) -> dict[str, Any]:
    """Parse a JSON object given on the command line or in a file."""
    try:
        value = json.loads(text)
    except ValueError as err:
        raise CliError(f"{source} is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise CliError(f"{source} must be a JSON object")
    return value
