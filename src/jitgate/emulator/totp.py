"""Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP), for the sign-in page's MFA step.

HMAC-SHA1, 30 s steps, 6 digits, as authenticator apps use them. Times are POSIX seconds from the
caller (the emulator clock); this module never reads the wall clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct

STEP_S = 30
DIGITS = 6
WINDOW = 1  # steps accepted either side of the current one


def decode_secret(secret: str) -> bytes:
    """Return the key bytes of a base32 secret (spaces and missing padding tolerated)."""
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def new_secret() -> str:
    """Return a fresh random base32 secret (160 bits, unpadded)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Return the RFC 4226 HOTP value of ``counter``."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(now: float) -> int:
    """Return the RFC 6238 time step of POSIX seconds ``now``."""
    return int(now // STEP_S)


def totp(secret: str, now: float) -> str:
    """Return the 6-digit code for base32 ``secret`` at ``now``."""
    return hotp(decode_secret(secret), time_step(now))


def matching_step(secret: str, code: str, now: float) -> int | None:
    """Return the time step (within one step of ``now``) whose code is ``code``, else None."""
    presented = code.strip().replace(" ", "")
    if len(presented) != DIGITS or not presented.isdigit():
        return None
    key = decode_secret(secret)
    current = time_step(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(hotp(key, step), presented):
            return step
    return None
