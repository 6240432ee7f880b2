"""``$batch`` execution: up to 20 requests a round trip, a result for each, inner retries.

Graph answers 200 for any batch that parses and puts each request's real status inside
(graph.md §6). So the executor:

* sends requests in priority order, 20 per ``POST /$batch``, several batches concurrently (the
  limiter decides the pace and the order);
* maps every inner failure with the same ``error_from_response`` as top-level calls;
* retries only the inner requests that failed with a retryable status (429, 5xx), after the
  longest ``Retry-After`` among them (SDKs do not do this; we must), bounded by attempts and the
  deadline; and tells the limiter, so other callers slow down too;
* returns one ``BatchResult`` per input, in input order; a write whose ``$batch`` was sent
  and whose answer was lost on any try is ``ambiguous`` (it may still land; see ``client``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from jitgate.graph.client import estimate_cost
from jitgate.graph.errors import (
    GraphError,
    GraphFailedDependency,
    GraphTransient,
    error_from_response,
)
from jitgate.graph.limiter import Priority

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jitgate.graph.client import GraphClient
    from jitgate.graph.limiter import AdaptiveLimiter

logger = logging.getLogger(__name__)

MAX_BATCH = 20


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One inner request; ``url`` is relative to the version root (``/groups/{id}/...``)."""

    method: str
    url: str
    body: Any = None
    priority: Priority = Priority.READ
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Index (in the same ``execute`` call) of a request this one must run after.
    depends_on: int | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What happened to one inner request."""

    status: int
    body: Any
    request_id: str | None
    error: GraphError | None = None
    attempts: int = 1
    #: A write sent in a ``$batch`` whose answer was lost on some try: it may still land.
    ambiguous: bool = False

    @property
    def ok(self) -> bool:
        """Whether the request succeeded."""
        return self.error is None


@dataclass(slots=True)
class BatchStats:
    """Counters for benches and metrics."""

    batches: int = 0
    inner_throttled: int = 0
    inner_retried: int = 0


def build_payload(requests: Sequence[tuple[int, BatchRequest]]) -> dict[str, Any]:
    """The JSON body of one ``$batch`` call; inner ids are the caller's indexes."""
    ids = {index for index, _ in requests}
    entries: list[dict[str, Any]] = []
    for index, req in requests:
        entry: dict[str, Any] = {"id": str(index), "method": req.method.upper(), "url": req.url}
        headers = dict(req.headers)
        if req.body is not None:
            entry["body"] = req.body
            headers.setdefault("Content-Type", "application/json")
        if headers:
            entry["headers"] = headers
        if req.depends_on is not None and req.depends_on in ids:
            entry["dependsOn"] = [str(req.depends_on)]
        entries.append(entry)
    return {"requests": entries}


