"""Where a run's memory writes happen: the runner's threads (default), or worker processes.

A proposal write is a git commit: mostly CPU in Python (GitPython, zlib, sha1), so in one process it shares the GIL
with everything else the runner does. `Settings.runner_write_processes = N` sends the writes to N worker processes
(each opens the same student repositories; the memory store's file locks work across processes), so a busy runner
uses more than one core. Outside Open WebUI (the CLI, `youlab scheduler`) that is worth it on a multi-core machine;
inside Open WebUI the default (threads) avoids starting processes from the web server.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..memory import MemoryStore
    from ..settings import Settings

_worker_store: Any = None


def _propose_many_in_worker(users_root: str, expiry_days: int, sync: bool, user_id: str, course: Any,
                            proposals: list[Any], agent: str, run_id: str) -> list[Any]:
    from ..memory import MemoryStore

    global _worker_store
    if _worker_store is None or Path(_worker_store.users_root) != Path(users_root) or _worker_store.sync != sync:
        _worker_store = MemoryStore(Path(users_root), expiry_days=expiry_days, sync=sync)
    return _worker_store.student(user_id).propose_many(course, proposals, agent=agent, run_id=run_id)


async def finish_even_if_cancelled(executor: Executor, fn: Callable[[], Any]) -> Any:
    """Run a blocking memory write on `executor`; if the run is cancelled meanwhile, wait for the write to end first
    (a cancelled run must not leave a write half-observed)."""
    future = asyncio.get_running_loop().run_in_executor(executor, fn)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        try:
            await future
        except Exception:
            pass
        raise


class ProposalWrites:
    def __init__(self, memory_store: MemoryStore, settings: Settings, threads: Executor):
        self.memory_store = memory_store
        self.settings = settings
        self.threads = threads
        self.processes = settings.runner_write_processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor_and_call(self, memory: Any, course: Any, proposals: list[Any], agent: str,
                           run_id: str) -> tuple[Executor, Any]:
        if self.processes:
            if self._pool is None:
                # spawn: a clean interpreter (forking a process with running threads and an event loop is unsafe)
                self._pool = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"))
            store = self.memory_store  # the worker's store must sync (or not) exactly as the runner's does
            return self._pool, partial(_propose_many_in_worker, str(store.users_root), store.expiry_days, store.sync,
                                       memory.user_id, course, proposals, agent, run_id)
        return self.threads, partial(memory.propose_many, course, proposals, agent=agent, run_id=run_id)

    async def propose_many(self, memory: Any, course: Any, proposals: list[Any], *, agent: str, run_id: str) -> list[Any]:
        """Write the proposals (one commit). If the run is cancelled meanwhile, wait for the write to end first."""
        executor, call = self._executor_and_call(memory, course, proposals, agent, run_id)
        return await finish_even_if_cancelled(executor, call)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
