"""One page shape for every list endpoint: items, total, limit, offset."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """A page of results."""

    items: list[T]
    total: int = Field(description="How many items match in all.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many matching items come before this page.")
