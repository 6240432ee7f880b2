"""The server app, the Graph emulator and a connector agent, wired together in one process.

``in_process(url, tmp_path)`` migrates a database that commits for real (each test has its own:
the agent's calls commit in the app while the test reads from other sessions), builds the server
app on it with a ``ManualClock`` and the demo emulator, and disposes of the engine at the end.
``InProcess.agent(token)`` runs ``run_agent`` against the app over ``httpx.ASGITransport`` and
writes to the emulator the same way; leaving the block stops the agent and closes its Graph client.
No socket is opened (the agent's health port aside, where a test asks for one).

Database reads from a test go through ``asyncio.to_thread`` (``InProcess.read``): the app runs on
the test's event loop, and a blocking read there would hold up the commit it waits for.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from jitgate.connector.agent import run_agent
from jitgate.connector.config import AgentConfig
from jitgate.core.clock import ManualClock
from jitgate.core.db import make_engine, make_session_factory
from jitgate.core.migrate import upgrade
from jitgate.core.settings import Settings
from jitgate.emulator.app import create_app as create_emulator
from jitgate.emulator.state import build_state
from jitgate.graph.client import GraphClient
from jitgate.server.app import create_app
from jitgate.server.reconciler.tick import ReconcilerConfig, run_tick
from polling import wait_for

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

    from jitgate.connector.agent import Agent
    from jitgate.connector.executor import Executor
    from jitgate.emulator.state import EmulatorState

T = TypeVar("T")

#: The emulator's made-up base URL: the in-process transport never resolves it.
EMULATOR = "https://emulator.test"
#: Ticks only when told (no periodic pass): the tests drive the reconciler themselves.
QUIET = ReconcilerConfig(periodic=False)


class RunningAgent:
    """A connector agent task on the in-process app; ``stop()`` ends it and returns the agent."""

    def __init__(
        self, task: asyncio.Task[Agent], stop_event: asyncio.Event, graph: GraphClient | None
    ) -> None:
        self.task = task
        self.stop_event = stop_event
        self.graph = graph

    async def stop(self, timeout_s: float = 30.0) -> Agent:
        """Ask the agent to stop, wait for it (bounded) and close its Graph client."""
        self.stop_event.set()
        try:
            return await asyncio.wait_for(self.task, timeout=timeout_s)
        finally:
            if self.graph is not None:
                await self.graph.aclose()
                self.graph = None


class InProcess:
    """The server app over ``sessions``, the emulator, and how to run an agent between them."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tmp_path: Path,
        *,
        clock: ManualClock | None = None,
        emulator: EmulatorState | None = None,
        poll_interval_s: float = 0.05,
    ) -> None:
        self.sessions = sessions
        self.clock = clock or ManualClock()
        self.emulator = emulator or build_state()
        settings = Settings(data_dir=tmp_path, log_json=False)
        self.app = create_app(settings, clock=self.clock, sessions=sessions)
        self.app.state.jobs.poll_interval_s = poll_interval_s

    @property
    def tenant(self) -> Any:
        """The emulator's tenant (users, groups, members)."""
        return self.emulator.tenant

    def user(self, upn_prefix: str) -> dict[str, Any]:
        """The emulator's user whose UPN starts with ``upn_prefix``."""
        return next(
            u for u in self.tenant.users.values() if u["userPrincipalName"].startswith(upn_prefix)
        )

    def group(self, display_name: str) -> dict[str, Any]:
        """The emulator's group of that display name."""
        return next(g for g in self.tenant.groups.values() if g["displayName"] == display_name)

    def agent_config(self, token: str, **extra: Any) -> AgentConfig:
        """A connector configuration for the app (``http://server``) and the emulator."""
        return AgentConfig(
            url="http://server",
            token=token,
            tenant_id=self.tenant.tenant_id,
            client_id=self.emulator.client_id,
            client_secret=self.emulator.client_secret,
            authority_host=EMULATOR,
            graph_url=EMULATOR,
            disable_instance_discovery=True,
            claim_wait_s=1.0,
            **extra,
        )

    def graph(self, config: AgentConfig) -> GraphClient:
        """A Graph client on the emulator, in process."""
        transport = httpx.ASGITransport(app=create_emulator(self.emulator))
        return GraphClient.from_config(config.graph_config(), transport=transport)

    @asynccontextmanager
    async def agent(
        self,
        token: str | None = None,
        *,
        config: AgentConfig | None = None,
        executor: Executor | None = None,
        server_transport: httpx.AsyncBaseTransport | None = None,
        agent_clock: ManualClock | None = None,
    ) -> AsyncIterator[RunningAgent]:
        """Run a connector agent until the block ends (on the emulator unless ``executor``)."""
        if config is None:
            if token is None:
                raise TypeError("give the connector token or a whole config")
            config = self.agent_config(token)
        graph = None if executor is not None else self.graph(config)
        stop = asyncio.Event()
        task = asyncio.create_task(
            run_agent(
                config,
                stop_event=stop,
                server_transport=server_transport or httpx.ASGITransport(app=self.app),
                graph=graph,
                executor=executor,
                clock=agent_clock,
            )
        )
        running = RunningAgent(task, stop, graph)
        try:
            yield running
        finally:
            if not task.done() or running.graph is not None:
                await running.stop()

    async def read(self, read: Callable[[], T]) -> T:
        """Run a blocking database read off the event loop the app commits on."""
        return await asyncio.to_thread(read)

    async def tick(self, config: ReconcilerConfig = QUIET) -> None:
        """One committed reconciler tick, off the event loop."""
        await asyncio.to_thread(run_tick, sessions=self.sessions, clock=self.clock, config=config)


@contextmanager
def in_process(
    url: str,
    tmp_path: Path,
    *,
    clock: ManualClock | None = None,
    emulator: EmulatorState | None = None,
    poll_interval_s: float = 0.05,
) -> Iterator[InProcess]:
    """An ``InProcess`` on a freshly migrated database at ``url`` (disposed of at the end)."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield InProcess(
            make_session_factory(engine),
            tmp_path,
            clock=clock,
            emulator=emulator,
            poll_interval_s=poll_interval_s,
        )
        # A request cancelled when its agent stopped may still run in the app's thread pool;
        # dispose only once it has given its connection back (else it is never closed).
        wait_for(
            lambda: engine.pool.checkedout() == 0,
            timeout_s=10,
            message="the app's database connections to be returned",
        )
    finally:
        engine.dispose()
