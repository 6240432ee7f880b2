"""``jitgate connector run`` as a child process with the emulator's Graph credentials."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx

from jitgate.devstack.process import (
    ManagedProcess,
    free_port,
    jitgate_command,
    wait_for,
)

if TYPE_CHECKING:
    from pathlib import Path

    from jitgate.devstack.emulator import EmulatorInfo


class ConnectorProcess:
    """A connector agent configured by a JSON file; ready when its ``/healthz`` says 200."""

    def __init__(
        self,
        workdir: Path,
        *,
        server_url: str,
        server_ca_bundle: Path,
        token: str,
        emulator: EmulatorInfo,
        name: str = "connector",
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.health_port = free_port()
        self.config_file = workdir / f"{name}.json"
        config = {
            "url": server_url,
            "token": token,
            "server_ca_bundle": str(server_ca_bundle),
            "tenant_id": emulator.tenant_id,
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
            "authority_host": emulator.authority_host,
            "graph_url": emulator.base_url,  # the Graph client adds /v1.0
            "graph_ca_bundle": str(emulator.ca_bundle),
            "disable_instance_discovery": True,
            "health_port": self.health_port,
            "claim_wait_s": 5.0,
            "drain_timeout_s": 5.0,
            **(settings or {}),
        }
        self.config_file.write_text(json.dumps(config, indent=2))
        self.config_file.chmod(0o600)
        self.process = ManagedProcess(
            name,
            [*jitgate_command(), "connector", "run", f"--config={self.config_file}"],
            env={},
            cwd=workdir,
            log_path=workdir / "logs" / f"{name}.log",
        )

    def healthy(self) -> bool:
        """True when the agent's ``/healthz`` answers 200 (registered and claiming)."""
        try:
            response = httpx.get(f"http://127.0.0.1:{self.health_port}/healthz", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait until it is registered and claiming."""
        self.process.start()

        def ready() -> bool:
            self.process.check_alive()
            return self.healthy()

        wait_for(ready, timeout_s=timeout_s, what="the connector's /healthz")

    def stop(self) -> None:
        """SIGTERM (graceful: finish or release leases)."""
        self.process.stop()

    def kill(self) -> None:
        """``kill -9``."""
        self.process.kill()

    def restart(self, timeout_s: float = 30.0) -> None:
        """Stop (if running) and start again (a new instance key)."""
        self.process.stop()
        self.start(timeout_s)
