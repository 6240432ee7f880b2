"""Shared path and query parameter types: ids and free text that every database can store."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

# PostgreSQL text cannot hold NUL; refusing it up front keeps a 500 from becoming possible.
NO_NUL = r"^[^\x00]*$"

IdPath = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", examples=["3f1c…"])
]
