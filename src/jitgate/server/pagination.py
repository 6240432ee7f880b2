"""One page shape for every list endpoint: items, total, limit, offset."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000

# Every list endpoint takes these two; bounded so no value can overflow a database integer.
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")]
OffsetQuery = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description="How many matching items to skip.")
]


class Page(BaseModel, Generic[T]):
    """A page of results."""

    items: list[T]
    total: int = Field(description="How many items match in all.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many matching items come before this page.")
