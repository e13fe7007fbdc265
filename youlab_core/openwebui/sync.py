"""A blocking facade over `OpenWebUIClient`, for scripts and tests that are not async.

The async client lives on an event loop in a private daemon thread, so the facade works from plain code and
also from inside a running event loop (the calling thread blocks; the private loop does the I/O).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

from .client import OpenWebUIClient


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="openwebui-sync-client", daemon=True)
        self.thread.start()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


class _Proxy:
    """Wraps an object whose coroutine methods become blocking calls; other attributes pass through."""

    def __init__(self, target: Any, runner: _LoopThread) -> None:
        self._target = target
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if inspect.iscoroutinefunction(attr):
            def call(*args: Any, **kwargs: Any) -> Any:
                return self._runner.run(attr(*args, **kwargs))

            call.__name__ = name
            call.__doc__ = attr.__doc__
            return call
        if inspect.isasyncgenfunction(attr):
            def collect(*args: Any, **kwargs: Any) -> list[Any]:
                async def gather() -> list[Any]:
                    return [item async for item in attr(*args, **kwargs)]

                return self._runner.run(gather())

            return collect
        if hasattr(attr, "_c"):  # a resource group (client.functions, client.models, ...)
            return _Proxy(attr, self._runner)
        return attr


class SyncOpenWebUIClient(_Proxy):
    """Same methods as OpenWebUIClient, blocking. `stream_chat_completion` returns the list of chunks."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 60.0) -> None:
        runner = _LoopThread()

        async def make() -> OpenWebUIClient:
            return OpenWebUIClient(base_url, token=token, timeout=timeout)

        super().__init__(runner.run(make()), runner)

    @property
    def token(self) -> str | None:
        return self._target.token

    @token.setter
    def token(self, value: str | None) -> None:
        self._target.token = value

    def close(self) -> None:
        try:
            self._runner.run(self._target.aclose())
        finally:
            self._runner.stop()

    def __enter__(self) -> SyncOpenWebUIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
