"""The agent's configuration: from ``JITGATE_CONNECTOR_*`` variables and/or a YAML/JSON file.

Graph credentials live here, on the connector's host, and never travel to the server. The kind
of credential is chosen by what is set: a client secret, a certificate, a workload identity
token file, or (with none of those) a managed identity.

Each default is written once, on its field; ``docs/configuration.md`` lists them.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    JsonConfigSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

import jitgate
from jitgate.graph.config import (
    DEFAULT_AUTHORITY,
    DEFAULT_GRAPH_URL,
    CertificateAuth,
    ClientSecretAuth,
    GraphConfig,
    ManagedIdentityAuth,
    WorkloadIdentityAuth,
)
from jitgate.graph.limiter import Budget

if TYPE_CHECKING:
    from pydantic_settings.sources.types import Traversable

#: The prefix of the connector's environment variables.
ENV_PREFIX = "JITGATE_CONNECTOR_"


def default_instance_key() -> str:
    """Host name plus a short random suffix: every process is its own instance."""
    host = "".join(c if c.isalnum() or c in ".-" else "-" for c in socket.gethostname()) or "host"
    return f"{host[:100]}-{uuid.uuid4().hex[:8]}"


class AgentConfig(BaseSettings):
    """Where the server is, who this connector is, how it reaches Graph, how hard it works.

    ``load`` reads, highest precedence first: the explicit overrides (the command line's options;
    ``None`` means not given), the ``JITGATE_CONNECTOR_*`` variables, the ``--config`` file (a
    mapping; ``.json`` is JSON, any other name YAML), then the defaults below. A key of the file
    that names no setting is an error naming it (so is a key whose case differs); a
    ``JITGATE_CONNECTOR_*`` variable that names no setting is ignored, as the server's own
    ``JITGATE_CONNECTOR_BODY_LIMIT_BYTES`` shares the prefix. A config built directly
    (``AgentConfig(url=…, token=…)``: tests, the in-process connector of ``jitgate up``) holds
    what it is given and reads neither.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", case_sensitive=True, validate_default=False
    )

    url: str = Field(description="The jitgate server's base URL.")
    token: SecretStr = Field(description="The connector token (jg_ct_…).")
    instance_key: str = Field(default_factory=default_instance_key)
    server_ca_bundle: Path | None = None
    concurrency: int = Field(default=8, ge=1, le=64, description="Jobs run at once.")
    claim_batch: int = Field(default=20, ge=1, le=50)
    report_concurrency: int = Field(default=4, ge=1, le=64, description="Report calls at once.")
    claim_wait_s: float = Field(default=25.0, ge=0, le=25)
    drain_timeout_s: float = Field(
        default=20.0, ge=0, description="On stop: how long running jobs may finish."
    )
    health_port: int | None = Field(default=None, ge=0, le=65535)
    health_host: str = "127.0.0.1"
    report_deadline_s: float = Field(
        default=300.0, description="How long to keep retrying a report while the server is away."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)
    # Microsoft Graph
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    certificate_path: Path | None = None
    certificate_password: SecretStr | None = None
    federated_token_file: Path | None = None
    managed_identity: bool = False
    authority_host: str = DEFAULT_AUTHORITY
    graph_url: str = DEFAULT_GRAPH_URL
    graph_ca_bundle: Path | None = None
    tier: Literal["S", "M", "L"] = "L"
    write_budget: int = Field(
        default=3000, ge=1, description="Graph writes per window for this app + tenant (§8)."
    )
    write_window_s: float = Field(default=150.0, gt=0)
    disable_instance_discovery: bool = False
    graph_read_timeout_s: float = Field(
        default=60.0, gt=0, description="How long a Graph call may wait for its response."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Built directly, a config holds only what it is given; ``load`` adds the others."""
        del settings_cls, env_settings, dotenv_settings, file_secret_settings
        return (init_settings,)

    @classmethod
    def load(cls, config_file: Path | None = None, **overrides: Any) -> AgentConfig:  # noqa: ANN401
        """Settings from the overrides, then the environment, then the file (if any)."""
        given = {name: value for name, value in overrides.items() if value is not None}
        sources: list[PydanticBaseSettingsSource] = [
            InitSettingsSource(cls, init_kwargs=given),
            EnvSettingsSource(cls, case_sensitive=False),
        ]
        if config_file is not None:
            config_file.open("rb").close()  # a missing or unreadable file is an error, not empty
            source = _JsonFile if config_file.suffix == ".json" else _YamlFile
            sources.append(source(cls, config_file))
        return cls(_build_sources=(tuple(sources), given))

    def graph_config(self) -> GraphConfig:
        """The ``GraphConfig`` for the graph package's credential factory."""
        if not self.tenant_id:
            raise ValueError("tenant_id is required to reach Microsoft Graph")
        return GraphConfig(
            tenant_id=self.tenant_id,
            auth=self._auth(),
            authority_host=self.authority_host,
            graph_url=self.graph_url,
            ca_bundle=self.graph_ca_bundle,
            tier=self.tier,
            disable_instance_discovery=self.disable_instance_discovery,
            read_timeout_s=self.graph_read_timeout_s,
        )

    def graph_budget(self) -> Budget:
        """The write and resource-unit budget the limiter keeps under (graph.md §8)."""
        return replace(
            Budget.for_tier(self.tier),
            write_capacity=float(self.write_budget),
            write_window_s=self.write_window_s,
        )

    def _auth(
        self,
    ) -> ClientSecretAuth | CertificateAuth | WorkloadIdentityAuth | ManagedIdentityAuth:
        if self.client_secret is not None and self.client_id:
            return ClientSecretAuth(client_id=self.client_id, client_secret=self.client_secret)
        if self.certificate_path is not None and self.client_id:
            return CertificateAuth(
                client_id=self.client_id,
                certificate_path=self.certificate_path,
                password=self.certificate_password,
            )
        if self.federated_token_file is not None and self.client_id:
            return WorkloadIdentityAuth(
                client_id=self.client_id, token_file_path=self.federated_token_file
            )
        if self.managed_identity or not self.client_id:
            return ManagedIdentityAuth(client_id=self.client_id)
        raise ValueError(
            "set a client secret, a certificate path, a federated token file, "
            "or managed_identity for the connector's Graph credential"
        )

    def credential_kind(self) -> str:
        """Which credential is in use (reported to the server as metadata, never the secret)."""
        return self._auth().kind

    def instance_metadata(self) -> dict[str, Any]:
        """Facts about this instance for the server (no secrets)."""
        return {
            "host": socket.gethostname(),
            "graph_url": self.graph_url,
            "authority_host": self.authority_host,
            "credential": self.credential_kind() if self.tenant_id else None,
            "agent_version": jitgate.__version__,
            **self.metadata,
            "tenant_id": self.tenant_id,
        }


def _mapping(path: Path | Traversable, loaded: object) -> dict[str, Any]:
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: expected a mapping of settings")  # noqa: TRY004
    return loaded


class _YamlFile(YamlConfigSettingsSource):
    """The ``--config`` file as YAML; it must hold a mapping (an empty file does not)."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        return _mapping(file_path, yaml.safe_load(file_path.read_text(encoding="utf-8")))


class _JsonFile(JsonConfigSettingsSource):
    """The ``--config`` file as JSON; it must hold a mapping."""

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        return _mapping(file_path, json.loads(file_path.read_text(encoding="utf-8")))
