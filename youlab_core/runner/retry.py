"""Timeouts and retries for the runner's external calls (dialectic, LLM).

Which failures are retried is `youlab_core.transient.is_transient` (re-exported here); this module adds the timeout,
the attempt count and the backoff between attempts.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..errors import YoulabError
from ..transient import is_transient, retry_after_of

__all__ = ["CallTimeout", "backoff_delay", "call_with_retries", "is_transient"]

T = TypeVar("T")


class CallTimeout(YoulabError):
    """An external call took longer than its timeout (transient: it is retried)."""

    transient = True


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (0-based): `base` doubling per attempt, at most `cap`, then
    jittered down to anywhere in [delay/2, delay] so many students retrying do not hit the service in step. A
    Retry-After the service sent is honoured, up to `cap` (a cap of 0 means no cap for it)."""
    delay = min(cap, base * 2.0 ** min(attempt, 64))  # min(): a huge attempt count must not overflow the float
    delay = random.uniform(delay / 2, delay) if delay > 0 else 0.0
    if retry_after:
        delay = max(delay, min(float(retry_after), cap if cap > 0 else float(retry_after)))
    return delay


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    timeout: float | None,
    retries: int,
    backoff: float,
    backoff_max: float,
    on_attempt: Callable[[], None] | None = None,
) -> T:
    """Run `call()` with a timeout; retry transient failures up to `retries` times with backoff, then raise."""
    attempt = 0
    while True:
        if on_attempt is not None:
            on_attempt()
        try:
            if timeout is None:
                return await call()
            try:
                return await asyncio.wait_for(call(), timeout)
            except asyncio.TimeoutError:
                raise CallTimeout(f"no answer within {timeout:g}s") from None
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if attempt >= retries or not is_transient(exc):
                raise
            await asyncio.sleep(backoff_delay(attempt, backoff, backoff_max, retry_after_of(exc)))
            attempt += 1
