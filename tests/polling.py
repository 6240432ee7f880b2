"""The one way a test waits for something it cannot be told about: a bounded poll.

``wait_for`` calls a predicate until it returns a truthy value and returns that value; after
``timeout_s`` it raises ``AssertionError`` with the message and the predicate's last value, so a
timed-out wait fails like an assertion and says what it saw. ``wait_for_async`` does the same on
the event loop, for a predicate that is a coroutine function or a plain callable (a plain one is
run in a thread when ``in_thread`` is set: a database read must not block the loop an in-process
server commits on).

Prefer an event where the code offers one; poll only what has no event (a row written by another
task, a counter, a socket that starts listening). Time-driven behaviour runs on the injected clock,
never on these waits.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")

#: Long enough for a loaded CI machine; a wait that passes returns as soon as it holds.
DEFAULT_INTERVAL_S = 0.025


def _timed_out(message: str, timeout_s: float, last: object) -> AssertionError:
    return AssertionError(f"timed out after {timeout_s:g} s waiting for {message} (last: {last!r})")


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    message: str = "the condition",
) -> T:
    """Call ``predicate`` until it returns a truthy value (returned); raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() > deadline:
            raise _timed_out(message, timeout_s, last)
        time.sleep(interval_s)


async def wait_for_async(
    predicate: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    timeout_s: float,
    interval_s: float = DEFAULT_INTERVAL_S,
    message: str = "the condition",
    in_thread: bool = False,
) -> T:
    """``wait_for`` on the event loop: the predicate may be async, or run in a thread."""
    deadline = time.monotonic() + timeout_s
    while True:
        if in_thread:
            last = await asyncio.to_thread(predicate)
        else:
            last = predicate()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise _timed_out(message, timeout_s, last)
        await asyncio.sleep(interval_s)
