"""``jitgate server`` as a child process over HTTPS, on SQLite or PostgreSQL."""

from __future__ import annotations

import os
import ssl
import subprocess
from typing import TYPE_CHECKING

import httpx

from jitgate.devstack.process import (
    ManagedProcess,
    StackError,
    free_port,
    jitgate_command,
    wait_for,
)
from jitgate.devstack.tls import server_tls

if TYPE_CHECKING:
    from pathlib import Path


class ServerProcess:
    """Migrates the database, makes admin tokens, serves HTTPS on a fixed free port."""

    def __init__(
        self,
        workdir: Path,
        *,
        database_url: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "server"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{(self.data_dir / 'jitgate.db').resolve()}"
        self.tls = server_tls(workdir / "server-tls")
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.env = {
            "JITGATE_DATA_DIR": str(self.data_dir),
            "JITGATE_DATABASE_URL": self.database_url,
            "JITGATE_HOST": "127.0.0.1",
            "JITGATE_PORT": str(self.port),
            "JITGATE_BASE_URL": self.url,
            "JITGATE_TLS_CERT_FILE": str(self.tls.cert_file),
            "JITGATE_TLS_KEY_FILE": str(self.tls.key_file),
            "JITGATE_RECONCILE_INTERVAL_S": "0.5",
            "JITGATE_METRICS_OPEN": "true",  # the stack's benchmarks read /metrics
            **(env or {}),
        }
        self.process = ManagedProcess(
            "server",
            [*jitgate_command(), "server"],
            env=self.env,
            cwd=workdir,
            log_path=workdir / "logs" / "server.log",
        )

    @property
    def ca_bundle(self) -> Path:
        """The CA that signed the server's certificate."""
        return self.tls.ca_bundle

    def cli(self, *args: str) -> str:
        """Run ``jitgate ARGS`` against this server's database; return stdout."""
        done = subprocess.run(  # noqa: S603 - our own console script
            [*jitgate_command(), *args],
            cwd=self.workdir,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise StackError(f"jitgate {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def upgrade(self) -> None:
        """``jitgate db upgrade``."""
        self.cli("db", "upgrade")

    def create_token(self, user: str, role: str = "admin") -> str:
        """``jitgate admin create-token``: a new API token for ``user`` with ``role``."""
        return self.cli("admin", "create-token", "--user", user, "--role", role).strip()

    def healthy(self) -> bool:
        """True when ``GET /healthz`` answers 200 over HTTPS."""
        try:
            response = httpx.get(
                f"{self.url}/healthz",
                verify=ssl.create_default_context(cafile=str(self.ca_bundle)),
                timeout=2.0,
            )
        except httpx.HTTPError:
            return False
        return response.status_code == httpx.codes.OK

    def start(self, timeout_s: float = 30.0) -> None:
        """Start and wait for ``/healthz``."""
        self.process.start()

        def ready() -> bool:
            self.process.check_alive()
            return self.healthy()

        wait_for(ready, timeout_s=timeout_s, what="the server's /healthz")

    def stop(self) -> None:
        """SIGTERM (graceful)."""
        self.process.stop()

    def kill(self) -> None:
        """``kill -9``."""
        self.process.kill()

    def restart(self, timeout_s: float = 30.0) -> None:
        """Stop (if running) and start again on the same port and database."""
        self.process.stop()
        self.start(timeout_s)
