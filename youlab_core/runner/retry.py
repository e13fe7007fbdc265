"""Timeouts and retries for the runner's external calls (dialectic, LLM)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class CallTimeout(Exception):
    """An external call took longer than its timeout (transient: it is retried)."""

    transient = True


def is_transient(exc: BaseException) -> bool:
    """Timeouts, 429 and 5xx, lost connections: worth retrying. Everything else is not."""
    if isinstance(exc, (CallTimeout, asyncio.TimeoutError, TimeoutError, ConnectionError)):
        return True
    flag = getattr(exc, "transient", None)
    if isinstance(flag, bool):
        return flag  # LLMError, DialecticError, OpenWebUIError-like errors that say so
    try:
        import honcho

        if isinstance(exc, (honcho.RateLimitError, honcho.ServerError, honcho.TimeoutError, honcho.ConnectionError)):
            return True
        if isinstance(exc, honcho.HonchoError):
            return False
    except ImportError:  # pragma: no cover
        pass
    try:
        import httpx

        if isinstance(exc, (httpx.TimeoutException, httpx.NetworkError)):
            return True
        if isinstance(exc, httpx.HTTPStatusError):
            return exc.response.status_code in TRANSIENT_STATUS
    except ImportError:  # pragma: no cover
        pass
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    return isinstance(status, int) and (status in TRANSIENT_STATUS or status >= 500 or status == 0)


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter (so many students retrying do not hit the service in step)."""
    delay = min(cap, base * (2 ** attempt))
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
            await asyncio.sleep(backoff_delay(attempt, backoff, backoff_max, getattr(exc, "retry_after", None)))
            attempt += 1
