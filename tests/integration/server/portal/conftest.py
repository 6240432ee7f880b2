"""Fixtures of the portal sign-in tests: one HTTPS emulator per module, on the app's clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jitgate.core.clock import ManualClock
from jitgate.emulator.server import start_in_thread
from jitgate.emulator.state import build_state
from sign_in_world import PortalWorld

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jitgate.emulator.server import RunningEmulator


@pytest.fixture(scope="module")
def world_clock() -> ManualClock:
    """The clock the emulator and every app of the module share (it only moves forward)."""
    return ManualClock()


@pytest.fixture(scope="module")
def emulator(
    world_clock: ManualClock, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningEmulator]:
    """The demo tenant over loopback HTTPS."""
    running = start_in_thread(
        build_state(clock=world_clock), data_dir=tmp_path_factory.mktemp("emulator")
    )
    yield running
    running.stop()


@pytest.fixture
def world(emulator, sessions, world_clock, tmp_path) -> Iterator[PortalWorld]:
    """The app with OIDC on the emulator, over the test's rolled-back transaction."""
    made = PortalWorld(emulator, sessions, world_clock, tmp_path)
    yield made
    made.close()
