"""A result report answered 503 (the server lost a lock race) is sent again, not dropped."""

from __future__ import annotations

import asyncio

import httpx

from jitgate.connector.client import ServerClient
from jitgate.protocol.v1 import JobResult, Outcome, ReportAck, ReportResult


def test_a_503_report_is_retried_until_it_is_accepted():
    calls: list[str] = []
    ack = ReportAck(job_id="job-1", status="succeeded")

    def server(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if len(calls) == 1:
            return httpx.Response(
                503,
                headers={"Retry-After": "1", "Content-Type": "application/problem+json"},
                json={"type": "about:blank", "title": "Service busy", "status": 503},
            )
        return httpx.Response(200, content=ack.model_dump_json())

    async def report() -> ReportAck:
        client = ServerClient("http://server", "jg_ct_x", transport=httpx.MockTransport(server))
        try:
            body = ReportResult(
                instance_key="i-1",
                lease_token="t-1",
                result=JobResult(outcome=Outcome.SUCCEEDED),
            )
            return await client.report("job-1", body)
        finally:
            await client.aclose()

    assert asyncio.run(report()) == ack
    assert len(calls) == 2
    assert calls[0] == calls[1]
    assert calls[0].endswith("/jobs/job-1/result")
