"""Settings, read once at an entry point from ``JITGATE_*`` variables and passed down.

Nothing reads the environment at import time: ``Settings()`` is built by the CLI or by tests.
Each default is written once, here: code that needs a timing without a ``Settings`` at hand (a
library caller, a test) takes the field's default through ``default_interval``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

#: API writers at once on PostgreSQL unless ``write_concurrency`` says otherwise.
DEFAULT_PG_WRITERS = 8
#: Connections kept beyond the lanes: the reconciler's tick and its look-ahead, a scrape, a CLI.
RESERVED_CONNECTIONS = 4


class Settings(BaseSettings):
    """The server's configuration."""

    model_config = SettingsConfigDict(env_prefix="JITGATE_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".jitgate"),
        description="Directory for the embedded SQLite database and local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means SQLite in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8080",
        description="The URL people and connectors use to reach the server.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the server listens on.")
    log_level: LogLevel = Field(default="INFO", description="Minimum level of the JSON logs.")
    log_json: bool = Field(default=True, description="Write logs as JSON lines.")
    reconciler_enabled: bool = Field(
        default=True,
        description="Run the reconciler loop inside `jitgate server` (ticks, discovery, drift).",
    )
    reconcile_interval_s: float = Field(
        default=5.0, gt=0, le=3600, description="Seconds between reconciler ticks."
    )
    revocation_objective_s: float = Field(
        default=60.0, gt=0, description="A revocation later than this after ends_at is overdue."
    )
    discovery_interval_s: float = Field(
        default=3600.0, gt=0, description="Seconds between scheduled discovery runs."
    )
    drift_interval_s: float = Field(
        default=900.0, gt=0, description="Seconds between membership reads of managed resources."
    )
    drift_full_read_interval_s: float = Field(
        default=86400.0,
        gt=0,
        description="Group member reads are delta rounds; once the last full round is older than "
        "this, the next read is a full one again (a safety net against missed changes).",
    )
    pim_grace_s: float = Field(
        default=300.0,
        ge=0,
        description="PIM mode: how long after ends_at Entra may take before the broker revokes.",
    )
    late_write_window_s: float = Field(
        default=300.0,
        ge=0,
        description="How long a Graph write whose answer was lost (a timeout) may still land; "
        "a membership removed within it is read again at its end and removed again if present.",
    )
    request_body_limit_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest request body the API reads; a larger one is answered 413.",
    )
    connector_body_limit_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description="Largest request body under /api/connector/v1 (discovery pages).",
    )
    read_concurrency: int = Field(
        default=8,
        ge=1,
        description="API reads (GET/HEAD) served at once; more wait in the read lane.",
    )
    write_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="API writes served at once. Unset: 1 on SQLite (one writer at a time, "
        "queued without a thread or a connection), 8 on PostgreSQL.",
    )
    protocol_concurrency: int = Field(
        default=4,
        ge=1,
        description="Connector protocol calls served at once; a lane of their own, so the "
        "public API never starves the connector.",
    )
    admission_queue: int = Field(
        default=256,
        ge=0,
        description="Requests that may wait for a lane; past it the API answers 503 at once.",
    )
    admission_wait_s: float = Field(
        default=2.0,
        gt=0,
        description="Longest wait for a lane before the API answers 503 with Retry-After.",
    )
    http_keep_alive_s: int = Field(
        default=65,
        ge=1,
        description="Seconds an idle HTTP connection stays open. Longer than the idle timeout of "
        "the clients and proxies in front (httpx 5 s, nginx and cloud load balancers 60 s), so "
        "a client never sends on a connection the server is closing.",
    )
    tls_cert_file: Path | None = Field(
        default=None,
        description="Serve HTTPS with this PEM certificate (chain); needs tls_key_file.",
    )
    tls_key_file: Path | None = Field(
        default=None, description="The PEM private key of tls_cert_file."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="GET /metrics needs `Authorization: Bearer <token>`. Unset, /metrics "
        "answers 401 unless metrics_open is true.",
    )
    metrics_open: bool = Field(
        default=False,
        description="Serve GET /metrics without a token when metrics_token is unset (a private "
        "network only; `jitgate up` turns this on for the demo).",
    )
    auth_failure_limit: int = Field(
        default=20,
        ge=0,
        le=1_000_000,
        description="Failed authentications one client address may make within "
        "auth_failure_window_s before further failures are answered 429 (0: no throttling). "
        "Valid tokens are never throttled.",
    )
    auth_failure_window_s: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="The sliding window, in seconds, of auth_failure_limit.",
    )

    audit_keys: SecretStr | None = Field(
        default=None,
        description='The audit key ring as JSON, `{"active": id, "keys": {id: base64url key}}` '
        "(keys of at least 32 bytes); when set, the key file is not used.",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="The audit key ring file; empty means `<data_dir>/audit-keys.json`, "
        "created 0600 with one random key on first start.",
    )
    audit_checkpoint_every: int = Field(
        default=100,
        ge=0,
        le=1_000_000,
        description="Write a signed audit checkpoint (to the log stream and the database) every "
        "this many events; 0 turns the automatic ones off.",
    )
    db_slow_tx_s: float | None = Field(
        default=None,
        ge=0,
        description="Diagnostics: log each database transaction held open longer than this many "
        "seconds, with where it began (unset: off).",
    )

    oidc_tenant: str | None = Field(
        default=None,
        description="Portal sign-in: the Entra tenant id (a GUID) people sign in from. Unset "
        "(or oidc_client_id unset): the portal's sign-in page says sign-in is not configured.",
    )
    oidc_client_id: str | None = Field(
        default=None, description="Portal sign-in: the application (client) id of the portal app."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None,
        description="Portal sign-in: the portal app's client secret (oidc_certificate_file is "
        "preferred).",
    )
    oidc_certificate_file: Path | None = Field(
        default=None,
        description="Portal sign-in: a PEM file with the portal app's private key and "
        "certificate; used instead of oidc_client_secret when set.",
    )
    oidc_authority_host: str = Field(
        default="https://login.microsoftonline.com",
        description="Portal sign-in: the Entra sign-in host.",
    )
    oidc_redirect_url: str | None = Field(
        default=None,
        description="Portal sign-in: the redirect URI registered on the portal app; empty means "
        "`{base_url}/auth/callback`.",
    )
    oidc_ca_bundle: Path | None = Field(
        default=None,
        description="Portal sign-in: a PEM CA bundle trusted for the sign-in host, in addition "
        "to the system store.",
    )
    oidc_auth_context: str | None = Field(
        default=None,
        description='Portal step-up: the Conditional Access authentication context (e.g. "c1") '
        "requested and required in `acrs`; unset: step-up is prompt=login and max_age=0.",
    )
    oidc_cli_client_id: str | None = Field(
        default=None,
        description="The public client app id `jitgate login --browser` signs in with (a "
        "loopback redirect, like `az login`); unset: the CLI signs in with API tokens only.",
    )
    cli_token_lifetime_s: float = Field(
        default=28800.0,
        gt=0,
        le=604800,
        description="How long the API token `jitgate login --browser` gets lasts (8 h: a "
        "working day).",
    )
    session_idle_s: float = Field(
        default=3600.0, gt=0, description="A portal session unused this long ends."
    )
    session_absolute_s: float = Field(
        default=43200.0, gt=0, description="A portal session ends this long after sign-in."
    )
    mfa_max_age_s: float = Field(
        default=3600.0,
        gt=0,
        description="Actions that need recent MFA ask for a new sign-in with MFA once the last "
        "one is older than this.",
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("db_slow_tx_s", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if value == "" else value

    def oidc_configured(self) -> bool:
        """Tell whether portal sign-in is configured (tenant and client id set)."""
        return bool(self.oidc_tenant and self.oidc_client_id)

    def resolved_redirect_url(self) -> str:
        """The portal's OIDC redirect URI: ``oidc_redirect_url`` or ``{base_url}/auth/callback``."""
        return self.oidc_redirect_url or f"{self.base_url.rstrip('/')}/auth/callback"

    def resolved_write_concurrency(self) -> int:
        """API writes at once: ``write_concurrency``, else 1 on SQLite and 8 on PostgreSQL."""
        if self.write_concurrency is not None:
            return self.write_concurrency
        return 1 if self.resolved_database_url().startswith("sqlite") else DEFAULT_PG_WRITERS

    def pool_size(self) -> int:
        """Database connections one server needs: every lane full, plus the reconciler's."""
        lanes = self.read_concurrency + self.resolved_write_concurrency()
        return lanes + self.protocol_concurrency + RESERVED_CONNECTIONS

    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'jitgate.db').resolve()}"


def default_interval(field: str) -> timedelta:
    """The default of ``Settings``' seconds field ``field``, as a ``timedelta``."""
    seconds: float = Settings.model_fields[field].default
    return timedelta(seconds=seconds)
