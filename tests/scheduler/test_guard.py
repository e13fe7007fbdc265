from __future__ import annotations

import asyncio
import types

import pytest

from youlab_core.scheduler import Scheduler, ensure_scheduler_started, running_scheduler, stop_process_scheduler

PLUGIN_SOURCE = """
# What an Open WebUI function module does: Open WebUI runs this source again on every save, in a new module.
from youlab_core.scheduler import ensure_scheduler_started
started = []

def boot(factory):
    scheduler = ensure_scheduler_started(factory)
    started.append(scheduler)
    return scheduler
"""


def load_plugin() -> types.ModuleType:
    module = types.ModuleType("function_youlab_filter")
    exec(PLUGIN_SOURCE, module.__dict__)
    return module


@pytest.fixture(autouse=True)
async def clean_registry():
    await stop_process_scheduler(grace_seconds=0)
    yield
    await stop_process_scheduler(grace_seconds=0)


async def test_one_loop_per_process_across_module_reexecution(store, registry, handler, settings, clock) -> None:
    made: list[Scheduler] = []

    def factory() -> Scheduler:
        made.append(Scheduler(store, registry, handler, settings, clock=clock))
        return made[-1]

    first = load_plugin().boot(factory)
    second = load_plugin().boot(factory)  # the module was executed again: its globals are new
    assert first is second and len(made) == 1
    assert running_scheduler() is first
    tasks = [t for t in asyncio.all_tasks() if t.get_name() == "youlab-scheduler"]
    assert len(tasks) == 1


async def test_stopped_loop_can_be_started_again_and_releases_claims(store, registry, handler, settings, clock) -> None:
    store.record_message("u1", "demo", clock.now())
    clock.advance(minutes=5)
    handler.block = asyncio.Event()
    scheduler = ensure_scheduler_started(lambda: Scheduler(store, registry, handler, settings, clock=clock, owner="a"))
    for _ in range(100):
        if handler.calls:
            break
        await asyncio.sleep(0.02)
    assert handler.runs() == [("idle-grader", "on_idle", "u1")]
    await stop_process_scheduler(grace_seconds=0)
    assert running_scheduler() is None
    state = store.trigger_state("idle-grader", "u1")
    assert state is not None and state.claim_owner is None and state.next_due_at is not None
    again = ensure_scheduler_started(lambda: Scheduler(store, registry, handler, settings, clock=clock, owner="b"))
    assert again is not scheduler and running_scheduler() is again


def test_event_loop_shutdown_releases_claims(store, registry, settings, clock) -> None:
    """uvicorn ends by cancelling the loop's tasks (asyncio.run does the same): the loop's claims are given back."""
    from .conftest import RecordingHandler

    store.record_message("u1", "demo", clock.now())
    clock.advance(minutes=5)
    handler = RecordingHandler()

    async def server_lifetime() -> None:
        handler.block = asyncio.Event()
        ensure_scheduler_started(lambda: Scheduler(store, registry, handler, settings, clock=clock, owner="worker-1"))
        for _ in range(200):
            if handler.calls:
                return  # the "server" exits while the run is in progress
            await asyncio.sleep(0.01)

    asyncio.run(server_lifetime())
    assert handler.runs() == [("idle-grader", "on_idle", "u1")]
    state = store.trigger_state("idle-grader", "u1")
    assert state is not None and state.claim_owner is None and state.next_due_at is not None
    assert store.list_runs()[0].status == "released"
