"""The hash chain: canonical form of an event and the hash that links it to the one before."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical(fields: dict[str, Any]) -> bytes:
    """Serialise an event's fields deterministically (sorted keys, no spaces)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_default).encode()


def link(prev_hash: str, fields: dict[str, Any]) -> str:
    """Return ``sha256(prev_hash || canonical(fields))`` as hex."""
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()
