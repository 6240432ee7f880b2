"""The agent's side of the connector protocol: one long-lived ``httpx.AsyncClient`` to the server.

Calls that must not be lost (results, releases, pages) are retried with backoff while the server
is unreachable or answers 5xx, up to a deadline; a 4xx answer is final (409: the lease was lost,
so the result is dropped — another instance owns the job now).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING

import httpx

from jitgate.protocol.v1 import (
    PREFIX,
    ClaimRequest,
    ClaimResponse,
    ConnectorSelfCheck,
    Heartbeat,
    HeartbeatAck,
    ItemsPage,
    PageAck,
    Registered,
    RegisterInstance,
    ReleaseRequest,
    ReportAck,
    ReportResult,
    ReportResults,
    ReportResultsAck,
)

if TYPE_CHECKING:
    from pathlib import Path

    from pydantic import BaseModel

log = logging.getLogger(__name__)


class ServerRefusedError(Exception):
    """The server answered 4xx: retrying will not help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class LeaseLostError(ServerRefusedError):
    """409: the job's lease is no longer ours."""


class ServerClient:
    """Typed calls to ``/api/connector/v1``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_bundle: Path | None = None,
        retry_deadline_s: float = 300.0,
    ) -> None:
        verify: bool | str = str(ca_bundle) if ca_bundle else True
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + PREFIX,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            transport=transport,
            verify=verify,
            timeout=httpx.Timeout(10.0, read=40.0),
        )
        self.retry_deadline_s = retry_deadline_s

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def _exchange(self, path: str, body: BaseModel) -> bytes:
        response = await self.http.post(path, content=body.model_dump_json())
        if response.status_code == httpx.codes.CONFLICT:
            raise LeaseLostError(response.status_code, _detail(response))
        if httpx.codes.BAD_REQUEST <= response.status_code < httpx.codes.INTERNAL_SERVER_ERROR:
            raise ServerRefusedError(response.status_code, _detail(response))
        response.raise_for_status()
        return response.content

    async def _retrying(self, path: str, body: BaseModel) -> bytes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_deadline_s
        attempt = 0
        while True:
            try:
                return await self._exchange(path, body)
            except (httpx.TransportError, httpx.HTTPStatusError) as err:
                attempt += 1
                delay = min(10.0, 0.2 * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
                if loop.time() + delay > deadline:
                    raise
                log.warning(
                    "server unreachable, retrying", extra={"path": path, "error": repr(err)}
                )
                await asyncio.sleep(delay)

    async def register(self, body: RegisterInstance) -> Registered:
        """Announce this instance."""
        return Registered.model_validate_json(await self._retrying("/instances", body))

    async def claim(self, body: ClaimRequest) -> ClaimResponse:
        """Long-poll for jobs (one attempt: the caller loops)."""
        return ClaimResponse.model_validate_json(await self._exchange("/jobs:claim", body))

    async def report(self, job_id: str, body: ReportResult) -> ReportAck:
        """Report a result, retrying while the server is away."""
        return ReportAck.model_validate_json(await self._retrying(f"/jobs/{job_id}/result", body))

    async def report_many(self, body: ReportResults) -> ReportResultsAck:
        """Report several results in one call, retrying while the server is away."""
        return ReportResultsAck.model_validate_json(await self._retrying("/jobs:report", body))

    async def post_page(self, job_id: str, body: ItemsPage) -> PageAck:
        """Upload one page of items."""
        return PageAck.model_validate_json(await self._retrying(f"/jobs/{job_id}/items", body))

    async def release(self, job_id: str, body: ReleaseRequest) -> None:
        """Give a lease back."""
        await self._retrying(f"/jobs/{job_id}/release", body)

    async def heartbeat(self, body: Heartbeat) -> HeartbeatAck:
        """Say we are alive and extend our leases."""
        return HeartbeatAck.model_validate_json(await self._exchange("/heartbeat", body))

    async def self_check(self, body: ConnectorSelfCheck) -> None:
        """Store a self-check on the connector's record."""
        await self._retrying("/self-check", body)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]
