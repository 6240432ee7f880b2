"""The whole local stack: emulator, server and connector as separate processes over HTTPS."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any, Self

import httpx

from jitgate.devstack.connector import ConnectorProcess
from jitgate.devstack.emulator import EmulatorAdmin, EmulatorInfo, EmulatorProcess
from jitgate.devstack.process import StackError, wait_for
from jitgate.devstack.server import ServerProcess

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path
    from types import TracebackType

ADMIN_UPN = "admin@jitgate.local"


class DevStack:
    """Start, stop, kill and restart the three processes; talk to them.

    ``start()`` runs the emulator, migrates the database, makes an admin token and starts the
    server. ``add_connector()`` creates a connector through the API and starts its agent;
    ``add_integration()`` creates an Entra ID integration on it and waits for discovery.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None = None,
        emulator_seed: str = "demo",
        emulator_args: Sequence[str] = ("--no-throttling",),
        server_env: dict[str, str] | None = None,
        connector_settings: dict[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.emulator = EmulatorProcess(workdir, seed=emulator_seed, extra_args=emulator_args)
        self.server = ServerProcess(workdir, database_url=database_url, env=server_env)
        self.connector_settings = connector_settings or {}
        self.connector: ConnectorProcess | None = None
        self.connector_id: str | None = None
        self.admin_token = ""
        self._api: httpx.Client | None = None

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        """Emulator, then ``db upgrade`` + admin token, then the server."""
        self.emulator.launch()  # starts while the database is migrated
        self.server.upgrade()
        self.admin_token = self.server.create_token(ADMIN_UPN, "admin")
        self.emulator.wait_ready()
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop everything gracefully (connector first)."""
        if self._api is not None:
            self._api.close()
            self._api = None
        if self.connector is not None:
            self.connector.stop()
        self.server.stop()
        self.emulator.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # clients ---------------------------------------------------------------------------------
    @property
    def server_url(self) -> str:
        """``https://127.0.0.1:PORT``."""
        return self.server.url

    @property
    def emulator_info(self) -> EmulatorInfo:
        """The emulator's connection details."""
        if self.emulator.info is None:
            raise StackError("the emulator is not running")
        return self.emulator.info

    @property
    def graph(self) -> EmulatorAdmin:
        """The emulator's admin API (faults, latency, replication lag, clock, export)."""
        return self.emulator.require_admin()

    def client(self, token: str | None = None) -> httpx.Client:
        """A new HTTPS client for ``/api/v1`` with ``token`` (default: the admin token)."""
        return httpx.Client(
            base_url=f"{self.server.url}/api/v1",
            headers={"Authorization": f"Bearer {token or self.admin_token}"},
            verify=ssl.create_default_context(cafile=str(self.server.ca_bundle)),
            timeout=30.0,
        )

    @property
    def api(self) -> httpx.Client:
        """A shared admin client for ``/api/v1``."""
        if self._api is None:
            self._api = self.client()
        return self._api

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:  # noqa: ANN401
        """One admin API call that must succeed; returns the JSON body."""
        response = self.api.request(method, path, json=body, params=params or None)
        if response.is_error:
            raise StackError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    # connector and integration ---------------------------------------------------------------
    def add_connector(self, name: str = "devstack") -> str:
        """Create a connector through the API, start its agent, wait until CONNECTED."""
        created = self.call("POST", "/connectors", {"name": name})
        self.connector_id = str(created["id"])
        self.connector = ConnectorProcess(
            self.workdir,
            server_url=self.server.url,
            server_ca_bundle=self.server.ca_bundle,
            token=str(created["token"]),
            emulator=self.emulator_info,
            settings=self.connector_settings,
        )
        self.connector.start()
        self.wait_connected()
        return self.connector_id

    def connector_status(self) -> str:
        """CONNECTED or DISCONNECTED, as the server sees it."""
        return str(self.call("GET", f"/connectors/{self.connector_id}")["status"]).upper()

    def wait_connected(self, timeout_s: float = 30.0) -> None:
        """Wait until the server lists the connector as CONNECTED."""
        wait_for(
            lambda: self.connector_status() == "CONNECTED",
            timeout_s=timeout_s,
            what="the connector to be CONNECTED",
            interval_s=0.1,
        )

    def require_connector(self) -> ConnectorProcess:
        """The connector process (``add_connector`` must have run)."""
        if self.connector is None:
            raise StackError("no connector: call add_connector() first")
        return self.connector

    def add_integration(
        self,
        name: str = "Contoso Entra ID",
        *,
        timeout_s: float = 60.0,
        **fields: Any,  # noqa: ANN401
    ) -> str:
        """Create an Entra ID integration on the connector; wait until discovery made it active."""
        if self.connector_id is None:
            self.add_connector()
        body = {"name": name, "connector_id": self.connector_id, **fields}
        integration_id = str(self.call("POST", "/integrations", body)["id"])

        def active() -> bool:
            row = self.call("GET", f"/integrations/{integration_id}")
            if row["status"] == "error":
                raise StackError(f"discovery failed: {row['status_message']}")
            return bool(row["status"] == "active")

        wait_for(active, timeout_s=timeout_s, what="discovery to finish", interval_s=0.2)
        return integration_id

    def resources(self, integration_id: str) -> list[dict[str, Any]]:
        """Every discovered resource of an integration."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.call(
                "GET",
                f"/integrations/{integration_id}/resources",
                limit=500,
                offset=len(found),
            )
            items = page["items"] if isinstance(page, dict) else page
            found.extend(items)
            if len(items) < 500:  # noqa: PLR2004 - the page size asked for
                return found
