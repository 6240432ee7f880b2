"""Connector protocol v1, instances: registration, heartbeats (lease extension), self-check.

A heartbeat names the leases the instance still works on; each named lease is extended, and the
answer lists the leases that are lost (the instance stops working on those).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, Field

from jitgate.protocol.v1.common import INSTANCE_KEY, MAX_CLAIM, MAX_WAIT_S, Message
from jitgate.protocol.v1.results import SelfCheckData  # noqa: TC001 - a pydantic field type


class RegisterInstance(Message):
    """An instance announces itself (upserted by connector id and instance key)."""

    instance_key: str = INSTANCE_KEY
    version: str = Field(max_length=32, description="The agent's version.", examples=["0.1.0"])
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description="Free-form facts: cloud, host, region, Graph base URL, credential kind.",
        examples=[{"cloud": "AzureCloud", "host": "vm-jit-01", "credential": "managed_identity"}],
    )


class Registered(Message):
    """The server's answer to a registration."""

    connector_id: str
    connector_name: str
    instance_key: str
    protocol: Literal["v1"] = "v1"
    max_wait_s: float = MAX_WAIT_S
    heartbeat_interval_s: float = Field(description="Send a heartbeat at least this often.")
    lease_s: float = Field(description="How long a lease lasts unless a heartbeat extends it.")


class LeaseRef(Message):
    """A lease an instance holds."""

    job_id: str
    lease_token: str


class Heartbeat(Message):
    """I am alive; these are the leases I am still working on (each is extended)."""

    instance_key: str = INSTANCE_KEY
    leases: list[LeaseRef] = Field(default_factory=list, max_length=MAX_CLAIM * 4)


class HeartbeatAck(Message):
    """Which leases were extended, and which are lost (stop working on those)."""

    extended: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)
    lease_expires_at: AwareDatetime | None = None


class ConnectorSelfCheck(Message):
    """A self-check run outside a job (on start): stored on the connector's record."""

    instance_key: str = INSTANCE_KEY
    result: SelfCheckData
