"""Polling with a deadline, for tests that wait on a server: one helper for async tests, one for sync ones.

Each returns the probe's first truthy value, or raises AssertionError naming what it waited for."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], T | None | Awaitable[T | None]], timeout: float, what: str,
                     interval: float = 0.5) -> T:
    """Await `probe()` (sync or async) every `interval` seconds until it is truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(interval)


def eventually_sync(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 1.0) -> T:
    """The same for sync tests (Playwright's sync API, the sync REST client)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
