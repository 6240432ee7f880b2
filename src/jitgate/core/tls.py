"""Verifying TLS contexts for outgoing HTTPS (the server's own calls, e.g. to the sign-in host).

Invariant: verification is never turned off; an operator's CA bundle is trusted in addition to
the system store, never instead of it.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """A verifying TLS context, trusting ``ca_bundle`` in addition to the system store."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context
