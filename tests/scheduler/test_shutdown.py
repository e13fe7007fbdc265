"""The scheduler loop's end: whatever ends it gives its claims back, so the work stays due for another process."""

from __future__ import annotations

import asyncio

from youlab_core.scheduler import Scheduler


def test_event_loop_shutdown_releases_claims(store, registry, settings, clock) -> None:
    """uvicorn ends by cancelling the loop's tasks (asyncio.run does the same): the loop's claims are given back."""
    from .conftest import RecordingHandler

    store.record_message("u1", "demo", clock.now())
    clock.advance(minutes=5)
    handler = RecordingHandler()
    running: list[asyncio.Task[None]] = []

    async def server_lifetime() -> None:
        handler.block = asyncio.Event()
        scheduler = Scheduler(store, registry, handler, settings, clock=clock, owner="worker-1")
        running.append(asyncio.get_running_loop().create_task(scheduler.run_forever()))
        for _ in range(200):
            if handler.calls:
                return  # the "server" exits while the run is in progress
            await asyncio.sleep(0.01)

    asyncio.run(server_lifetime())
    assert handler.runs() == [("idle-grader", "on_idle", "u1")]
    state = store.trigger_state("idle-grader", "u1")
    assert state is not None and state.claim_owner is None and state.next_due_at is not None
    assert store.list_runs()[0].status == "released"
