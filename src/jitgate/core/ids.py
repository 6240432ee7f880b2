"""Identifiers and secrets: random ids, API tokens and their hashes.

Tokens are shown once and stored only as SHA-256 hashes (they are 256-bit random values, so a
fast hash is enough; no salt is needed to resist guessing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid


def new_id() -> str:
    """Return a new random object id (a UUID string)."""
    return str(uuid.uuid4())


def new_token(prefix: str) -> str:
    """Return a new secret token such as ``jg_at_<43 url-safe chars>``."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_token(token: str) -> str:
    """Return the hex SHA-256 of a token, the only form stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(token: str, stored_hash: str) -> bool:
    """Compare a presented token with a stored hash in constant time."""
    return hmac.compare_digest(hash_token(token), stored_hash)
