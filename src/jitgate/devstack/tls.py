"""A test CA and a loopback server certificate for serving ``jitgate server`` over HTTPS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jitgate.emulator.tls import TlsFiles, ensure_tls

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["TlsFiles", "server_tls"]


def server_tls(directory: Path) -> TlsFiles:
    """Create (or reuse) a CA and a certificate for localhost/127.0.0.1/::1 in ``directory``.

    ``ca_bundle`` is what clients (the connector, tests) trust; ``cert_file``/``key_file`` are what
    ``jitgate server --ssl-certfile/--ssl-keyfile`` serves.
    """
    return ensure_tls(directory)
