"""Async iteration over Graph collections: follow ``@odata.nextLink`` verbatim, page by page.

Invariant: only one page is held in memory at a time, so a 100k-user tenant streams through in
bounded memory. Links are followed as whole absolute URLs (graph.md §2: the link carries every
query option; headers such as ``ConsistencyLevel`` are *not* carried and are re-sent by us).
A delta round ends with ``@odata.deltaLink``, kept on the ``Pager`` for the next round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jitgate.graph.limiter import Priority

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping

    from jitgate.graph.client import GraphClient


class Pager:
    """Iterate the pages (lists of objects) of one collection, recording request ids."""

    def __init__(
        self,
        client: GraphClient,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        priority: Priority = Priority.READ,
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._headers = headers
        self._priority = priority
        self.request_ids: list[str] = []
        self.delta_link: str | None = None
        self.pages = 0

    def __aiter__(self) -> AsyncIterator[list[dict[str, Any]]]:
        return self._pages()

    async def _pages(self) -> AsyncIterator[list[dict[str, Any]]]:
        url: str | None = self._path
        params = self._params
        while url is not None:
            response = await self._client.request(
                "GET", url, params=params, headers=self._headers, priority=self._priority
            )
            params = None  # the next link already carries every option
            if response.request_id:
                self.request_ids.append(response.request_id)
            body = response.body if isinstance(response.body, dict) else {}
            self.pages += 1
            value = body.get("value")
            url = body.get("@odata.nextLink")
            if "@odata.deltaLink" in body:
                self.delta_link = body["@odata.deltaLink"]
            yield list(value) if isinstance(value, list) else []

    async def items(self) -> AsyncIterator[dict[str, Any]]:
        """Iterate the objects of every page."""
        async for page in self:
            for item in page:
                yield item

    async def collect(self) -> list[dict[str, Any]]:
        """All objects (for collections known to be small, e.g. owners, role definitions)."""
        return [item async for item in self.items()]
