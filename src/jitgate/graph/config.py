"""Typed configuration of one tenant's Graph connection (embedded in the connector's Settings).

Nothing here reads the environment: the connector builds its Settings at the entry point and
hands a ``GraphConfig`` down. Secrets stay ``SecretStr`` so they never reach a log line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ClientSecretAuth(_Frozen):
    """An app registration's client secret."""

    kind: Literal["client_secret"] = "client_secret"
    client_id: str
    client_secret: SecretStr


class CertificateAuth(_Frozen):
    """An app registration's certificate (PEM or PKCS12 with its private key)."""

    kind: Literal["certificate"] = "certificate"
    client_id: str
    certificate_path: Path | None = None
    certificate_data: SecretStr | None = None
    password: SecretStr | None = None
    #: Send the x5c chain (subject name/issuer auth); off by default.
    send_certificate_chain: bool = False


class ManagedIdentityAuth(_Frozen):
    """An Azure managed identity; ``client_id`` picks a user-assigned one."""

    kind: Literal["managed_identity"] = "managed_identity"
    client_id: str | None = None


class WorkloadIdentityAuth(_Frozen):
    """Workload identity federation: a projected service-account token file (e.g. AKS)."""

    kind: Literal["workload_identity"] = "workload_identity"
    client_id: str
    token_file_path: Path


Auth = Annotated[
    ClientSecretAuth | CertificateAuth | ManagedIdentityAuth | WorkloadIdentityAuth,
    Field(discriminator="kind"),
]


class GraphConfig(_Frozen):
    """Where Graph and the identity platform are, how to authenticate, and how to behave."""

    tenant_id: str
    auth: Auth
    graph_url: str = DEFAULT_GRAPH_URL
    api_version: str = "v1.0"
    authority_host: str = DEFAULT_AUTHORITY
    #: MSAL-based credentials call login.microsoftonline.com for instance discovery before an
    #: unknown authority; disable it for sovereign clouds, private links and the emulator.
    disable_instance_discovery: bool = False
    ca_bundle: Path | None = None
    #: Tenant-size tier whose throttle budget we plan for (graph.md §8).
    tier: Literal["S", "M", "L"] = "L"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    max_connections: int = 32
    max_attempts: int = 6
    retry_deadline_s: float = 120.0
    #: Refresh a token this long before it expires.
    token_refresh_margin_s: float = 300.0
    #: Directory extension attributes read as resource tags (``extension_<appId>_<name>``).
    tag_attributes: tuple[str, ...] = ()

    @field_validator("graph_url", "authority_host")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL (azure-identity rejects anything else)")
        return value.rstrip("/")

    @property
    def base_url(self) -> str:
        """The versioned Graph root, e.g. ``https://graph.microsoft.com/v1.0``."""
        return f"{self.graph_url}/{self.api_version}"

    @property
    def scope(self) -> str:
        """The client-credentials scope for Graph."""
        return f"{DEFAULT_GRAPH_URL}/.default"