class BatchExecutor:
    """Runs many requests through ``$batch`` with per-request results."""

    def __init__(self, client: GraphClient, *, concurrency: int = 4) -> None:
        self._client = client
        self._concurrency = concurrency
        self.stats = BatchStats()

    async def execute(self, requests: Sequence[BatchRequest]) -> list[BatchResult]:
        """Run ``requests``; the result list is in the same order."""
        results: list[BatchResult | None] = [None] * len(requests)
        attempts = [0] * len(requests)
        lost = [False] * len(requests)
        pending = sorted(range(len(requests)), key=lambda i: (requests[i].priority, i))
        policy = self._client.retry
        started = self._client.timer.monotonic()
        while pending:
            retry, pause = await self._round(requests, pending, results, (attempts, lost))
            if not retry:
                break
            elapsed = self._client.timer.monotonic() - started
            over = [i for i in retry if attempts[i] >= policy.max_attempts]
            if elapsed + pause > policy.deadline_s:
                over = retry
            for i in over:
                logger.warning("graph batch item gave up", extra={"index": i})
            pending = [i for i in retry if i not in set(over)]
            if pending:
                self.stats.inner_retried += len(pending)
                await self._client.timer.sleep(pause)
        return [r if r is not None else _gave_up() for r in results]

    async def _round(
        self,
        requests: Sequence[BatchRequest],
        pending: list[int],
        results: list[BatchResult | None],
        counts: tuple[list[int], list[bool]],
    ) -> tuple[list[int], float]:
        """Send ``pending`` once; return what to retry and how long to wait first."""
        attempts, lost = counts
        queue = deque(_chunks(requests, pending))
        workers = min(self._concurrency, len(queue))

        async def worker() -> None:
            while queue:
                chunk = self._sized(requests, queue)
                for index, sent in await self._send(requests, chunk):
                    attempts[index] += 1
                    lost[index] = lost[index] or sent.ambiguous
                    results[index] = BatchResult(
                        sent.status,
                        sent.body,
                        sent.request_id,
                        sent.error,
                        attempts[index],
                        lost[index],
                    )

        async with asyncio.TaskGroup() as group:
            for _ in range(workers):
                group.create_task(worker())
        retry: list[int] = []
        pause = 0.0
        for index in pending:
            err = _error_of(results[index])
            if err is not None and err.retryable:
                retry.append(index)
                pause = max(pause, self._client.retry.delay_for(err, attempts[index]))
        for index in pending:
            # Skipped because what it depends on failed retryably: try it again with it.
            err = _error_of(results[index])
            if isinstance(err, GraphFailedDependency) and requests[index].depends_on in retry:
                retry.append(index)
        return sorted(retry, key=lambda i: (requests[i].priority, i)), pause

    def _sized(self, requests: Sequence[BatchRequest], queue: deque[list[int]]) -> list[int]:
        """The next chunk, cut to the limiter's batch size (chunks with dependencies stay whole)."""
        chunk = queue.popleft()
        size = self._client.limiter.batch_size(MAX_BATCH)
        if len(chunk) <= size or any(requests[i].depends_on is not None for i in chunk):
            return chunk
        queue.appendleft(chunk[size:])
        return chunk[:size]

    async def _send(
        self, requests: Sequence[BatchRequest], chunk: list[int]
    ) -> list[tuple[int, BatchResult]]:
        items = [(i, requests[i]) for i in chunk]
        priority = min(req.priority for _, req in items)
        ru = sum(estimate_cost(req.method, req.url) for _, req in items)
        writes = float(sum(1 for _, req in items if req.method.upper() != "GET"))
        self.stats.batches += 1
        try:
            response = await self._client.request(
                "POST",
                "/$batch",
                json_body=build_payload(items),
                priority=priority,
                cost=(ru, writes),
            )
        except GraphError as err:
            # The whole batch failed after the client's own retries: every item shares the error.
            return [
                (
                    i,
                    BatchResult(
                        err.http_status or 0,
                        None,
                        err.request_id,
                        err,
                        ambiguous=err.ambiguous and _is_write(requests[i]),
                    ),
                )
                for i in chunk
            ]
        by_id = {str(r.get("id")): r for r in (response.body or {}).get("responses", [])}
        out: list[tuple[int, BatchResult]] = []
        feedback = _Feedback()
        for index in chunk:
            inner = by_id.get(str(index))
            result = self._inner_result(inner, response.request_id)
            if response.ambiguous and _is_write(requests[index]):
                result = replace(result, ambiguous=True)
            out.append((index, result))
            feedback.add(requests[index], inner, result)
        feedback.tell(self._client.limiter, response.sent_at)
        return out

    def _inner_result(self, inner: Mapping[str, Any] | None, outer_id: str | None) -> BatchResult:
        if inner is None:
            missing = GraphTransient("the batch answer has no response for this request")
            return BatchResult(0, None, outer_id, missing)
        status = int(inner.get("status", 0))
        headers = {str(k).lower(): str(v) for k, v in (inner.get("headers") or {}).items()}
        body = inner.get("body")
        request_id = headers.get("request-id") or _inner_request_id(body) or outer_id
        if status < HTTPStatus.BAD_REQUEST:
            return BatchResult(status, body, request_id)
        err = error_from_response(status, body, headers)
        if err.request_id is None:
            err.request_id = request_id
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            self.stats.inner_throttled += 1
        else:
            self._client.note_error(err)
        return BatchResult(status, body, request_id, err)


