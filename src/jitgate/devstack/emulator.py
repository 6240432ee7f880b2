"""``jitgate emulator`` as a child process, and a client for its admin API (``/_emulator/``)."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from jitgate.devstack.process import ManagedProcess, StackError, jitgate_command, wait_for

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True)
class EmulatorInfo:
    """The JSON line the emulator prints on start."""

    authority_host: str
    graph_url: str
    ca_bundle: Path
    tenant_id: str
    client_id: str
    client_secret: str

    @property
    def base_url(self) -> str:
        """``https://127.0.0.1:PORT`` (the admin API lives under ``/_emulator/``)."""
        return self.authority_host.rstrip("/")


class EmulatorAdmin:
    """Faults, latency, replication lag, clock, seeding and export, over HTTPS."""

    def __init__(self, info: EmulatorInfo) -> None:
        self.http = httpx.Client(
            base_url=f"{info.base_url}/_emulator",
            verify=ssl.create_default_context(cafile=str(info.ca_bundle)),
            timeout=30.0,
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:  # noqa: ANN401 - JSON
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def settings(self, **changes: Any) -> dict[str, Any]:  # noqa: ANN401 - any knob
        """Change knobs (``tier``, ``throttling``, ``latency_ms``, ``replication_lag_ms``, …)."""
        if not changes:
            return dict(self._call("GET", "/settings"))
        return dict(self._call("PATCH", "/settings", changes))

    def set_faults(self, rules: Sequence[dict[str, Any]]) -> None:
        """Replace the fault rules: ``{"route", "status" (0 drops), "probability", "count"}``."""
        self._call("PUT", "/faults", {"rules": list(rules)})

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "/faults")

    def set_latency(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        """Add latency to every response."""
        self.settings(latency_ms=latency_ms, jitter_ms=jitter_ms)

    def set_replication_lag(self, lag_ms: float) -> None:
        """Make reads lag writes."""
        self.settings(replication_lag_ms=lag_ms)

    def writes(self) -> list[tuple[float, str]]:
        """Every membership write that changed something: (POSIX seconds, "add"|"remove")."""
        return [(float(at), str(op)) for at, op in self._call("GET", "/writes")["writes"]]

    def advance_clock(self, seconds: float) -> str:
        """Move the emulator clock (not the server's); returns the new time."""
        return str(self._call("POST", "/clock/advance", {"seconds": seconds})["now"])

    def reset_throttle(self) -> None:
        """Refill every throttling bucket."""
        self._call("POST", "/throttle/reset")

    def seed(self, fixture: dict[str, Any]) -> dict[str, Any]:
        """Merge a fixture (the YAML format, as a dict) into the tenant."""
        return dict(self._call("POST", "/seed", fixture))

    def generate(self, **counts: int) -> dict[str, Any]:
        """Add synthetic users/groups: ``generate(users=100, groups=10, members_per_group=0)``."""
        return dict(self._call("POST", "/generate", counts))

    def export(self) -> dict[str, Any]:
        """The tenant's state: users, groups, ``members`` {group id: [member ids]}, and more."""
        return dict(self._call("GET", "/state"))

    def members(self, group_id: str) -> set[str]:
        """Member object ids of one group, from the export."""
        return set(self.export()["members"].get(group_id, []))


class EmulatorProcess:
    """``jitgate emulator --port 0``; ready when it has printed its JSON line."""

    def __init__(
        self,
        workdir: Path,
        *,
        seed: str = "demo",
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "emulator"
        self.seed, self.extra_args = seed, list(extra_args)
        self.port = 0
        self._seen = 0
        self.info: EmulatorInfo | None = None
        self.admin: EmulatorAdmin | None = None
        self.process = ManagedProcess(
            "emulator",
            [],
            env=env or {},
            cwd=workdir,
            log_path=workdir / "logs" / "emulator.log",
        )

    def start(self, timeout_s: float = 30.0) -> EmulatorInfo:
        """Start (restarts reuse the first port; the tenant starts again from its seed)."""
        self.launch()
        return self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting (``wait_ready`` waits)."""
        self.process.argv = [
            *jitgate_command(),
            "emulator",
            f"--port={self.port}",
            f"--data-dir={self.data_dir}",
            f"--seed={self.seed}",
            *self.extra_args,
        ]
        self._seen = len(self._lines())
        self.process.start()

    def wait_ready(self, timeout_s: float = 30.0) -> EmulatorInfo:
        """Wait for the JSON line; connect the admin client."""
        seen = self._seen
        line: dict[str, Any] = {}

        def printed() -> bool:
            self.process.check_alive()
            for text in self._lines()[seen:]:
                if text.startswith("{"):
                    line.update(json.loads(text))
                    return True
            return False

        wait_for(printed, timeout_s=timeout_s, what="the emulator's JSON line")
        self.info = EmulatorInfo(
            authority_host=line["authority_host"],
            graph_url=line["graph_url"],
            ca_bundle=Path(line["ca_bundle"]),
            tenant_id=line["tenant_id"],
            client_id=line["client_id"],
            client_secret=line["client_secret"],
        )
        self.port = httpx.URL(self.info.base_url).port or 0
        if self.admin is not None:
            self.admin.close()
        self.admin = EmulatorAdmin(self.info)
        return self.info

    def _lines(self) -> list[str]:
        path = self.process.log_path
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    def stop(self) -> None:
        """Stop the emulator."""
        if self.admin is not None:
            self.admin.close()
            self.admin = None
        self.process.stop()

    def require_admin(self) -> EmulatorAdmin:
        """The admin client (the emulator must have started)."""
        if self.admin is None:
            raise StackError("the emulator is not running")
        return self.admin
