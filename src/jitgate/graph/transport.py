"""HTTP plumbing: the long-lived ``httpx.AsyncClient`` and an azure-core transport on top of it.

One ``httpx.AsyncClient`` per tenant carries every Graph call (pooled keep-alive connections,
explicit timeouts, the operator's CA bundle). The same transport also carries azure-identity's
token requests through ``HttpxAzureTransport``, so:

* tests point both the login host and the graph host at the emulator in-process by injecting one
  ``httpx.ASGITransport``, or over real HTTPS by giving the emulator's CA bundle;
* no aiohttp is needed (azure-identity's async credentials default to it).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

import httpx
from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import AsyncHttpTransport
from azure.core.rest._http_response_impl_async import AsyncHttpResponseImpl
from azure.core.utils import case_insensitive_dict

if TYPE_CHECKING:
    from pathlib import Path

    from azure.core.rest import HttpRequest


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """Connection behaviour for one tenant's client."""

    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    pool_timeout_s: float = 30.0
    max_connections: int = 32
    max_keepalive: int = 16
    ca_bundle: Path | None = None


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """A verifying TLS context, trusting ``ca_bundle`` in addition to the system store."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


def build_http_client(
    settings: HttpSettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    base_url: str = "",
) -> httpx.AsyncClient:
    """Create the tenant's long-lived client; ``transport`` is injectable (ASGI in tests)."""
    settings = settings or HttpSettings()
    timeout = httpx.Timeout(
        settings.read_timeout_s,
        connect=settings.connect_timeout_s,
        pool=settings.pool_timeout_s,
    )
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_keepalive,
    )
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=timeout,
        limits=limits,
        transport=transport,
        verify=ssl_context(settings.ca_bundle),
        follow_redirects=False,
        trust_env=transport is None,
    )


class _Response(AsyncHttpResponseImpl):
    """An azure-core response over a fully read ``httpx.Response``."""

    def __init__(self, request: HttpRequest, response: httpx.Response) -> None:
        super().__init__(
            request=request,
            internal_response=response,
            status_code=response.status_code,
            reason=response.reason_phrase,
            headers=case_insensitive_dict(response.headers.items()),
            content_type=response.headers.get("content-type"),
            stream_download_generator=None,
        )
        self._content = response.content

    def body(self) -> bytes:
        """The body, already in memory."""
        return self.content

    async def close(self) -> None:
        """Nothing to release: the body was read eagerly."""
        self._is_closed = True


class HttpxAzureTransport(AsyncHttpTransport["HttpRequest", _Response]):
    """Lets azure-identity's async credentials send their requests through our httpx client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        """The client belongs to the caller; it is not closed here."""

    async def open(self) -> None:
        """Nothing to open: the client is long-lived."""

    async def close(self) -> None:
        """Nothing to close: the client is closed by its owner."""

    async def send(self, request: HttpRequest, **_: object) -> _Response:
        """Send ``request`` and read the whole answer (token responses are small)."""
        content = request.content
        kwargs: dict[str, Any] = {}
        if isinstance(content, dict):
            kwargs["data"] = content
        elif content is not None:
            kwargs["content"] = content
        try:
            response = await self._client.request(
                request.method, request.url, headers=dict(request.headers.items()), **kwargs
            )
        except (httpx.ReadTimeout, httpx.ProtocolError) as err:
            raise ServiceResponseError(str(err), error=err) from err
        except httpx.HTTPError as err:
            raise ServiceRequestError(str(err), error=err) from err
        return _Response(request, response)
