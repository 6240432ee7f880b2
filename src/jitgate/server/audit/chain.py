"""The hash chain: canonical form of an event and the hash that links it to the one before.

Keyed events (every event after the legacy cut-over) link with
``HMAC-SHA256(key, prev_hash || canonical(fields))``, ``fields`` including the key id, so the
chain cannot be recomputed without the key. Legacy events (written before keys existed, up to
``audit_head.legacy_seq``) keep the unkeyed ``sha256`` link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
CHECKPOINT_DOMAIN = b"jitgate-audit-checkpoint-v1\n"


def _default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical(fields: dict[str, Any]) -> bytes:
    """Serialise an event's fields deterministically (sorted keys, no spaces)."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), default=_default).encode()


def link(prev_hash: str, fields: dict[str, Any]) -> str:
    """Return ``sha256(prev_hash || canonical(fields))`` as hex (legacy events only)."""
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()


def keyed_link(key: bytes, prev_hash: str, fields: dict[str, Any]) -> str:
    """Return ``HMAC-SHA256(key, prev_hash || canonical(fields))`` as hex."""
    return hmac.new(key, prev_hash.encode() + canonical(fields), hashlib.sha256).hexdigest()


def sign_checkpoint(key: bytes, fields: dict[str, Any]) -> str:
    """Return a checkpoint's signature: HMAC-SHA256 over a domain tag and its fields."""
    return hmac.new(key, CHECKPOINT_DOMAIN + canonical(fields), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    """Compare two hex digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