@dataclass(slots=True)
class _Feedback:
    """What one ``$batch`` answer tells the limiter: its inner 429s as one answer, its headers.

    Graph sends ``x-ms-resource-unit`` (and, past 80 % of the budget,
    ``x-ms-throttle-limit-percentage``) on each inner response; the limiter hears their sum and
    their maximum, once per batch.
    """

    ru: float = 0.0
    writes: float = 0.0
    admitted_ru: float = 0.0
    admitted_writes: float = 0.0
    throttled: int = 0
    retry_after: float | None = None
    information: str | None = None
    reported_ru: float = 0.0
    estimated_ru: float = 0.0
    used: float | None = None

    def add(
        self, request: BatchRequest, inner: Mapping[str, Any] | None, result: BatchResult
    ) -> None:
        ru = estimate_cost(request.method, request.url)
        writes = 1.0 if _is_write(request) else 0.0
        self.ru += ru
        self.writes += writes
        headers = {str(k).lower(): str(v) for k, v in ((inner or {}).get("headers") or {}).items()}
        if result.status == HTTPStatus.TOO_MANY_REQUESTS:
            self.throttled += 1
            after = result.error.retry_after if result.error is not None else None
            if after is not None:
                self.retry_after = max(self.retry_after or 0.0, after)
            self.information = self.information or headers.get("x-ms-throttle-information")
            return
        self.admitted_ru += ru
        self.admitted_writes += writes
        unit = _number(headers.get("x-ms-resource-unit"))
        if unit is not None:
            self.reported_ru += unit
            self.estimated_ru += ru
        used = _number(headers.get("x-ms-throttle-limit-percentage"))
        if used is not None:
            self.used = max(self.used or 0.0, used)

    def tell(self, limiter: AdaptiveLimiter, sent_at: float | None) -> None:
        if self.throttled:
            limiter.throttled(
                self.retry_after,
                sent_at=sent_at,
                information=self.information,
                answers=self.throttled,
                sent=(self.ru, self.writes),
                admitted=(self.admitted_ru, self.admitted_writes),
            )
            return
        headers: dict[str, str] = {}
        if self.estimated_ru:
            headers["x-ms-resource-unit"] = str(self.reported_ru)
        if self.used is not None:
            headers["x-ms-throttle-limit-percentage"] = str(self.used)
        if headers:
            limiter.observe(headers, ru=self.estimated_ru or self.ru, writes=self.writes)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _is_write(request: BatchRequest) -> bool:
    return request.method.upper() not in {"GET", "HEAD"}


def _error_of(result: BatchResult | None) -> GraphError | None:
    return result.error if result is not None else None


def _inner_request_id(body: object) -> str | None:
    if isinstance(body, dict):
        inner = (body.get("error") or {}).get("innerError") or (body.get("error") or {}).get(
            "innererror"
        )
        if isinstance(inner, dict) and inner.get("request-id"):
            return str(inner["request-id"])
    return None


def _chunks(requests: Sequence[BatchRequest], pending: list[int]) -> list[list[int]]:
    """Split into batches of at most 20, keeping a request with the one it depends on."""
    chunks: list[list[int]] = []
    current: list[int] = []
    for index in pending:
        if len(current) >= MAX_BATCH:
            dep = requests[index].depends_on
            carried = [dep] if dep is not None and dep in current else []
            chunks.append([i for i in current if i not in carried])
            current = carried
        current.append(index)
    if current:
        chunks.append(current)
    return chunks


def _gave_up() -> BatchResult:
    return BatchResult(0, None, None, GraphTransient("gave up before sending"))
