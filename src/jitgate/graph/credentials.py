"""azure-identity credentials for the connector, and a token provider that refreshes early.

We use azure-identity's *async* credentials with our own httpx-backed transport (see
``transport.HttpxAzureTransport``): the async credentials post straight to
``{authority}/{tenant}/oauth2/v2.0/token`` without MSAL's instance discovery, so a non-Microsoft
authority (sovereign cloud, private endpoint, the emulator) works with no extra call, and the
operator's CA bundle is the one on our httpx client. ``disable_instance_discovery`` is still
passed through, so behaviour stays right should a credential move to MSAL.

Invariant: Graph calls never wait for a token that is about to expire. ``TokenProvider`` hands
out the cached token until ``refresh_margin`` before its expiry, then fetches a new one once
(single flight) while other callers wait on the same fetch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import (
    CertificateCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)

from jitgate.core.clock import Clock, SystemClock
from jitgate.graph.config import (
    CertificateAuth,
    ClientSecretAuth,
    GraphConfig,
    ManagedIdentityAuth,
    WorkloadIdentityAuth,
)
from jitgate.graph.errors import GraphAuthenticationError
from jitgate.graph.transport import HttpxAzureTransport

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)


class AsyncCredential(Protocol):
    """What we need from an azure-identity async credential."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:  # noqa: ANN401 - azure-core's AccessToken is untyped here
        """Return an ``AccessToken`` (``token``, ``expires_on``)."""
        ...

    async def close(self) -> None:
        """Release the credential's transport."""
        ...


def build_credential(config: GraphConfig, http_client: httpx.AsyncClient) -> AsyncCredential:
    """Create the azure-identity async credential ``config.auth`` describes, on our transport."""
    common: dict[str, Any] = {
        "authority": config.authority_host,
        "transport": HttpxAzureTransport(http_client),
        "disable_instance_discovery": config.disable_instance_discovery,
    }
    auth = config.auth
    if isinstance(auth, ClientSecretAuth):
        return ClientSecretCredential(
            config.tenant_id, auth.client_id, auth.client_secret.get_secret_value(), **common
        )
    if isinstance(auth, CertificateAuth):
        cert: dict[str, Any] = {"send_certificate_chain": auth.send_certificate_chain}
        if auth.certificate_data is not None:
            cert["certificate_data"] = auth.certificate_data.get_secret_value().encode()
        if auth.password is not None:
            cert["password"] = auth.password.get_secret_value()
        path = str(auth.certificate_path) if auth.certificate_path else None
        return CertificateCredential(
            config.tenant_id, auth.client_id, certificate_path=path, **cert, **common
        )
    if isinstance(auth, WorkloadIdentityAuth):
        return WorkloadIdentityCredential(
            tenant_id=config.tenant_id,
            client_id=auth.client_id,
            token_file_path=str(auth.token_file_path),
            **common,
        )
    if isinstance(auth, ManagedIdentityAuth):
        # IMDS and the App Service endpoint are not the authority; only the transport applies.
        return ManagedIdentityCredential(
            client_id=auth.client_id, transport=HttpxAzureTransport(http_client)
        )
    raise TypeError(f"unknown credential kind: {type(auth).__name__}")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Token:
    """An access token and when it stops working."""

    value: str
    expires_at: datetime


class TokenProvider:
    """Caches one Graph token and refreshes it ``refresh_margin`` before it expires."""

    def __init__(
        self,
        credential: AsyncCredential,
        *,
        scope: str,
        clock: Clock | None = None,
        refresh_margin: timedelta = timedelta(minutes=5),
    ) -> None:
        self._credential = credential
        self._scope = scope
        self._clock = clock or SystemClock()
        self._margin = refresh_margin
        self._token: Token | None = None
        self._refresh_after: datetime | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def token(self) -> str:
        """Return a token valid for at least the refresh margin (fetching one if needed)."""
        current = self._token
        if current is not None and not self._due(current):
            return current.value
        async with self._lock:
            current = self._token
            if current is None or self._due(current):
                current = await self._fetch(current)
            return current.value

    def invalidate(self) -> None:
        """Forget the cached token (e.g. after Graph rejected it with 401)."""
        self._token = None

    def _due(self, token: Token) -> bool:
        now = self._clock.now()
        return now >= token.expires_at or (
            self._refresh_after is not None and now >= self._refresh_after
        )

    async def _fetch(self, current: Token | None) -> Token:
        self.fetches += 1
        try:
            access = await self._credential.get_token(self._scope)
        except ClientAuthenticationError as err:
            if current is not None and self._clock.now() < current.expires_at:
                logger.warning("graph token refresh failed; using the current token", exc_info=True)
                return current
            raise GraphAuthenticationError(f"could not obtain a Graph token: {err}") from err
        fresh = Token(str(access.token), datetime.fromtimestamp(int(access.expires_on), UTC))
        now = self._clock.now()
        # azure-identity keeps its own cache and may hand back the same token inside our margin;
        # then wait a little before asking again rather than asking on every call.
        self._refresh_after = max(fresh.expires_at - self._margin, now + timedelta(seconds=30))
        self._token = fresh
        logger.info("graph token acquired", extra={"expires_at": fresh.expires_at.isoformat()})
        return fresh

    async def close(self) -> None:
        """Close the underlying credential."""
        await self._credential.close()
