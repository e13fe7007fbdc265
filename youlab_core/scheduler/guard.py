"""One scheduler loop per process.

Open WebUI re-executes a function's module on every save, so a module global in the plugin is forgotten and a
second loop would start. The running scheduler is kept in an entry of `sys.modules` instead: it outlives any
module re-execution (and `importlib.reload` of ours), and belongs to this process only.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import types
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .loop import Scheduler

log = logging.getLogger(__name__)

REGISTRY_KEY = "youlab_core._process_scheduler"


def _registry() -> types.ModuleType:
    fresh = types.ModuleType(REGISTRY_KEY)
    fresh.lock = threading.Lock()  # type: ignore[attr-defined]
    fresh.scheduler = None  # type: ignore[attr-defined]
    fresh.task = None  # type: ignore[attr-defined]
    # dict.setdefault is atomic: two threads racing here end up with the same registry.
    return sys.modules.setdefault(REGISTRY_KEY, fresh)


def running_scheduler() -> Scheduler | None:
    reg = _registry()
    task = reg.task
    return reg.scheduler if task is not None and not task.done() else None


def ensure_scheduler_started(factory: Callable[[], Scheduler]) -> Scheduler:
    """Start this process's scheduler loop on the running event loop, unless one is already running."""
    reg = _registry()
    with reg.lock:
        task = reg.task
        if task is not None and not task.done():
            return reg.scheduler  # type: ignore[no-any-return]
        scheduler = factory()
        reg.scheduler = scheduler
        reg.task = asyncio.get_running_loop().create_task(scheduler.run_forever(), name="youlab-scheduler")
        log.info("scheduler %s started in this process", scheduler.owner)
        return scheduler


async def stop_process_scheduler(grace_seconds: float | None = None) -> None:
    reg = _registry()
    with reg.lock:
        scheduler, task = reg.scheduler, reg.task
        reg.scheduler = reg.task = None
    if task is None or task.done():
        return  # never started, or its loop already ended it (and released its claims then)
    if scheduler is not None:
        await scheduler.stop(grace_seconds)
    await asyncio.gather(task, return_exceptions=True)
