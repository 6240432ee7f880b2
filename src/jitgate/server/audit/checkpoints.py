"""Signed checkpoints: the chain's head (seq, hash, legacy cut-over) at a time, under a key id.

A checkpoint is written to the JSON log stream (logger ``jitgate.audit.checkpoint``, message
``audit.checkpoint``, the fields under ``checkpoint``) and kept in ``audit_checkpoint``. Verifying
against a copy kept outside the database proves the chain still holds that head: nothing up to
its seq was altered or removed, and the log was not cut back below it.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from jitgate.server.audit.chain import same, sign_checkpoint
from jitgate.server.audit.models import AuditCheckpoint

if TYPE_CHECKING:
    from datetime import datetime

    from jitgate.server.audit.keys import KeyRing
    from jitgate.server.audit.models import AuditHead

log = logging.getLogger("jitgate.audit.checkpoint")
FIELDS = ("seq", "at", "hash", "legacy_seq", "key_id")


def _signed_fields(cp: dict[str, Any]) -> dict[str, Any]:
    return {name: cp[name] for name in FIELDS}


def checkpoint_record(cp: AuditCheckpoint) -> dict[str, Any]:
    """Return a checkpoint as the plain dict that is logged, served and verified."""
    return {
        "seq": cp.seq,
        "at": cp.at.isoformat(),
        "hash": cp.hash,
        "legacy_seq": cp.legacy_seq,
        "key_id": cp.key_id,
        "signature": cp.signature,
    }


def make_checkpoint(*, ring: KeyRing, head: AuditHead, at: datetime) -> AuditCheckpoint:
    """Sign the head with the active key; log the checkpoint; return the row to add."""
    key_id, key = ring.active_key()
    fields = {
        "seq": head.seq,
        "at": at.isoformat(),
        "hash": head.hash,
        "legacy_seq": head.legacy_seq,
        "key_id": key_id,
    }
    cp = AuditCheckpoint(
        seq=head.seq,
        at=at,
        hash=head.hash,
        legacy_seq=head.legacy_seq,
        key_id=key_id,
        signature=sign_checkpoint(key, fields),
    )
    log.info("audit.checkpoint", extra={"checkpoint": checkpoint_record(cp)})
    return cp


def checkpoint_problem(ring: KeyRing, cp: dict[str, Any]) -> str | None:
    """Tell what is wrong with a checkpoint's form or signature (``None``: it is genuine)."""
    try:
        fields = _signed_fields(cp)
        signature = str(cp["signature"])
        seq = int(fields["seq"])
    except (KeyError, TypeError, ValueError):
        return "the checkpoint lacks seq, at, hash, legacy_seq, key_id or signature"
    key = ring.keys.get(str(fields["key_id"]))
    if key is None:
        return f"checkpoint at seq {seq} is signed with unknown key id {fields['key_id']!r}"
    if not same(sign_checkpoint(key, fields), signature):
        return f"checkpoint at seq {seq} has a bad signature (forged, or the wrong key)"
    return None


def _as_checkpoints(value: object) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [cp for item in value for cp in _as_checkpoints(item)]
    if isinstance(value, dict):
        inner = value.get("checkpoint", value.get("items"))
        if inner is not None:  # a log record, or a page from the API
            return _as_checkpoints(inner)
        return [value]
    msg = "a checkpoint must be a JSON object"
    raise ValueError(msg)


def parse_checkpoints(text: str) -> list[dict[str, Any]]:
    """Read checkpoints from JSON (an object, a list, an API page) or JSON lines (the log).

    Log lines that are not checkpoints are skipped; raise ``ValueError`` if none is found.
    """
    try:
        found = _as_checkpoints(json.loads(text))
    except json.JSONDecodeError:
        found = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and "checkpoint" in record:
                found.extend(_as_checkpoints(record))
    if not found:
        msg = "no checkpoint found (expected JSON with seq, hash, key_id and signature)"
        raise ValueError(msg)
    return found
