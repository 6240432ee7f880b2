"""The Graph client: one long-lived httpx client per tenant, tokens, limiter, retries, errors.

Every call goes through ``GraphClient.request``:

1. take budget from the adaptive limiter (by priority: revocations, grants, reads);
2. attach a fresh-enough token and a new ``client-request-id``;
3. send; map any failure once (``errors.error_from_response``; timeouts and broken connections
   become ``GraphTransient``); feed the throttle headers back to the limiter;
   a write whose request went out but whose answer was lost (read timeout, connection dropped
   after sending) is *ambiguous*: Graph may apply it, even later. The success or the error the
   call ends with says so (``GraphResponse.ambiguous`` / ``GraphError.ambiguous``), since a retry
   that succeeds does not cancel the first request;
4. log Graph's ``request-id`` with ours;
5. retry retryable failures within the attempt and deadline bounds.

The client never imports the server or the emulator: tests inject an ``httpx`` transport.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, Self

import httpx

from jitgate.graph.credentials import TokenProvider, build_credential
from jitgate.graph.errors import GraphError, GraphTransient, error_from_response
from jitgate.graph.limiter import AdaptiveLimiter, Budget, Priority, Ticket
from jitgate.graph.retry import RealTimer, RetryPolicy, Timer, with_retries
from jitgate.graph.transport import HttpSettings, build_http_client

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jitgate.core.clock import Clock
    from jitgate.graph.config import GraphConfig

logger = logging.getLogger(__name__)

_READ_METHODS = frozenset({"GET", "HEAD"})
#: Failures after the request may have been sent (not connect or pool timeouts, not refusals).
_AFTER_SENDING = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


class TokenSource(Protocol):
    """Hands out bearer tokens."""

    async def token(self) -> str:
        """Return a valid access token."""
        ...

    def invalidate(self) -> None:
        """Drop the cached token."""
        ...


@dataclass(frozen=True, slots=True)
class GraphResponse:
    """A successful Graph answer."""

    status: int
    body: Any
    headers: Mapping[str, str]
    request_id: str | None
    client_request_id: str
    #: An earlier try of this write was sent and its answer lost: it may still land.
    ambiguous: bool = False
    #: When the limiter let the request go (``Ticket.sent_at``): tells throttling episodes apart.
    sent_at: float | None = None


def estimate_cost(method: str, url: str, params: Mapping[str, str] | None = None) -> float:
    """Resource units a request will cost (graph.md §8 base costs and adjustments)."""
    path = url.split("?", 1)[0].rstrip("/")
    query = url.split("?", 1)[1] if "?" in url else ""
    keys = set(params or ()) | {part.split("=", 1)[0] for part in query.split("&") if part}
    if method.upper() != "GET":
        return 1.0
    cost = 1.0
    if path.endswith("/transitiveMembers"):
        cost = 5.0
    elif path.endswith("/members"):
        cost = 3.0
    elif path.endswith(("/users", "/memberOf")):
        cost = 2.0
    if "$select" in keys or "%24select" in keys:
        cost -= 1
    if "$expand" in keys or "%24expand" in keys:
        cost += 1
    return max(1.0, cost)


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    path: str
    params: Mapping[str, str] | None
    content: bytes | None
    headers: Mapping[str, str]
    priority: Priority
    ru: float
    writes: float


class GraphClient:
    """Sends Graph requests for one tenant through the limiter, with retries and typed errors."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        tokens: TokenSource,
        base_url: str,
        limiter: AdaptiveLimiter | None = None,
        retry: RetryPolicy | None = None,
        timer: Timer | None = None,
        owns_http: bool = True,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.timer = timer or RealTimer()
        self.limiter = limiter or AdaptiveLimiter(timer=self.timer)
        self.retry = retry or RetryPolicy()
        self._owns_http = owns_http
        self.requests_sent = 0
        self.throttled_responses = 0

    @classmethod
    def from_config(
        cls,
        config: GraphConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        timer: Timer | None = None,
        budget: Budget | None = None,
    ) -> GraphClient:
        """Build the tenant's client: httpx client, credential, token provider, limiter."""
        settings = HttpSettings(
            connect_timeout_s=config.connect_timeout_s,
            read_timeout_s=config.read_timeout_s,
            max_connections=config.max_connections,
            ca_bundle=config.ca_bundle,
        )
        http = build_http_client(settings, transport=transport)
        tokens = TokenProvider(
            build_credential(config, http),
            scope=config.scope,
            clock=clock,
            refresh_margin=timedelta(seconds=config.token_refresh_margin_s),
        )
        timer = timer or RealTimer()
        return cls(
            http=http,
            tokens=tokens,
            base_url=config.base_url,
            limiter=AdaptiveLimiter(budget or Budget.for_tier(config.tier), timer=timer),
            retry=RetryPolicy(max_attempts=config.max_attempts, deadline_s=config.retry_deadline_s),
            timer=timer,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the token provider and (if ours) the httpx client."""
        if isinstance(self.tokens, TokenProvider):
            await self.tokens.close()
        if self._owns_http:
            await self.http.aclose()

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (absolute URLs such as nextLinks pass through)."""
        if path.startswith(("https://", "http://")):
            return path
        return self.base_url + "/" + path.lstrip("/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,  # noqa: ANN401 - any JSON document
        headers: Mapping[str, str] | None = None,
        priority: Priority = Priority.READ,
        retry: RetryPolicy | None = None,
        cost: tuple[float, float] | None = None,
    ) -> GraphResponse:
        """Send one request with limiter, retries and typed errors; return the success."""
        method = method.upper()
        ru, writes = cost or (
            estimate_cost(method, path, params),
            0.0 if method in _READ_METHODS else 1.0,
        )
        content = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
        call = _Call(method, path, params, content, headers or {}, priority, ru, writes)

        lost: list[GraphError] = []

        async def once() -> GraphResponse:
            try:
                return await self._send(call)
            except GraphError as err:
                if err.ambiguous:
                    lost.append(err)
                elif lost:
                    err.ambiguous = True  # an earlier try's answer was lost
                raise

        response = await with_retries(once, policy=retry or self.retry, timer=self.timer)
        return replace(response, ambiguous=True) if lost else response

    async def _send(self, call: _Call) -> GraphResponse:
        client_request_id = str(uuid.uuid4())
        async with self.limiter.slot(call.priority, ru=call.ru, writes=call.writes) as ticket:
            headers = {
                "Authorization": "Bearer " + await self.tokens.token(),
                "client-request-id": client_request_id,
                "Accept": "application/json",
            }
            if call.priority is not Priority.READ:
                headers["x-ms-throttle-priority"] = "High"
            if call.content is not None:
                headers["Content-Type"] = "application/json"
            headers.update(call.headers)
            self.requests_sent += 1
            try:
                response = await self.http.request(
                    call.method,
                    self.url(call.path),
                    params=call.params,
                    content=call.content,
                    headers=headers,
                )
            except httpx.TimeoutException as err:
                raise _transient(call, "timed out", err, client_request_id) from err
            except (httpx.TransportError, OSError) as err:
                raise _transient(call, "failed to connect", err, client_request_id) from err
        return self._finish(call, response, client_request_id, ticket)

    def _finish(
        self, call: _Call, response: httpx.Response, client_request_id: str, ticket: Ticket
    ) -> GraphResponse:
        request_id = response.headers.get("request-id")
        status = response.status_code
        logger.info(
            "graph call",
            extra={
                "method": call.method,
                "path": call.path.split("?", 1)[0],
                "status": status,
                "graph_request_id": request_id,
                "client_request_id": client_request_id,
            },
        )
        body = _json(response)
        if status == httpx.codes.TOO_MANY_REQUESTS:
            self.throttled_responses += 1
        if status >= httpx.codes.BAD_REQUEST:
            err = error_from_response(
                status, body, response.headers, client_request_id=client_request_id
            )
            if status == httpx.codes.TOO_MANY_REQUESTS:
                self.limiter.throttled(
                    err.retry_after,
                    sent_at=ticket.sent_at,
                    information=response.headers.get("x-ms-throttle-information"),
                    sent=(call.ru, call.writes),
                )
            self.note_error(err)
            raise err
        self.limiter.observe(response.headers, ru=call.ru, writes=call.writes)
        return GraphResponse(
            status, body, response.headers, request_id, client_request_id, sent_at=ticket.sent_at
        )

    def note_error(self, err: GraphError) -> None:
        """Feed a failure (top-level or inner ``$batch``) to the token cache.

        429s go to the limiter where the answer is read (``_finish``, ``BatchExecutor``): it
        needs to know when the request was sent and how much of it the server took.
        """
        if err.http_status == httpx.codes.UNAUTHORIZED:
            self.tokens.invalidate()


def _transient(call: _Call, what: str, err: Exception, client_request_id: str) -> GraphTransient:
    transient = GraphTransient(
        f"{call.method} {what}: {err!r}", client_request_id=client_request_id
    )
    transient.ambiguous = call.method not in _READ_METHODS and isinstance(err, _AFTER_SENDING)
    return transient


def _json(response: httpx.Response) -> Any:  # noqa: ANN401 - any JSON document
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text
