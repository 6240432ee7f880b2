"""The audit key ring: HMAC keys kept outside the database, by key id.

Invariants: a key never enters the database; each keyed event and checkpoint records the id of
the key that signed it, so rotation (a new active key, the old ones kept) leaves old events
verifying. The ring comes from ``JITGATE_AUDIT_KEYS`` (JSON), else a key file
(``audit_key_file``, default ``<data_dir>/audit-keys.json``) created 0600 on first start.

Sessions find the ring through their engine (``bind_key_ring``, done by every entry point). An
engine nobody bound (library use, tests) gets one ephemeral process-wide ring: its events can be
verified only inside that process, never silently unkeyed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakKeyDictionary

from sqlalchemy.engine import Connection, Engine

from jitgate.core.errors import JitgateError

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

    from jitgate.core.settings import Settings

KEY_BYTES = 32
MAX_KEY_ID = 32


class AuditKeyError(JitgateError):
    """The audit key ring is missing, unreadable or malformed."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "audit-key-ring"
    title: ClassVar[str] = "Audit key ring unusable"


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Key id -> key, the active id new events are signed with, and the checkpoint cadence."""

    keys: dict[str, bytes]
    active: str
    checkpoint_every: int = 0
    ephemeral: bool = field(default=False, compare=False)

    def active_key(self) -> tuple[str, bytes]:
        """Return ``(key id, key)`` of the active key."""
        return self.active, self.keys[self.active]


def new_key_id() -> str:
    """A fresh, unguessable-enough key id (``k`` + 12 hex digits)."""
    return "k" + secrets.token_hex(6)


def parse_ring(text: str, *, checkpoint_every: int = 0) -> KeyRing:
    """Parse ``{"active": id, "keys": {id: base64 key}}``; raise ``AuditKeyError`` if bad."""
    try:
        data = json.loads(text)
        keys = {str(k): base64.urlsafe_b64decode(v) for k, v in data["keys"].items()}
        active = str(data["active"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        msg = "the audit key ring is not valid JSON of the form {active, keys}"
        raise AuditKeyError(msg) from err
    if active not in keys:
        msg = f"the audit key ring's active key {active!r} is not among its keys"
        raise AuditKeyError(msg)
    for key_id, key in keys.items():
        if not key_id or len(key_id) > MAX_KEY_ID or len(key) < KEY_BYTES:
            msg = f"audit key {key_id!r}: ids are 1-32 characters, keys at least 32 bytes"
            raise AuditKeyError(msg)
    return KeyRing(keys=keys, active=active, checkpoint_every=checkpoint_every)


def dump_ring(ring: KeyRing) -> str:
    """Serialise a ring to its file form."""
    keys = {k: base64.urlsafe_b64encode(v).decode() for k, v in ring.keys.items()}
    return json.dumps({"active": ring.active, "keys": keys}, indent=2, sort_keys=True) + "\n"


def _write_new(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def key_file(settings: Settings) -> Path:
    """Where the key ring file lives."""
    return settings.audit_key_file or settings.data_dir / "audit-keys.json"


def load_ring(settings: Settings, *, create: bool = True) -> KeyRing:
    """Load the ring from the environment or the key file (created 0600 if ``create``)."""
    every = settings.audit_checkpoint_every
    if settings.audit_keys is not None:
        return parse_ring(settings.audit_keys.get_secret_value(), checkpoint_every=every)
    path = key_file(settings)
    if not path.exists():
        if not create:
            msg = f"no audit key ring at {path} (start the server once, or set JITGATE_AUDIT_KEYS)"
            raise AuditKeyError(msg)
        key_id = new_key_id()
        fresh = KeyRing(keys={key_id: secrets.token_bytes(KEY_BYTES)}, active=key_id)
        # Another process may create it first: then read theirs.
        with contextlib.suppress(FileExistsError):
            _write_new(path, dump_ring(fresh))
    try:
        text = path.read_text()
    except OSError as err:
        msg = f"cannot read the audit key ring {path}: {err.strerror}"
        raise AuditKeyError(msg) from err
    return parse_ring(text, checkpoint_every=every)


def rotate_ring(settings: Settings) -> str:
    """Add a new active key to the key file (old keys kept); return its id."""
    if settings.audit_keys is not None:
        msg = "the key ring comes from JITGATE_AUDIT_KEYS: rotate it there"
        raise AuditKeyError(msg)
    ring = load_ring(settings, create=False)
    key_id = new_key_id()
    rotated = KeyRing(keys={**ring.keys, key_id: secrets.token_bytes(KEY_BYTES)}, active=key_id)
    path = key_file(settings)
    staging = path.with_name(path.name + ".new")
    staging.unlink(missing_ok=True)
    _write_new(staging, dump_ring(rotated))
    staging.replace(path)
    return key_id


_BOUND: WeakKeyDictionary[Engine, KeyRing] = WeakKeyDictionary()
_EPHEMERAL: list[KeyRing] = []


def bind_key_ring(engine: Engine, ring: KeyRing) -> None:
    """Make ``ring`` the key ring of every session on ``engine``."""
    _BOUND[engine] = ring


def _ephemeral() -> KeyRing:
    if not _EPHEMERAL:
        key_id = "ephemeral"
        _EPHEMERAL.append(
            KeyRing(keys={key_id: secrets.token_bytes(KEY_BYTES)}, active=key_id, ephemeral=True)
        )
    return _EPHEMERAL[0]


def ring_for(session: Session) -> KeyRing:
    """The key ring of the engine ``session`` is bound to (ephemeral if none was bound)."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if isinstance(engine, Engine) and engine in _BOUND:
        return _BOUND[engine]
    return _ephemeral()
